//! User events through an event handler (our `webpubsub-handler`, served on loopback, called by
//! the emulator): `send_event` gets the handler's reply as a server message before its ack, and
//! `invoke_event` returns it, fails typed when the handler refuses, and times out (cancelling the
//! invocation) when the handler is slow; a connect the handler refuses is the upgrade's 403.

use std::sync::Arc;
use std::time::Duration;

use webpubsub_client::*;
use webpubsub_emulator::{Emulator, EventHandlerSettings};
use webpubsub_handler::{
    serve_hyper, EventContext, EventHandler, HandlerOptions, UserEvent, UserEventResponse,
    WebPubSubEventHandler,
};

mod common;
use common::{all_roles, fast, next, start, url};

struct Calculator;

impl EventHandler for Calculator {
    async fn connect(
        &self,
        ctx: &mut EventContext,
        _request: webpubsub_handler::ConnectEventRequest,
    ) -> webpubsub_handler::ConnectResponse {
        match ctx.user_id.as_deref() {
            Some("intruder") => webpubsub_handler::ConnectResponse::reject(403, "not you"),
            _ => webpubsub_handler::ConnectResponse::accept(),
        }
    }

    async fn user_event(&self, _ctx: &mut EventContext, event: UserEvent) -> UserEventResponse {
        let text = event.data.as_text().unwrap_or_default().to_owned();
        match event.name.as_str() {
            "add" => {
                let sum: i64 = text
                    .split('+')
                    .filter_map(|n| n.trim().parse::<i64>().ok())
                    .sum();
                UserEventResponse::Reply(Payload::text(sum.to_string()))
            }
            "slow" => {
                tokio::time::sleep(Duration::from_secs(1)).await;
                UserEventResponse::Reply(Payload::text("late"))
            }
            _ => UserEventResponse::Reject {
                status: 500,
                reason: "no such operation".into(),
            },
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_and_invocations_reach_the_handler_and_its_replies_come_back() {
    let key = webpubsub::AccessKey::DEVELOPMENT;
    let handler = Arc::new(WebPubSubEventHandler::new(
        "chat",
        HandlerOptions::new([webpubsub_auth::AccessKey::new(key)]),
        Calculator,
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let handler_addr = listener.local_addr().unwrap();
    let server = tokio::spawn(serve_hyper(listener, handler));
    let (emulator, service) = start(Emulator::builder().access_key(key).event_handler(
        "chat",
        EventHandlerSettings {
            url_template: format!("http://{handler_addr}/eventhandler"),
            user_event_pattern: "*".into(),
            system_events: vec!["connect".into()],
        },
    ))
    .await;
    let mut options = fast();
    options.invoke_timeout = Duration::from_millis(300);
    let (client, mut events) =
        WebPubSubClient::new(url(&service, "ann", all_roles()).await, options);
    client.start().await.unwrap();
    assert!(matches!(
        next(&mut events).await,
        ClientEvent::Connected { .. }
    ));

    // send_event: the reply is a server message, and it came before the ack returned.
    client
        .send_event("add", Payload::text("1+2"), None)
        .await
        .unwrap();
    let ClientEvent::ServerMessage(reply) = next(&mut events).await else {
        panic!("the reply")
    };
    assert_eq!(reply.data.as_text(), Some("3"));
    // A refusal is the ack's error.
    let error = client
        .send_event("divide", Payload::text("1/0"), None)
        .await
        .unwrap_err();
    assert!(matches!(error.kind(), ErrorKind::Ack { .. }), "{error:?}");

    // invoke_event returns the reply itself.
    let result = client
        .invoke_event("add", Payload::text("20+22"))
        .await
        .unwrap();
    assert_eq!(
        result
            .data
            .and_then(|d| d.as_text().map(str::to_owned))
            .as_deref(),
        Some("42")
    );
    let error = client
        .invoke_event("divide", Payload::text("1/0"))
        .await
        .unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::Invocation { .. }),
        "{error:?}"
    );
    // Slow: the caller gets a timeout in 0.3 s, not 1 s; the late reply is ignored and the
    // connection goes on (the service runs a connection's events one after another).
    let began = std::time::Instant::now();
    let error = client
        .invoke_event("slow", Payload::text(""))
        .await
        .unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::InvocationTimeout { .. }),
        "{error:?}"
    );
    assert!(began.elapsed() < Duration::from_millis(900));
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let result = client
        .invoke_event("add", Payload::text("1+1"))
        .await
        .unwrap();
    assert_eq!(result.data.unwrap().as_text(), Some("2"));
    // Bad names never leave the client.
    assert!(client
        .invoke_event("", Payload::text(""))
        .await
        .unwrap_err()
        .is_invalid_input());
    client.stop().await;

    // The connect handler refuses: the upgrade's 403 is the start error.
    let (intruder, _events) = WebPubSubClient::new(url(&service, "intruder", vec![]).await, fast());
    let error = intruder.start().await.unwrap_err();
    assert_eq!(error.status(), Some(403), "{error:?}");
    assert!(error.is_handshake() && !error.is_retriable());
    emulator.shutdown().await;
    server.abort();
}
