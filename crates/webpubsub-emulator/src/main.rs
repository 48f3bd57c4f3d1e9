//! `webpubsub-emulator`: run a local Web PubSub service (the same as `webpubsub emulator`).

use clap::Parser;
use webpubsub_emulator::cli::{run, EmulatorArgs};

/// A local Azure Web PubSub service: REST API and WebSocket clients, no Azure account needed.
#[derive(Debug, Parser)]
#[command(name = "webpubsub-emulator", version)]
struct Args {
    #[command(flatten)]
    emulator: EmulatorArgs,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    run(&Args::parse().emulator).await
}
