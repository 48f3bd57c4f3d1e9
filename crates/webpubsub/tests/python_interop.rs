//! The official Python SDK (`azure-messaging-webpubsubservice` 1.3.0) and this client against the
//! same local capturing HTTP server: for the same operations both send the same method, path,
//! query and body, and both tokens verify against their request URLs.
//!
//! The interpreter is `$WEBPUBSUB_TEST_PYTHON` (set by `cargo xtask test`) or `python3`; without
//! the package the test is skipped with a printed reason, unless `WEBPUBSUB_REQUIRE_INTEROP=1`.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use bytes::Bytes;
use futures_util::TryStreamExt as _;
use http_body_util::{BodyExt as _, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use webpubsub::*;
use webpubsub_auth::TokenValidator;
use webpubsub_protocol::encoding::parse_query;

const KEY: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ABCDEFGH";

#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path_and_query: String,
    content_type: Option<String>,
    authorization: String,
    body: Vec<u8>,
}

async fn capturing_server() -> (SocketAddr, Arc<Mutex<Vec<Seen>>>) {
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let log = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let log = log.clone();
            tokio::spawn(async move {
                let service = service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                    let log = log.clone();
                    async move {
                        let (parts, body) = request.into_parts();
                        let body = body
                            .collect()
                            .await
                            .map(|b| b.to_bytes())
                            .unwrap_or_default();
                        let header = |name: &str| {
                            parts
                                .headers
                                .get(name)
                                .and_then(|v| v.to_str().ok())
                                .map(str::to_owned)
                        };
                        let path_and_query = parts
                            .uri
                            .path_and_query()
                            .map(|p| p.to_string())
                            .unwrap_or_default();
                        let (status, reply) = match parts.method.as_str() {
                            "GET" => (200, r#"{"value":[{"connectionId":"c1","userId":"u1"}]}"#),
                            "POST" if path_and_query.contains(":send") => (202, ""),
                            "POST" if path_and_query.contains(":closeConnections") => (204, ""),
                            "DELETE" => (204, ""),
                            _ => (200, ""),
                        };
                        log.lock().unwrap().push(Seen {
                            method: parts.method.to_string(),
                            path_and_query,
                            content_type: header("content-type"),
                            authorization: header("authorization").unwrap_or_default(),
                            body: body.to_vec(),
                        });
                        Ok::<_, Infallible>(
                            hyper::Response::builder()
                                .status(status)
                                .body(Full::new(Bytes::from(reply)))
                                .unwrap(),
                        )
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (addr, seen)
}

const PYTHON_SCRIPT: &str = r#"
import sys
from azure.messaging.webpubsubservice import WebPubSubServiceClient
c = WebPubSubServiceClient.from_connection_string(sys.argv[1], hub="hub1", retry_total=0)
c.send_to_all({"a": 1, "b": [True, None]})
c.send_to_all({"a": 1}, excluded=["c1", "c 2"], filter="userId ne 'x''y'")
c.send_to_user("user/1", "hello", content_type="text/plain")
c.send_to_group("g/1 #", b"\x00\x01\xff", content_type="application/octet-stream")
c.send_to_connection("c1", "plain", content_type="text/plain")
c.close_all_connections(excluded=["c1"], reason="maintenance")
c.close_group_connections("g", reason="bye now")
c.close_user_connections("u", reason="r")
c.close_connection("c1", reason="kicked")
assert c.connection_exists("c1")
assert c.group_exists("g")
assert c.user_exists("u")
c.add_connection_to_group("g", "c1")
c.remove_connection_from_group("g", "c1")
c.add_user_to_group("g", "u")
c.remove_user_from_group("g", "u")
c.remove_connection_from_all_groups("c1")
c.remove_user_from_all_groups("u")
c.grant_permission("sendToGroup", "c1", target_name="g")
c.revoke_permission("joinLeaveGroup", "c1", target_name="g")
assert c.has_permission("sendToGroup", "c1", target_name="g")
members = list(c.list_connections(group="g", top=5))
assert members[0].connection_id == "c1"
print("ok")
"#;

async fn ours(connection_string: &str) {
    let c = WebPubSubServiceClient::from_connection_string(
        connection_string,
        "hub1",
        Some(WebPubSubServiceClientOptions {
            retry: RetryOptions::none(),
            ..Default::default()
        }),
    )
    .unwrap();
    c.send_to_all(
        Payload::json(&serde_json::json!({"a": 1, "b": [true, null]})).unwrap(),
        None,
    )
    .await
    .unwrap();
    c.send_to_all(
        Payload::json(&serde_json::json!({"a": 1})).unwrap(),
        Some(SendToAllOptions {
            excluded: vec!["c1".into(), "c 2".into()],
            filter: Some(Filter::user_id().ne("x'y")),
            ..Default::default()
        }),
    )
    .await
    .unwrap();
    c.send_to_user("user/1", Payload::text("hello"), None)
        .await
        .unwrap();
    c.send_to_group("g/1 #", Payload::binary(vec![0, 1, 255]), None)
        .await
        .unwrap();
    c.send_to_connection("c1", Payload::text("plain"), None)
        .await
        .unwrap();
    c.close_all_connections(Some(CloseConnectionsOptions {
        excluded: vec!["c1".into()],
        reason: Some("maintenance".into()),
    }))
    .await
    .unwrap();
    c.close_group_connections(
        "g",
        Some(CloseConnectionsOptions {
            reason: Some("bye now".into()),
            ..Default::default()
        }),
    )
    .await
    .unwrap();
    c.close_user_connections(
        "u",
        Some(CloseConnectionsOptions {
            reason: Some("r".into()),
            ..Default::default()
        }),
    )
    .await
    .unwrap();
    c.close_connection(
        "c1",
        Some(CloseConnectionOptions {
            reason: Some("kicked".into()),
        }),
    )
    .await
    .unwrap();
    assert!(c.connection_exists("c1", None).await.unwrap());
    assert!(c.group_exists("g", None).await.unwrap());
    assert!(c.user_exists("u", None).await.unwrap());
    c.add_connection_to_group("g", "c1", None).await.unwrap();
    c.remove_connection_from_group("g", "c1", None)
        .await
        .unwrap();
    c.add_user_to_group("g", "u", None).await.unwrap();
    c.remove_user_from_group("g", "u", None).await.unwrap();
    c.remove_connection_from_all_groups("c1", None)
        .await
        .unwrap();
    c.remove_user_from_all_groups("u", None).await.unwrap();
    let target = || {
        Some(PermissionOptions {
            target_name: Some("g".into()),
        })
    };
    c.grant_permission(Permission::SendToGroup, "c1", target())
        .await
        .unwrap();
    c.revoke_permission(Permission::JoinLeaveGroup, "c1", target())
        .await
        .unwrap();
    assert!(c
        .has_permission(Permission::SendToGroup, "c1", target())
        .await
        .unwrap());
    let members: Vec<GroupMember> = c
        .list_connections_in_group(
            "g",
            Some(ListConnectionsOptions {
                top: Some(5),
                ..Default::default()
            }),
        )
        .try_collect()
        .await
        .unwrap();
    assert_eq!(members[0].connection_id, "c1");
}

fn normalized_query(path_and_query: &str) -> (String, Vec<(String, String)>) {
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let mut pairs = parse_query(query);
    pairs.sort();
    (
        webpubsub_protocol::encoding::percent_decode(path, false).unwrap(),
        pairs,
    )
}

fn same_body(a: &Seen, b: &Seen) -> bool {
    if a.content_type
        .as_deref()
        .is_some_and(|t| t.starts_with("application/json"))
    {
        serde_json::from_slice::<Value>(&a.body).ok()
            == serde_json::from_slice::<Value>(&b.body).ok()
    } else {
        a.body == b.body
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_and_this_client_send_the_same_requests() {
    let Some(python) = webpubsub_testkit::python_with(&["azure.messaging.webpubsubservice"]) else {
        return;
    };
    let (addr, seen) = capturing_server().await;
    let connection_string = format!("Endpoint=http://{addr};AccessKey={KEY};Version=1.0;");

    let cs = connection_string.clone();
    // What the SDK sent is what the server captured; its output is not needed.
    tokio::task::spawn_blocking(move || {
        let mut command = Command::new(python);
        command.args(["-c", PYTHON_SCRIPT, &cs]);
        webpubsub_testkit::stdout_of(command, "python")
    })
    .await
    .unwrap();
    let theirs: Vec<Seen> = std::mem::take(&mut *seen.lock().unwrap());
    ours(&connection_string).await;
    let mine: Vec<Seen> = seen.lock().unwrap().clone();

    assert_eq!(theirs.len(), 22, "{theirs:#?}");
    assert_eq!(mine.len(), theirs.len());
    let validator = TokenValidator::new([AccessKey::new(KEY)]);
    for (python_request, our_request) in theirs.iter().zip(&mine) {
        let label = &python_request.path_and_query;
        assert_eq!(our_request.method, python_request.method, "{label}");
        assert_eq!(
            normalized_query(&our_request.path_and_query),
            normalized_query(&python_request.path_and_query),
            "{label}"
        );
        assert!(
            same_body(python_request, our_request),
            "{label}: {:?} vs {:?}",
            python_request.body,
            our_request.body
        );
        let media = |s: &Seen| {
            s.content_type
                .as_deref()
                .map(|t| t.split(';').next().unwrap().trim().to_owned())
        };
        assert_eq!(media(our_request), media(python_request), "{label}");
        for request in [python_request, our_request] {
            let url = format!("http://{addr}{}", request.path_and_query);
            let token = request.authorization.strip_prefix("Bearer ").unwrap();
            validator
                .verify(token, |aud| aud == url, SystemTime::now())
                .unwrap_or_else(|e| panic!("{url}: {e}"));
        }
    }
}
