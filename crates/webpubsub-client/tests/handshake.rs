//! Faults before a connection exists, each a typed error from `start()`, quickly, never a hang
//! or a panic: a failing URL provider, a URL that is not a WebSocket URL, nothing listening, 401
//! at the upgrade, a server that closes during the handshake, one that does not echo the
//! subprotocol, one that closes before `connected`. And no token in any `Debug` or `Display`.

use std::time::{Duration, Instant};

use futures_util::SinkExt as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use webpubsub_client::*;
use webpubsub_emulator::Emulator;

mod common;
use common::{all_roles, fast, start, url};

async fn start_error(credential: impl Into<ClientCredential>) -> Error {
    let (client, _events) = WebPubSubClient::new(credential, fast());
    let began = Instant::now();
    let error = client.start().await.unwrap_err();
    assert!(
        began.elapsed() < Duration::from_secs(6),
        "{error:?} took {:?}",
        began.elapsed()
    );
    assert_eq!(client.state(), ClientState::Stopped);
    error
}

/// A server on loopback that runs `serve` for each connection.
async fn server<F, Fut>(serve: F) -> std::net::SocketAddr
where
    F: Fn(tokio::net::TcpStream) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve(stream));
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_before_connected_are_typed_and_quick() {
    // The provider fails: its error is the source.
    let failing = ClientCredential::from_provider(|| async {
        Err::<String, _>(std::io::Error::other("negotiate returned 500"))
    });
    let error = start_error(failing).await;
    assert_eq!(error.kind(), &ErrorKind::Credential);
    assert!(
        error.to_string().contains("negotiate returned 500"),
        "{error}"
    );

    // The provider never answers: bounded by the connect timeout, not a hang.
    let stuck = ClientCredential::from_provider(|| async {
        std::future::pending::<()>().await;
        Ok::<String, std::io::Error>(String::new())
    });
    let mut options = fast();
    options.connect_timeout = Duration::from_millis(300);
    let (client, _events) = WebPubSubClient::new(stuck, options);
    let error = client.start().await.unwrap_err();
    assert_eq!(error.kind(), &ErrorKind::ConnectTimeout, "{error:?}");
    assert!(error.to_string().contains("provider"), "{error}");

    // Not a WebSocket URL.
    let error = start_error("https://example.invalid/client/hubs/chat").await;
    assert_eq!(error.kind(), &ErrorKind::Credential, "{error:?}");

    // Nothing listens.
    let closed = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let error = start_error(format!("ws://{closed}/client/hubs/chat?access_token=x")).await;
    assert_eq!(error.kind(), &ErrorKind::Connect, "{error:?}");

    // Accepts, reads the request, and hangs up.
    let rude = server(|mut stream| async move {
        let mut buffer = [0u8; 1024];
        let _ = stream.read(&mut buffer).await;
    })
    .await;
    let error = start_error(format!("ws://{rude}/client/hubs/chat?access_token=x")).await;
    assert!(error.is_handshake(), "{error:?}");

    // Answers the upgrade without the subprotocol.
    let plain = server(|stream| async move {
        let _ = tokio_tungstenite::accept_async(stream).await;
        tokio::time::sleep(Duration::from_secs(5)).await;
    })
    .await;
    let error = start_error(format!("ws://{plain}/client/hubs/chat?access_token=x")).await;
    assert!(error.is_handshake(), "{error:?}");
    assert!(
        error
            .to_string()
            .contains("json.reliable.webpubsub.azure.v1"),
        "{error}"
    );

    // Upgrades with the subprotocol, then closes before `connected`.
    let closing = server(|stream| async move {
        #[allow(clippy::result_large_err)] // tungstenite's callback signature
        let echo = |request: &tokio_tungstenite::tungstenite::handshake::server::Request,
                    mut response: tokio_tungstenite::tungstenite::handshake::server::Response| {
            if let Some(offered) = request.headers().get("sec-websocket-protocol") {
                response
                    .headers_mut()
                    .insert("sec-websocket-protocol", offered.clone());
            }
            Ok(response)
        };
        if let Ok(mut socket) = tokio_tungstenite::accept_hdr_async(stream, echo).await {
            let _ = socket
                .send(tokio_tungstenite::tungstenite::Message::Close(Some(
                    CloseFrame {
                        code: CloseCode::Policy,
                        reason: "go away".into(),
                    },
                )))
                .await;
        }
    })
    .await;
    let error = start_error(format!("ws://{closing}/client/hubs/chat?access_token=x")).await;
    assert!(
        matches!(
            error.kind(),
            ErrorKind::Handshake {
                close_code: Some(1008),
                ..
            }
        ),
        "{error:?}"
    );

    // A server that says nothing at all: the connect timeout.
    let silent = server(|mut stream| async move {
        let mut buffer = [0u8; 1024];
        let _ = stream.read(&mut buffer).await;
        tokio::time::sleep(Duration::from_secs(10)).await;
        let _ = stream.shutdown().await;
    })
    .await;
    let mut options = fast();
    options.connect_timeout = Duration::from_millis(300);
    let (client, _events) = WebPubSubClient::new(
        format!("ws://{silent}/client/hubs/chat?access_token=x"),
        options,
    );
    let error = client.start().await.unwrap_err();
    assert_eq!(error.kind(), &ErrorKind::ConnectTimeout);
    assert!(error.is_timeout());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_upgrade_gives_its_status_and_no_secret_is_ever_shown() {
    let (emulator, service) = start(Emulator::builder()).await;
    let good = url(&service, "ann", all_roles()).await;
    let token = good.split("access_token=").nth(1).unwrap().to_owned();
    // The token with its signature broken.
    let forged = format!("{}x", &good[..good.len() - 2]);
    let error = start_error(forged.as_str()).await;
    assert_eq!(error.status(), Some(401), "{error:?}");
    assert!(!error.is_retriable());
    for shown in [format!("{error}"), format!("{error:?}")] {
        assert!(!shown.contains(&token[..20]), "{shown}");
    }

    let (client, _events) = WebPubSubClient::new(good.as_str(), fast());
    client.start().await.unwrap();
    let shown = format!("{client:?}");
    assert!(
        !shown.contains(&token[..20]) && !shown.contains("access_token"),
        "{shown}"
    );
    assert!(shown.contains("/client/hubs/chat"), "{shown}");
    // Errors after connecting do not show it either.
    let error = client.join_group("").await.unwrap_err();
    assert!(!format!("{error:?}").contains(&token[..20]));
    client.stop().await;
    emulator.shutdown().await;
}
