//! Which service the tool talks to: `--connection-string`, `$WEBPUBSUB_CONNECTION_STRING`, or
//! `--emulator` (one started in this process), and the hub.

use webpubsub::WebPubSubServiceClient;
use webpubsub_emulator::Emulator;

use crate::failure::Failure;

/// The connection options every subcommand shares.
#[derive(Debug, clap::Args)]
pub(crate) struct ConnectionArgs {
    /// The service's connection string (`Endpoint=...;AccessKey=...;Version=1.0;`).
    #[arg(
        long,
        global = true,
        env = "WEBPUBSUB_CONNECTION_STRING",
        hide_env_values = true,
        conflicts_with = "emulator"
    )]
    connection_string: Option<String>,
    /// Start an embedded emulator for this command and print its connection string (stderr).
    #[arg(long, global = true)]
    emulator: bool,
    /// The hub.
    #[arg(long, global = true, env = "WEBPUBSUB_HUB")]
    hub: Option<String>,
}

/// A service client, and the emulator behind it when this process started one.
pub(crate) struct Service {
    pub(crate) client: WebPubSubServiceClient,
    /// Kept running for as long as the command runs.
    _emulator: Option<Emulator>,
}

impl std::ops::Deref for Service {
    type Target = WebPubSubServiceClient;
    fn deref(&self) -> &WebPubSubServiceClient {
        &self.client
    }
}

impl ConnectionArgs {
    /// Connects (nothing goes over the network yet, except starting an emulator).
    pub(crate) async fn connect(&self) -> Result<Service, Failure> {
        let hub = self
            .hub
            .as_deref()
            .ok_or_else(|| Failure::usage("no hub: pass --hub (or set WEBPUBSUB_HUB)"))?;
        let (connection_string, emulator) = match (&self.connection_string, self.emulator) {
            (_, true) => {
                let emulator = Emulator::builder()
                    .port(0)
                    .start()
                    .await
                    .map_err(|e| Failure::io("the embedded emulator did not start", &e))?;
                eprintln!("embedded emulator: {}", emulator.connection_string());
                (emulator.connection_string(), Some(emulator))
            }
            (Some(cs), false) if !cs.trim().is_empty() => (cs.clone(), None),
            _ => {
                return Err(Failure::usage(
                    "no service: pass --connection-string, set WEBPUBSUB_CONNECTION_STRING, or use --emulator",
                ))
            }
        };
        let client = WebPubSubServiceClient::from_connection_string(&connection_string, hub, None)
            .map_err(|e| match e.is_invalid_input() {
                true => Failure::usage(format!("the connection string or hub is not valid: {e}")),
                false => Failure::from(e),
            })?;
        Ok(Service {
            client,
            _emulator: emulator,
        })
    }
}
