//! The emulator as a command: its options (shared by the `webpubsub-emulator` binary and the
//! `webpubsub emulator` subcommand) and running it until Ctrl-C or SIGTERM.

use std::path::PathBuf;

use crate::{Emulator, EmulatorConfig};

/// The options of a command-line emulator.
#[derive(Debug, Clone, clap::Args)]
#[non_exhaustive]
pub struct EmulatorArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port to listen on; 0 picks a free one.
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Access key tokens are signed with (default: the well-known development key).
    #[arg(long, default_value = webpubsub_auth::AccessKey::DEVELOPMENT, hide_default_value = true)]
    pub access_key: String,
    /// Check token audiences on their path only (scheme and host ignored).
    #[arg(long)]
    pub ignore_audience_host: bool,
    /// A JSON file with event handlers per hub (see `EmulatorConfig`).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Print nothing but the connection string.
    #[arg(long)]
    pub quiet: bool,
}

impl EmulatorArgs {
    /// Starts the emulator these options describe.
    ///
    /// # Errors
    /// An unreadable or invalid config file; the port cannot be bound.
    pub async fn start(&self) -> std::io::Result<Emulator> {
        let config = match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    std::io::Error::new(e.kind(), format!("{}: {e}", path.display()))
                })?;
                serde_json::from_str::<EmulatorConfig>(&text).map_err(|e| {
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!("{}: {e}", path.display()),
                    )
                })?
            }
            None => EmulatorConfig::default(),
        };
        Emulator::builder()
            .config(config)
            .host(self.host.clone())
            .port(self.port)
            .access_key(self.access_key.clone())
            .ignore_audience_host(self.ignore_audience_host)
            .start()
            .await
    }
}

/// Runs the emulator: prints its connection string (first line of stdout), then serves until
/// Ctrl-C or SIGTERM, and shuts down.
///
/// # Errors
/// As [`EmulatorArgs::start`].
#[allow(clippy::print_stdout)] // the command prints its connection string
pub async fn run(args: &EmulatorArgs) -> std::io::Result<()> {
    let emulator = args.start().await?;
    println!("{}", emulator.connection_string());
    if !args.quiet {
        println!(
            "Web PubSub emulator listening on {}; Ctrl-C to stop.",
            emulator.endpoint()
        );
        println!("JS service SDK over http: new WebPubSubServiceClient(conn, hub, {{ allowInsecureConnection: true }})");
    }
    wait_for_signal().await;
    emulator.shutdown().await;
    Ok(())
}

/// Waits for Ctrl-C (or SIGTERM on Unix).
pub async fn wait_for_signal() {
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(_) => return std::future::pending().await,
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
