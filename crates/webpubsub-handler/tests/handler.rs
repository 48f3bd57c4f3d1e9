//! The handler with requests as the real service sends them (the header set of a captured
//! request), including forged signatures, missing headers, wrong hub, wrong origin and
//! oversized bodies; and served over hyper on loopback.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::Request;
use serde_json::json;
use webpubsub_auth::{event_signature, AccessKey};
use webpubsub_handler::*;

mod common;
use common::{event, keys, with_body, SECONDARY};
use webpubsub_protocol::events::ConnectionState;
use webpubsub_protocol::Payload;

#[derive(Default)]
struct Recorder {
    seen: Mutex<Vec<String>>,
}

impl EventHandler for Recorder {
    async fn connect(
        &self,
        ctx: &mut EventContext,
        request: ConnectEventRequest,
    ) -> ConnectResponse {
        self.seen.lock().unwrap().push(format!(
            "connect {} {:?}",
            ctx.connection_id,
            request.claims.get("sub")
        ));
        match request
            .query
            .get("mode")
            .and_then(|v| v.first())
            .map(String::as_str)
        {
            Some("reject") => ConnectResponse::reject(403, "not today"),
            Some("plain") => ConnectResponse::accept(),
            _ => {
                ctx.set_state("counter", 1);
                ConnectEventResponse::default()
                    .with_user_id("override")
                    .with_groups(["lobby"])
                    .with_subprotocol("json.webpubsub.azure.v1")
                    .into()
            }
        }
    }

    async fn connected(&self, ctx: &EventContext) {
        self.seen
            .lock()
            .unwrap()
            .push(format!("connected {}", ctx.connection_id));
    }

    async fn disconnected(&self, ctx: &EventContext, event: DisconnectedEventRequest) {
        let reason = event.reason;
        self.seen
            .lock()
            .unwrap()
            .push(format!("disconnected {} {reason:?}", ctx.connection_id));
    }

    async fn user_event(&self, ctx: &mut EventContext, event: UserEvent) -> UserEventResponse {
        let counter = ctx.state("counter").and_then(|v| v.as_i64()).unwrap_or(0);
        ctx.set_state("counter", counter + 1);
        match (event.name.as_str(), event.data) {
            ("echo", data) => UserEventResponse::Reply(data),
            ("fail", _) => UserEventResponse::Reject {
                status: 500,
                reason: "boom".into(),
            },
            ("count", _) => UserEventResponse::Reply(Payload::from(
                json!({"counter": counter + 1, "user": ctx.user_id}),
            )),
            _ => UserEventResponse::Empty,
        }
    }
}

fn handler(options: HandlerOptions) -> WebPubSubEventHandler<Recorder> {
    WebPubSubEventHandler::new("Chat", options, Recorder::default())
}

const CONNECT_BODY: &str = r#"{"claims":{"sub":["user1"]},"query":{"access_token":["x"]},"headers":{"User-Agent":["ua"]},"subprotocols":["json.webpubsub.azure.v1"],"clientCertificates":[]}"#;

fn connect_with(query: &str) -> Request<Bytes> {
    let body = CONNECT_BODY.replace(
        r#""query":{"access_token":["x"]}"#,
        &format!(r#""query":{{"mode":["{query}"]}}"#),
    );
    with_body(
        event(
            "azure.webpubsub.sys.connect",
            "connect",
            "application/json; charset=utf-8",
            body.clone(),
        ),
        body,
    )
}

#[tokio::test]
async fn connect_answers_overrides_state_defaults_and_rejections() {
    let h = handler(HandlerOptions::new(keys()));
    let response = h.handle(connect_with("override")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/json; charset=utf-8"
    );
    let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
    assert_eq!(
        body,
        json!({"userId": "override", "groups": ["lobby"], "subprotocol": "json.webpubsub.azure.v1"})
    );
    let state =
        ConnectionState::from_header(response.headers()["ce-connectionState"].to_str().unwrap())
            .unwrap();
    assert_eq!(state.get("counter"), Some(&json!(1)));

    let plain = h.handle(connect_with("plain")).await;
    assert_eq!(plain.status(), 204);
    assert!(plain.headers().get("ce-connectionState").is_none());

    let rejected = h.handle(connect_with("reject")).await;
    assert_eq!(rejected.status(), 403);
    assert_eq!(rejected.body(), "not today");
    let seen = h.handler().seen.lock().unwrap().clone();
    assert!(
        seen.iter().any(|s| s == "connect conn1 Some([\"user1\"])"),
        "{seen:?}"
    );
}

#[tokio::test]
async fn user_events_by_content_type_with_replies_and_state() {
    let h = handler(HandlerOptions::new(keys()));
    let state = {
        let mut s = ConnectionState::default();
        s.set("counter", 41);
        s.to_header()
    };
    for (content_type, body, expected_type) in [
        (
            "application/json",
            r#"{"a":1}"#,
            "application/json; charset=utf-8",
        ),
        (
            "text/plain; charset=utf-8",
            "hello",
            "text/plain; charset=utf-8",
        ),
        (
            "application/octet-stream",
            "\u{1}\u{2}",
            "application/octet-stream",
        ),
    ] {
        let request = with_body(
            event("azure.webpubsub.user.echo", "echo", content_type, body),
            body,
        );
        let response = h.handle(request).await;
        assert_eq!(response.status(), 200, "{content_type}");
        assert_eq!(response.headers()["content-type"], expected_type);
        assert_eq!(response.body(), body);
    }
    let request = with_body(
        event("azure.webpubsub.user.count", "count", "text/plain", "x")
            .header("ce-connectionState", state),
        "x",
    );
    let response = h.handle(request).await;
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(response.body()).unwrap(),
        json!({"counter": 42, "user": "user1"})
    );
    let state =
        ConnectionState::from_header(response.headers()["ce-connectionState"].to_str().unwrap())
            .unwrap();
    assert_eq!(state.get("counter"), Some(&json!(42)));
    // An unreadable state header is tolerated (the event still runs, from an empty state).
    let request = with_body(
        event("azure.webpubsub.user.count", "count", "text/plain", "x")
            .header("ce-connectionState", "%%%"),
        "x",
    );
    assert_eq!(h.handle(request).await.status(), 200);

    let quiet = with_body(
        event("azure.webpubsub.user.other", "other", "text/plain", "x"),
        "x",
    );
    assert_eq!(h.handle(quiet).await.status(), 204);
    let failing = with_body(
        event("azure.webpubsub.user.fail", "fail", "text/plain", "x"),
        "x",
    );
    let response = h.handle(failing).await;
    assert_eq!(
        (response.status().as_u16(), response.body().as_ref()),
        (500, &b"boom"[..])
    );
    let unsupported = with_body(
        event("azure.webpubsub.user.echo", "echo", "image/png", "x"),
        "x",
    );
    assert_eq!(h.handle(unsupported).await.status(), 400);
}

#[tokio::test]
async fn system_events_are_delivered() {
    let recorder = Arc::new(Recorder::default());
    struct Shared(Arc<Recorder>);
    impl EventHandler for Shared {
        async fn connected(&self, ctx: &EventContext) {
            self.0.connected(ctx).await
        }
        async fn disconnected(&self, ctx: &EventContext, event: DisconnectedEventRequest) {
            self.0.disconnected(ctx, event).await
        }
    }
    let h = WebPubSubEventHandler::new(
        "chat",
        HandlerOptions::new(keys()),
        Shared(recorder.clone()),
    );
    let connected = with_body(
        event(
            "azure.webpubsub.sys.connected",
            "connected",
            "application/json",
            "{}",
        ),
        "{}",
    );
    assert_eq!(h.handle(connected).await.status(), 200);
    let body = r#"{"reason":"ClosedByAppServer"}"#;
    let disconnected = with_body(
        event(
            "azure.webpubsub.sys.disconnected",
            "disconnected",
            "application/json",
            body,
        ),
        body,
    );
    assert_eq!(h.handle(disconnected).await.status(), 200);
    assert_eq!(
        *recorder.seen.lock().unwrap(),
        [
            "connected conn1",
            "disconnected conn1 Some(\"ClosedByAppServer\")"
        ]
    );
}

#[tokio::test]
async fn forged_unsigned_wrong_hub_wrong_origin_and_oversized_requests_are_refused() {
    let h = handler(HandlerOptions::new(keys()));
    let forged = with_body(
        event("azure.webpubsub.user.echo", "echo", "text/plain", "x").header(
            "ce-signature",
            event_signature("conn1", &[AccessKey::new("attacker")]),
        ),
        "x",
    );
    // Two ce-signature lines now: the forged one and the real one. Any valid entry is enough...
    assert_eq!(h.handle(forged).await.status(), 200);
    // ...so build requests whose only signature is bad or missing.
    let mut only_forged = with_body(
        event("azure.webpubsub.user.echo", "echo", "text/plain", "x"),
        "x",
    );
    only_forged.headers_mut().insert(
        "ce-signature",
        event_signature("conn1", &[AccessKey::new("attacker")])
            .parse()
            .unwrap(),
    );
    assert_eq!(h.handle(only_forged).await.status(), 401);
    let mut other_connection = with_body(
        event("azure.webpubsub.user.echo", "echo", "text/plain", "x"),
        "x",
    );
    other_connection.headers_mut().insert(
        "ce-signature",
        event_signature("conn2", &keys()).parse().unwrap(),
    );
    assert_eq!(h.handle(other_connection).await.status(), 401);
    let mut unsigned = with_body(
        event("azure.webpubsub.user.echo", "echo", "text/plain", "x"),
        "x",
    );
    unsigned.headers_mut().remove("ce-signature");
    let response = h.handle(unsigned).await;
    assert_eq!(response.status(), 401);
    assert!(std::str::from_utf8(response.body())
        .unwrap()
        .contains("ce-signature"));
    // Key rotation: a handler with only the secondary key accepts.
    let rotated = handler(HandlerOptions::new([AccessKey::new(SECONDARY)]));
    assert_eq!(
        rotated
            .handle(with_body(
                event("azure.webpubsub.user.echo", "echo", "text/plain", "x"),
                "x"
            ))
            .await
            .status(),
        200
    );
    // Development mode: no verification.
    let mut dev = HandlerOptions::new([]);
    dev.verify_signature = false;
    let mut unsigned = with_body(
        event("azure.webpubsub.user.echo", "echo", "text/plain", "x"),
        "x",
    );
    unsigned.headers_mut().remove("ce-signature");
    assert_eq!(handler(dev).handle(unsigned).await.status(), 200);

    for missing in ["ce-type", "ce-hub", "ce-connectionId", "ce-awpsversion"] {
        let mut request = with_body(
            event("azure.webpubsub.user.echo", "echo", "text/plain", "x"),
            "x",
        );
        request.headers_mut().remove(missing);
        assert_eq!(h.handle(request).await.status(), 400, "{missing}");
    }
    let mut wrong_hub = with_body(
        event("azure.webpubsub.user.echo", "echo", "text/plain", "x"),
        "x",
    );
    wrong_hub
        .headers_mut()
        .insert("ce-hub", "other".parse().unwrap());
    assert_eq!(h.handle(wrong_hub).await.status(), 400);

    let mut restricted = HandlerOptions::new(keys());
    restricted.allowed_origins = AllowedOrigins::Hosts(vec!["contoso.webpubsub.azure.com".into()]);
    let restricted = handler(restricted);
    let from_elsewhere = with_body(
        event("azure.webpubsub.user.echo", "echo", "text/plain", "x"),
        "x",
    );
    assert_eq!(restricted.handle(from_elsewhere).await.status(), 403);
    let mut from_contoso = with_body(
        event("azure.webpubsub.user.echo", "echo", "text/plain", "x"),
        "x",
    );
    from_contoso.headers_mut().insert(
        "WebHook-Request-Origin",
        "Contoso.WebPubSub.Azure.com".parse().unwrap(),
    );
    assert_eq!(restricted.handle(from_contoso).await.status(), 200);

    let mut small = HandlerOptions::new(keys());
    small.max_body_bytes = 4;
    let big = with_body(
        event("azure.webpubsub.user.echo", "echo", "text/plain", "hello"),
        "hello",
    );
    assert_eq!(handler(small).handle(big).await.status(), 413);
    let get_body = Request::put("/").body(Bytes::new()).unwrap();
    assert_eq!(h.handle(get_body).await.status(), 405);
}

#[tokio::test]
async fn abuse_protection_validation() {
    let any = handler(HandlerOptions::new(keys()));
    let validate = |origin: Option<&str>| {
        let mut builder = Request::options("/eventhandler").header("ce-awpsversion", "1.0");
        if let Some(origin) = origin {
            builder = builder.header("WebHook-Request-Origin", origin);
        }
        builder.body(Bytes::new()).unwrap()
    };
    assert_eq!(any.handle(validate(None)).await.status(), 400);
    let response = any.handle(validate(Some("xxx.webpubsub.azure.com"))).await;
    assert_eq!(
        (
            response.status().as_u16(),
            response.headers()["WebHook-Allowed-Origin"]
                .to_str()
                .unwrap()
        ),
        (200, "*")
    );

    let mut options = HandlerOptions::new(keys());
    options.allowed_origins =
        AllowedOrigins::Hosts(vec!["b.webpubsub.azure.com".into(), "c.example".into()]);
    let listed = handler(options);
    // Replicas and custom domains send several origins, comma-separated.
    let response = listed
        .handle(validate(Some(
            "a.webpubsub.azure.com, B.webpubsub.azure.com,c.example",
        )))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["WebHook-Allowed-Origin"],
        "B.webpubsub.azure.com, c.example"
    );
    assert_eq!(
        listed.handle(validate(Some("evil.example"))).await.status(),
        403
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn served_over_hyper_on_loopback() {
    use webpubsub_transport::{HttpClient, HyperClient, HyperClientOptions};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut options = HandlerOptions::new(keys());
    options.max_body_bytes = 64;
    let server = tokio::spawn(serve_hyper(listener, Arc::new(handler(options))));
    let client = HyperClient::new(HyperClientOptions::default()).unwrap();
    let mut request = connect_with("override");
    *request.uri_mut() = format!("http://{addr}/eventhandler").parse().unwrap();
    // The connect body is over 64 bytes: refused while reading.
    assert_eq!(client.execute(&request).await.unwrap().status(), 413);
    let mut echo = with_body(
        event("azure.webpubsub.user.echo", "echo", "text/plain", "hi"),
        "hi",
    );
    *echo.uri_mut() = format!("http://{addr}/eventhandler").parse().unwrap();
    let response = client.execute(&echo).await.unwrap();
    assert_eq!(
        (response.status().as_u16(), response.body().as_ref()),
        (200, &b"hi"[..])
    );
    server.abort();
}
