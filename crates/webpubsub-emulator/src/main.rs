//! `webpubsub-emulator`: run a local Web PubSub service.

#![allow(clippy::print_stdout)] // the binary prints its connection string

use clap::Parser;
use webpubsub_emulator::Emulator;

/// A local Azure Web PubSub service: REST API and WebSocket clients, no Azure account needed.
#[derive(Debug, Parser)]
#[command(name = "webpubsub-emulator", version)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Port to listen on; 0 picks a free one.
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Access key tokens are signed with (default: the well-known development key).
    #[arg(long, default_value = webpubsub_auth::AccessKey::DEVELOPMENT)]
    access_key: String,
    /// Check token audiences on their path only (scheme and host ignored).
    #[arg(long)]
    ignore_audience_host: bool,
    /// A JSON file with event handlers per hub (see `EmulatorConfig`).
    #[arg(long)]
    config: Option<std::path::PathBuf>,
    /// Print nothing but the connection string.
    #[arg(long)]
    quiet: bool,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let config = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)?;
            serde_json::from_str::<webpubsub_emulator::EmulatorConfig>(&text).map_err(|e| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{}: {e}", path.display()),
                )
            })?
        }
        None => webpubsub_emulator::EmulatorConfig::default(),
    };
    let emulator = Emulator::builder()
        .config(config)
        .host(args.host)
        .port(args.port)
        .access_key(args.access_key)
        .ignore_audience_host(args.ignore_audience_host)
        .start()
        .await?;
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

#[cfg(unix)]
async fn wait_for_signal() {
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
async fn wait_for_signal() {
    let _ = tokio::signal::ctrl_c().await;
}
