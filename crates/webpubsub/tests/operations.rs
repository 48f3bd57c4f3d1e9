//! Every operation through a capturing transport: exact method, path, query, headers and body,
//! the signed token, and how each status maps to a result or an error.

use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use futures_util::TryStreamExt as _;
use webpubsub::*;
use webpubsub_auth::TokenValidator;
use webpubsub_protocol::encoding::parse_query;
use webpubsub_transport::test_util::{response, CaptureClient, CapturedRequest};

const KEY: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ABCDEFGH";
const ENDPOINT: &str = "https://contoso.webpubsub.azure.com";

fn client_with(capture: &CaptureClient) -> WebPubSubServiceClient {
    let options = WebPubSubServiceClientOptions {
        transport: Some(Arc::new(capture.clone())),
        retry: RetryOptions::none(),
        ..Default::default()
    };
    WebPubSubServiceClient::from_connection_string(
        &format!("Endpoint={ENDPOINT};AccessKey={KEY};Version=1.0;"),
        "hub1",
        Some(options),
    )
    .unwrap()
}

fn status_capture(status: u16) -> CaptureClient {
    CaptureClient::with_responder(move |_| Ok(response(status, "")))
}

/// Answers every request with its operation's declared success status (the operation table's).
fn success_capture() -> CaptureClient {
    CaptureClient::with_responder(|request| {
        let (operation, _) =
            webpubsub_protocol::rest::route(request.method(), request.uri().path())
                .expect("a known operation");
        Ok(response(operation.success_status().as_u16(), ""))
    })
}

struct Expect {
    method: &'static str,
    path: &'static str,
    query: &'static [(&'static str, &'static str)],
    content_type: Option<&'static str>,
    body: &'static [u8],
}

fn check(request: &CapturedRequest, expect: &Expect) {
    assert_eq!(request.method.as_str(), expect.method, "{}", expect.path);
    assert_eq!(request.uri.path(), expect.path);
    let mut query: Vec<(String, String)> = parse_query(request.uri.query().unwrap_or(""));
    let mut expected: Vec<(String, String)> = expect
        .query
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    expected.push(("api-version".into(), "2024-12-01".into()));
    query.sort();
    expected.sort();
    assert_eq!(query, expected, "{}", expect.path);
    assert_eq!(
        request.header("content-type"),
        expect.content_type,
        "{}",
        expect.path
    );
    assert_eq!(request.body.as_ref(), expect.body, "{}", expect.path);
    assert_eq!(request.uri.scheme_str(), Some("https"));
    assert_eq!(request.uri.host(), Some("contoso.webpubsub.azure.com"));
    // Headers every request carries.
    let agent = request.header("user-agent").unwrap();
    assert!(agent.starts_with("azsdk-rust-webpubsub/"), "{agent}");
    let id = request.header("x-ms-client-request-id").unwrap();
    assert_eq!(id.len(), 36);
    assert_eq!(&id[14..15], "4", "uuid v4: {id}");
    if expect.method == "GET" {
        assert_eq!(request.header("accept"), Some("application/json"));
    }
    // A fresh token whose audience is exactly this URL, query included.
    let authorization = request.header("authorization").unwrap();
    let token = authorization.strip_prefix("Bearer ").unwrap();
    let url = request.uri.to_string();
    let verified = TokenValidator::new([AccessKey::new(KEY)])
        .verify(token, |aud| aud == url, SystemTime::now())
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    assert!(verified.claims.expires_at.unwrap() > verified.claims.issued_at.unwrap());
}

macro_rules! op_case {
    ($client:ident, $call:expr, $expect:expr) => {{
        let capture = success_capture();
        let $client = client_with(&capture);
        let result = $call.await;
        assert!(result.is_ok(), "{:?}", result.err());
        check(&capture.last(), &$expect);
    }};
}

#[tokio::test]
async fn every_operation_sends_exactly_what_the_service_expects() {
    let json = br#"{"a":1}"#;
    op_case!(
        c,
        c.send_to_all(
            Payload::json_raw(json.to_vec()).unwrap(),
            Some(SendToAllOptions {
                excluded: vec!["c1".into(), "c 2".into()],
                filter: Some(Filter::parse("userId ne 'bot'").unwrap()),
                message_ttl_seconds: Some(15),
            })
        ),
        Expect {
            method: "POST",
            path: "/api/hubs/hub1/:send",
            query: &[
                ("excluded", "c1"),
                ("excluded", "c 2"),
                ("filter", "userId ne 'bot'"),
                ("messageTtlSeconds", "15")
            ],
            content_type: Some("application/json"),
            body: json
        }
    );
    op_case!(
        c,
        c.send_to_user(
            "user/1",
            Payload::text("hi"),
            Some(SendToUserOptions {
                message_ttl_seconds: Some(0),
                ..Default::default()
            })
        ),
        Expect {
            method: "POST",
            path: "/api/hubs/hub1/users/user%2F1/:send",
            query: &[("messageTtlSeconds", "0")],
            content_type: Some("text/plain"),
            body: b"hi"
        }
    );
    op_case!(
        c,
        c.send_to_group("room #1", Payload::binary(vec![0, 1]), None),
        Expect {
            method: "POST",
            path: "/api/hubs/hub1/groups/room%20%231/:send",
            query: &[],
            content_type: Some("application/octet-stream"),
            body: &[0, 1]
        }
    );
    op_case!(
        c,
        c.send_to_connection("conn1", Payload::json(&"quoted").unwrap(), None),
        Expect {
            method: "POST",
            path: "/api/hubs/hub1/connections/conn1/:send",
            query: &[],
            content_type: Some("application/json"),
            body: br#""quoted""#
        }
    );
    op_case!(
        c,
        c.close_all_connections(Some(CloseConnectionsOptions {
            excluded: vec!["c1".into()],
            reason: Some("maintenance".into())
        })),
        Expect {
            method: "POST",
            path: "/api/hubs/hub1/:closeConnections",
            query: &[("excluded", "c1"), ("reason", "maintenance")],
            content_type: None,
            body: b""
        }
    );
    op_case!(
        c,
        c.close_group_connections(
            "g",
            Some(CloseConnectionsOptions {
                reason: Some("bye".into()),
                ..Default::default()
            })
        ),
        Expect {
            method: "POST",
            path: "/api/hubs/hub1/groups/g/:closeConnections",
            query: &[("reason", "bye")],
            content_type: None,
            body: b""
        }
    );
    op_case!(
        c,
        c.close_user_connections("u", None),
        Expect {
            method: "POST",
            path: "/api/hubs/hub1/users/u/:closeConnections",
            query: &[],
            content_type: None,
            body: b""
        }
    );
    op_case!(
        c,
        c.close_connection(
            "conn1",
            Some(CloseConnectionOptions {
                reason: Some("kicked".into())
            })
        ),
        Expect {
            method: "DELETE",
            path: "/api/hubs/hub1/connections/conn1",
            query: &[("reason", "kicked")],
            content_type: None,
            body: b""
        }
    );
    op_case!(
        c,
        c.connection_exists("conn1", None),
        Expect {
            method: "HEAD",
            path: "/api/hubs/hub1/connections/conn1",
            query: &[],
            content_type: None,
            body: b""
        }
    );
    op_case!(
        c,
        c.group_exists("g", None),
        Expect {
            method: "HEAD",
            path: "/api/hubs/hub1/groups/g",
            query: &[],
            content_type: None,
            body: b""
        }
    );
    op_case!(
        c,
        c.user_exists("u", None),
        Expect {
            method: "HEAD",
            path: "/api/hubs/hub1/users/u",
            query: &[],
            content_type: None,
            body: b""
        }
    );
    op_case!(
        c,
        c.service_status(None),
        Expect {
            method: "HEAD",
            path: "/api/health",
            query: &[],
            content_type: None,
            body: b""
        }
    );
    op_case!(
        c,
        c.add_connection_to_group("g", "conn1", None),
        Expect {
            method: "PUT",
            path: "/api/hubs/hub1/groups/g/connections/conn1",
            query: &[],
            content_type: None,
            body: b""
        }
    );
    op_case!(
        c,
        c.remove_connection_from_group("g", "conn1", None),
        Expect {
            method: "DELETE",
            path: "/api/hubs/hub1/groups/g/connections/conn1",
            query: &[],
            content_type: None,
            body: b""
        }
    );
    op_case!(
        c,
        c.remove_connection_from_all_groups("conn1", None),
        Expect {
            method: "DELETE",
            path: "/api/hubs/hub1/connections/conn1/groups",
            query: &[],
            content_type: None,
            body: b""
        }
    );
    op_case!(
        c,
        c.add_user_to_group("g", "u", None),
        Expect {
            method: "PUT",
            path: "/api/hubs/hub1/users/u/groups/g",
            query: &[],
            content_type: None,
            body: b""
        }
    );
    op_case!(
        c,
        c.remove_user_from_group("g", "u", None),
        Expect {
            method: "DELETE",
            path: "/api/hubs/hub1/users/u/groups/g",
            query: &[],
            content_type: None,
            body: b""
        }
    );
    op_case!(
        c,
        c.remove_user_from_all_groups("u", None),
        Expect {
            method: "DELETE",
            path: "/api/hubs/hub1/users/u/groups",
            query: &[],
            content_type: None,
            body: b""
        }
    );
    op_case!(
        c,
        c.add_connections_to_groups(
            &["g1", "g2"],
            Some(GroupsFilterOptions {
                filter: Some(Filter::parse("startswith(userId, 'listener-')").unwrap())
            })
        ),
        Expect {
            method: "POST",
            path: "/api/hubs/hub1/:addToGroups",
            query: &[],
            content_type: Some("application/json"),
            body: br#"{"groups":["g1","g2"],"filter":"startswith(userId, 'listener-')"}"#
        }
    );
    op_case!(
        c,
        c.remove_connections_from_groups(
            &["g1"],
            Some(GroupsFilterOptions {
                filter: Some(Filter::parse("userId eq 'a'").unwrap())
            })
        ),
        Expect {
            method: "POST",
            path: "/api/hubs/hub1/:removeFromGroups",
            query: &[],
            content_type: Some("application/json"),
            body: br#"{"groups":["g1"],"filter":"userId eq 'a'"}"#
        }
    );
    op_case!(
        c,
        c.grant_permission(
            Permission::SendToGroup,
            "conn1",
            Some(PermissionOptions {
                target_name: Some("g".into())
            })
        ),
        Expect {
            method: "PUT",
            path: "/api/hubs/hub1/permissions/sendToGroup/connections/conn1",
            query: &[("targetName", "g")],
            content_type: None,
            body: b""
        }
    );
    op_case!(
        c,
        c.revoke_permission(Permission::JoinLeaveGroup, "conn1", None),
        Expect {
            method: "DELETE",
            path: "/api/hubs/hub1/permissions/joinLeaveGroup/connections/conn1",
            query: &[],
            content_type: None,
            body: b""
        }
    );
    op_case!(
        c,
        c.has_permission(
            Permission::JoinLeaveGroup,
            "conn1",
            Some(PermissionOptions {
                target_name: Some("g".into())
            })
        ),
        Expect {
            method: "HEAD",
            path: "/api/hubs/hub1/permissions/joinLeaveGroup/connections/conn1",
            query: &[("targetName", "g")],
            content_type: None,
            body: b""
        }
    );
}

#[tokio::test]
async fn statuses_map_to_results_and_errors() {
    // HEAD exists operations: 200 true, 404 false, anything else an error.
    for (status, expected) in [
        (200, Some(true)),
        (404, Some(false)),
        (401, None),
        (500, None),
    ] {
        let capture = status_capture(status);
        let client = client_with(&capture);
        for result in [
            client.connection_exists("c", None).await,
            client.group_exists("g", None).await,
            client.user_exists("u", None).await,
            client
                .has_permission(Permission::SendToGroup, "c", None)
                .await,
        ] {
            match expected {
                Some(value) => assert_eq!(result.unwrap(), value, "{status}"),
                None => assert_eq!(result.unwrap_err().status(), Some(status)),
            }
        }
    }
    // Success is the operation's declared status (the operation table's); another 2xx is not.
    let client = client_with(&success_capture());
    client.send_to_all(Payload::text("x"), None).await.unwrap();
    client.add_user_to_group("g", "u", None).await.unwrap();
    client.close_connection("c", None).await.unwrap();
    let client = client_with(&status_capture(200));
    let err = client
        .send_to_all(Payload::text("x"), None)
        .await
        .unwrap_err();
    assert!(err.is_service() && err.status() == Some(200), "{err:?}");
    // A real 404 body from the service.
    let capture = CaptureClient::with_responder(|_| {
        let mut r = response(
            404,
            r#"{"code":"Error.Connection.NotExisted","message":"Connection `c` is not found.","target":"Connection","details":null,"inner":null}"#,
        );
        r.headers_mut().insert(
            "x-ms-error-code",
            "Error.Connection.NotExisted".parse().unwrap(),
        );
        Ok(r)
    });
    let err = client_with(&capture)
        .add_connection_to_group("g", "c", None)
        .await
        .unwrap_err();
    assert!(err.is_not_found() && !err.is_service() && err.status() == Some(404));
    assert_eq!(err.error_code(), Some("Error.Connection.NotExisted"));
    assert_eq!(err.message(), Some("Connection `c` is not found."));
    assert_eq!(
        err.to_string(),
        "the service answered 404 (Error.Connection.NotExisted): Connection `c` is not found."
    );
    for (status, is_auth) in [
        (401, true),
        (403, true),
        (400, false),
        (413, false),
        (500, false),
    ] {
        let err = client_with(&status_capture(status))
            .send_to_all(Payload::text("x"), None)
            .await
            .unwrap_err();
        assert_eq!(err.is_authentication(), is_auth, "{status}");
        assert_eq!(err.kind() == ErrorKind::Service, !is_auth, "{status}");
        assert_eq!(err.status(), Some(status));
        assert_eq!(err.raw_body(), Some(&b""[..]));
    }
    // A transport failure keeps its kind.
    let failing = CaptureClient::with_responder(|_| {
        Err(webpubsub_transport::Error::new(
            webpubsub_transport::ErrorKind::Connect,
        ))
    });
    let err = client_with(&failing)
        .send_to_all(Payload::text("x"), None)
        .await
        .unwrap_err();
    assert!(err.is_transport());
    let source = std::error::Error::source(&err).expect("the transport error is the source");
    let transport = source
        .downcast_ref::<webpubsub_transport::Error>()
        .expect("a transport error");
    assert_eq!(transport.kind(), webpubsub_transport::ErrorKind::Connect);
}

#[tokio::test]
async fn invalid_input_is_refused_before_sending() {
    let capture = success_capture();
    let client = client_with(&capture);
    let results = [
        client
            .send_to_all(
                Payload::text("x"),
                Some(SendToAllOptions {
                    message_ttl_seconds: Some(301),
                    ..Default::default()
                }),
            )
            .await,
        client.send_to_group("", Payload::text("x"), None).await,
        client.send_to_group("  ", Payload::text("x"), None).await,
        client.send_to_user("", Payload::text("x"), None).await,
        client
            .send_to_all(Payload::binary(vec![0; 1024 * 1024 + 1]), None)
            .await,
        client.add_connections_to_groups::<&str>(&[], None).await,
        client.add_connections_to_groups(&["a\nb"], None).await,
    ];
    for result in results {
        let err = result.unwrap_err();
        assert!(err.is_invalid_input(), "{err:?}");
    }
    assert!(capture.requests().is_empty(), "nothing was sent");
    let err = client.with_hub("1bad").unwrap_err();
    assert!(err.is_invalid_input());
    assert_eq!(err.to_string(), "invalid input: invalid hub: must start with a letter and have 1 to 128 letters, digits or _ ` , . [ ]");
    let err = client
        .list_connections_in_group(
            "g",
            Some(ListConnectionsOptions {
                max_page_size: Some(201),
                ..Default::default()
            }),
        )
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert!(err.is_invalid_input());
}

#[tokio::test]
async fn hubs_groups_and_reverse_proxy() {
    let capture = success_capture();
    let client = client_with(&capture);
    client
        .with_hub("other")
        .unwrap()
        .send_to_all(Payload::text("x"), None)
        .await
        .unwrap();
    assert_eq!(capture.last().uri.path(), "/api/hubs/other/:send");
    let group = client.group("room");
    assert_eq!(group.name(), "room");
    group.send(Payload::text("x"), None).await.unwrap();
    assert_eq!(
        capture.last().uri.path(),
        "/api/hubs/hub1/groups/room/:send"
    );
    group.add_user("u", None).await.unwrap();
    group.remove_user("u", None).await.unwrap();
    group.add_connection("c", None).await.unwrap();
    group.remove_connection("c", None).await.unwrap();
    group.close_connections(None).await.unwrap();
    let paths: Vec<String> = capture
        .requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.uri.path()))
        .collect();
    assert_eq!(
        &paths[2..],
        [
            "PUT /api/hubs/hub1/users/u/groups/room",
            "DELETE /api/hubs/hub1/users/u/groups/room",
            "PUT /api/hubs/hub1/groups/room/connections/c",
            "DELETE /api/hubs/hub1/groups/room/connections/c",
            "POST /api/hubs/hub1/groups/room/:closeConnections",
        ]
    );

    // Reverse proxy: requests go to the proxy (prefix kept), the token's audience stays the service URL.
    let proxied = CaptureClient::with_responder(|_| Ok(response(202, "")));
    let options = WebPubSubServiceClientOptions {
        transport: Some(Arc::new(proxied.clone())),
        reverse_proxy_endpoint: Some(
            Endpoint::parse("https://apim.example.com/webpubsub/").unwrap(),
        ),
        user_agent_suffix: Some("my-app/1.0".into()),
        api_version: "2024-01-01".into(),
        ..Default::default()
    };
    let client = WebPubSubServiceClient::from_connection_string(
        &format!("Endpoint={ENDPOINT};AccessKey={KEY}"),
        "hub1",
        Some(options),
    )
    .unwrap();
    client.send_to_all(Payload::text("x"), None).await.unwrap();
    let request = proxied.last();
    assert_eq!(
        request.uri.to_string(),
        "https://apim.example.com/webpubsub/api/hubs/hub1/:send?api-version=2024-01-01"
    );
    assert!(request
        .header("user-agent")
        .unwrap()
        .starts_with("my-app/1.0 azsdk-rust-webpubsub/"));
    let token = request
        .header("authorization")
        .unwrap()
        .strip_prefix("Bearer ")
        .unwrap()
        .to_owned();
    TokenValidator::new([AccessKey::new(KEY)])
        .verify(&token, |aud| aud == "https://contoso.webpubsub.azure.com/api/hubs/hub1/:send?api-version=2024-01-01", SystemTime::now())
        .unwrap();
    // Client URLs use the service endpoint, not the proxy.
    let token = client.get_client_access_token(None).await.unwrap();
    assert_eq!(
        token.base_url,
        "wss://contoso.webpubsub.azure.com/client/hubs/hub1"
    );
    // Through a proxy with a path prefix, the next page goes to the proxy's prefix once, and its
    // token's audience is the service URL of that page.
    let pages = CaptureClient::with_responder(|request| {
        let body = if request
            .uri()
            .query()
            .unwrap_or("")
            .contains("continuationToken")
        {
            r#"{"value":[{"connectionId":"c2"}]}"#
        } else {
            r#"{"value":[{"connectionId":"c1"}],"nextLink":"https://contoso.webpubsub.azure.com/api/hubs/hub1/groups/g/connections?continuationToken=c1"}"#
        };
        Ok(response(200, Bytes::from(body)))
    });
    let options = WebPubSubServiceClientOptions {
        transport: Some(Arc::new(pages.clone())),
        reverse_proxy_endpoint: Some(
            Endpoint::parse("https://apim.example.com/webpubsub/").unwrap(),
        ),
        ..Default::default()
    };
    let client = WebPubSubServiceClient::from_connection_string(
        &format!("Endpoint={ENDPOINT};AccessKey={KEY}"),
        "hub1",
        Some(options),
    )
    .unwrap();
    let members: Vec<GroupMember> = client
        .list_connections_in_group("g", None)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(members.len(), 2);
    let second = &pages.requests()[1];
    assert_eq!(
        second.uri.to_string(),
        "https://apim.example.com/webpubsub/api/hubs/hub1/groups/g/connections?continuationToken=c1&api-version=2024-12-01"
    );
    let token = second
        .header("authorization")
        .unwrap()
        .strip_prefix("Bearer ")
        .unwrap()
        .to_owned();
    TokenValidator::new([AccessKey::new(KEY)])
        .verify(
            &token,
            |aud| aud == "https://contoso.webpubsub.azure.com/api/hubs/hub1/groups/g/connections?continuationToken=c1&api-version=2024-12-01",
            SystemTime::now(),
        )
        .unwrap();
}

#[tokio::test]
async fn client_access_tokens_with_a_key_are_signed_locally() {
    let capture = status_capture(500);
    let client = client_with(&capture);
    let token = client
        .get_client_access_token(Some(ClientAccessTokenOptions {
            user_id: Some("alice".into()),
            roles: vec![Role::send_to_group_named("g")],
            groups: vec!["g".into()],
            protocol: ClientProtocol::Mqtt,
            ..Default::default()
        }))
        .await
        .unwrap();
    assert!(capture.requests().is_empty(), "no request with a key");
    assert_eq!(
        token.base_url,
        "wss://contoso.webpubsub.azure.com/clients/mqtt/hubs/hub1"
    );
    let verified = TokenValidator::new([AccessKey::new(KEY)])
        .verify(
            &token.token,
            |aud| aud == "https://contoso.webpubsub.azure.com/clients/mqtt/hubs/hub1",
            SystemTime::now(),
        )
        .unwrap();
    assert_eq!(verified.claims.subject.as_deref(), Some("alice"));
    assert_eq!(verified.claims.groups, ["g"]);
}

#[tokio::test]
async fn listing_follows_next_links_on_our_own_endpoint_only() {
    let capture = CaptureClient::with_responder(|request| {
        let query = request.uri().query().unwrap_or("");
        let body = if query.contains("continuationToken=c2") {
            r#"{"value":[{"connectionId":"c3"}]}"#.to_owned()
        } else {
            // A next link on another host, with a stale api-version: followed on our endpoint only.
            r#"{"value":[{"connectionId":"c1","userId":"u1"},{"connectionId":"c2","userId":null}],
               "nextLink":"https://evil.example.com/api/hubs/hub1/groups/room/connections?top=8&maxpagesize=2&continuationToken=c2&api-version=2021-10-01"}"#.to_owned()
        };
        Ok(response(200, Bytes::from(body)))
    });
    let client = client_with(&capture);
    let members: Vec<GroupMember> = client
        .list_connections_in_group(
            "room",
            Some(ListConnectionsOptions {
                top: Some(10),
                max_page_size: Some(2),
                ..Default::default()
            }),
        )
        .try_collect()
        .await
        .unwrap();
    let ids: Vec<&str> = members.iter().map(|m| m.connection_id.as_str()).collect();
    assert_eq!(ids, ["c1", "c2", "c3"]);
    assert_eq!(members[0].user_id.as_deref(), Some("u1"));
    let requests = capture.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].uri.to_string(), "https://contoso.webpubsub.azure.com/api/hubs/hub1/groups/room/connections?maxpagesize=2&top=10&api-version=2024-12-01");
    assert_eq!(requests[1].uri.host(), Some("contoso.webpubsub.azure.com"));
    // Bodiless POST/PUT/DELETE say so (RFC 9110); a GET does not.
    assert_eq!(requests[1].header("content-length"), None);
    assert_eq!(
        parse_query(requests[1].uri.query().unwrap()),
        [
            ("maxpagesize", "2"),
            ("top", "8"),
            ("continuationToken", "c2"),
            ("api-version", "2024-12-01")
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()))
    );
    check(
        &requests[1],
        &Expect {
            method: "GET",
            path: "/api/hubs/hub1/groups/room/connections",
            query: &[
                ("top", "8"),
                ("maxpagesize", "2"),
                ("continuationToken", "c2"),
            ],
            content_type: None,
            body: b"",
        },
    );
    // `top` is enforced on our side too.
    let two: Vec<GroupMember> = client
        .group("room")
        .list_connections(Some(ListConnectionsOptions {
            top: Some(2),
            ..Default::default()
        }))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(two.len(), 2);
    // A broken page is a decode error.
    let broken = CaptureClient::with_responder(|_| Ok(response(200, "{not json")));
    let err = client_with(&broken)
        .list_connections_in_group("g", None)
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert!(err.is_decode());
}

#[tokio::test]
async fn path_prefixes_are_joined_never_doubled_and_pages_resume() {
    // An endpoint behind a gateway with a path prefix: every page goes to /apim/api/..., once.
    let capture = CaptureClient::with_responder(|request| {
        let body = if request
            .uri()
            .query()
            .unwrap_or("")
            .contains("continuationToken")
        {
            r#"{"value":[{"connectionId":"c2"}]}"#
        } else {
            r#"{"value":[{"connectionId":"c1"}],"nextLink":"https://gw.example/apim/api/hubs/hub1/groups/g/connections?maxpagesize=1&continuationToken=c1"}"#
        };
        Ok(response(200, Bytes::from(body)))
    });
    let options = WebPubSubServiceClientOptions {
        transport: Some(std::sync::Arc::new(capture.clone())),
        retry: RetryOptions::none(),
        ..Default::default()
    };
    let client = WebPubSubServiceClient::from_connection_string(
        &format!("Endpoint=https://gw.example/apim;AccessKey={KEY};Version=1.0;"),
        "hub1",
        Some(options),
    )
    .unwrap();
    let mut pages = client
        .list_connections_in_group(
            "g",
            Some(ListConnectionsOptions {
                max_page_size: Some(1),
                ..Default::default()
            }),
        )
        .by_page();
    let first = pages.try_next().await.unwrap().unwrap();
    assert_eq!(first.continuation_token.as_deref(), Some("c1"));
    let second = pages.try_next().await.unwrap().unwrap();
    assert_eq!(second.members[0].connection_id, "c2");
    assert_eq!(second.continuation_token, None);
    assert!(pages.try_next().await.unwrap().is_none());
    for request in capture.requests() {
        assert_eq!(
            request.uri.path(),
            "/apim/api/hubs/hub1/groups/g/connections"
        );
    }
    // Resuming from a token starts there.
    let resumed: Vec<GroupMember> = client
        .list_connections_in_group(
            "g",
            Some(ListConnectionsOptions {
                continuation_token: Some("c1".into()),
                ..Default::default()
            }),
        )
        .try_collect()
        .await
        .unwrap();
    assert_eq!(resumed.len(), 1);
    // A bodiless POST carries Content-Length: 0.
    let sends = success_capture();
    client_with(&sends)
        .close_all_connections(None)
        .await
        .unwrap();
    assert_eq!(sends.last().header("content-length"), Some("0"));
}
