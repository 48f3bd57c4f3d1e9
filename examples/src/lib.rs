//! Helpers shared by the examples in `examples/`, and the chat app server.

pub mod chat;

/// The connection string from `WEBPUBSUB_CONNECTION_STRING`, or else an embedded emulator's
/// (returned so the caller can shut it down).
///
/// # Errors
/// When the emulator cannot start.
pub async fn connection_string_or_emulator(
    example: &str,
) -> std::io::Result<(String, Option<webpubsub_emulator::Emulator>)> {
    if let Some(cs) = std::env::var("WEBPUBSUB_CONNECTION_STRING")
        .ok()
        .filter(|v| !v.trim().is_empty())
    {
        return Ok((cs, None));
    }
    let emulator = webpubsub_emulator::Emulator::builder().start().await?;
    eprintln!(
        "{example}: WEBPUBSUB_CONNECTION_STRING is not set; using an embedded emulator at {}",
        emulator.endpoint()
    );
    Ok((emulator.connection_string(), Some(emulator)))
}

/// Connects a WebSocket client (JSON subprotocol) with `url` and returns it with its connection id.
///
/// # Errors
/// Connection or protocol errors.
pub async fn connect_client(
    url: &str,
) -> Result<
    (
        tokio_tungstenite::WebSocketStream<
            tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
        >,
        String,
    ),
    Box<dyn std::error::Error + Send + Sync>,
> {
    use futures_util::StreamExt as _;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
    let mut request = url.into_client_request()?;
    request
        .headers_mut()
        .insert("sec-websocket-protocol", "json.webpubsub.azure.v1".parse()?);
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await?;
    let connected = socket.next().await.ok_or("the connection closed")??;
    let connected: serde_json::Value = serde_json::from_str(connected.to_text()?)?;
    let id = connected["connectionId"]
        .as_str()
        .ok_or("no connectionId")?
        .to_owned();
    Ok((socket, id))
}
