//! Chat: an app server (event handler + service client) and a browser page, on the embedded
//! emulator. Open the printed URL in two browser tabs, join with two names, and talk: each message
//! goes from the page to the emulator as a user event, to this server's event handler, and back
//! out to the room through the REST API.
//!
//! ```text
//! cargo run -p examples --example chat            # then open http://127.0.0.1:8000/
//! ```

#![allow(clippy::print_stdout)] // an example reports on stdout

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let port = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(8000);
    let chat = examples::chat::start(port, None).await?;
    println!("chat on http://{}/ (Ctrl-C to stop)", chat.addr);
    if let Some(emulator) = &chat.emulator {
        println!("embedded emulator at {}", emulator.endpoint());
    }
    tokio::signal::ctrl_c().await?;
    if let Some(emulator) = chat.emulator {
        emulator.shutdown().await;
    }
    Ok(())
}
