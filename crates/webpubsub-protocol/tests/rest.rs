//! REST rendering: percent-encoding, repeated query keys, payloads and every validation rule.

use webpubsub_protocol::rest::*;
use webpubsub_protocol::validate::{ValidationError, ValidationRule, MAX_MESSAGE_BYTES};
use webpubsub_protocol::{ClientProtocol, ContentType, Payload};

const ORIGIN: &str = "http://localhost:8080";

fn target(hub: &str) -> Target<'_> {
    Target::new(hub)
}

#[test]
fn awkward_names_stay_one_segment() {
    let parts = AddUserToGroup {
        user_id: "a/b?c#d e".into(),
        group: "grüppe/1%".into(),
    }
    .render(target("hub"))
    .unwrap();
    assert_eq!(
        parts.path(),
        "/api/hubs/hub/users/a%2Fb%3Fc%23d%20e/groups/gr%C3%BCppe%2F1%25"
    );
    assert_eq!(
        parts.url(ORIGIN),
        format!(
            "http://localhost:8080{}?api-version=2024-12-01",
            parts.path()
        )
    );
    assert_eq!(parts.method, Method::PUT);
    assert!(parts.body.is_empty() && parts.content_type.is_none());
}

#[test]
fn arrays_repeat_their_key_and_api_version_is_last_and_overridable() {
    let parts = GenerateClientToken {
        user_id: Some("u 1".into()),
        roles: vec![
            "webpubsub.joinLeaveGroup".into(),
            "webpubsub.sendToGroup.g&1".into(),
        ],
        minutes_to_expire: 5,
        groups: vec!["g&1".into(), "g2".into()],
        client_type: ClientProtocol::Mqtt,
    }
    .render(Target {
        hub: "hub",
        api_version: "2024-01-01",
    })
    .unwrap();
    assert_eq!(
        parts.url("https://h"),
        "https://h/api/hubs/hub/:generateToken?userId=u%201&role=webpubsub.joinLeaveGroup\
         &role=webpubsub.sendToGroup.g%261&minutesToExpire=5&group=g%261&group=g2&clientType=MQTT&api-version=2024-01-01"
    );
    let close = CloseAllConnections {
        excluded: vec!["c1".into(), "c2".into()],
        reason: Some("bye now".into()),
    }
    .render(target("hub"))
    .unwrap();
    assert_eq!(close.url(ORIGIN), "http://localhost:8080/api/hubs/hub/:closeConnections?excluded=c1&excluded=c2&reason=bye%20now&api-version=2024-12-01");
}

#[test]
fn payloads_are_explicit() {
    let json = SendToAll {
        message: Payload::json("hi").unwrap(),
        excluded: vec![],
        filter: None,
        message_ttl_seconds: None,
    }
    .render(target("hub"))
    .unwrap();
    assert_eq!(json.body.as_ref(), br#""hi""#);
    assert_eq!(json.content_type, Some("application/json"));
    let text = SendToUser {
        user_id: "u".into(),
        message: "hi".into(),
        filter: None,
        message_ttl_seconds: Some(0),
    }
    .render(target("hub"))
    .unwrap();
    assert_eq!(text.body.as_ref(), b"hi");
    assert_eq!(text.content_type, Some("text/plain"));
    assert!(text.url(ORIGIN).contains("messageTtlSeconds=0"));
    let binary = SendToConnection {
        connection_id: "c".into(),
        message: vec![0u8, 159].into(),
        message_ttl_seconds: None,
    }
    .render(target("hub"))
    .unwrap();
    assert_eq!(binary.content_type, Some("application/octet-stream"));
    assert_eq!(binary.body.as_ref(), [0, 159]);
    assert_eq!(
        Payload::from(serde_json::json!({"a": 1})).body(),
        br#"{"a":1}"#
    );
    assert!(Payload::json_raw(br#"{"ok":true}"#.to_vec()).is_ok());
    assert_eq!(
        ContentType::from_header("APPLICATION/OCTET-STREAM"),
        Some(ContentType::Binary)
    );
}

fn rule_of(result: Result<HttpRequestParts, ValidationError>) -> (&'static str, ValidationRule) {
    let err = result.unwrap_err();
    (err.field(), err.rule().clone())
}

#[test]
fn every_rule_is_checked_before_sending() {
    use ValidationRule::*;
    let msg = || Payload::text("m");
    let group = |g: &str| SendToGroup {
        group: g.into(),
        message: msg(),
        excluded: vec![],
        filter: None,
        message_ttl_seconds: None,
    };
    assert_eq!(
        rule_of(group("g").render(target("1hub"))),
        ("hub", HubPattern)
    );
    assert_eq!(
        rule_of(group("").render(target("hub"))),
        ("group", NonEmpty)
    );
    assert_eq!(
        rule_of(group("  ").render(target("hub"))),
        ("group", NotBlank)
    );
    assert_eq!(
        rule_of(group(&"g".repeat(1025)).render(target("hub"))),
        ("group", MaxChars(1024))
    );
    let ttl = SendToAll {
        message: msg(),
        excluded: vec![],
        filter: None,
        message_ttl_seconds: Some(301),
    };
    assert_eq!(
        rule_of(ttl.render(target("hub"))),
        ("messageTtlSeconds", Range { min: 0, max: 300 })
    );
    let big = SendToAll {
        message: Payload::binary(vec![0; MAX_MESSAGE_BYTES + 1]),
        excluded: vec![],
        filter: None,
        message_ttl_seconds: None,
    };
    assert_eq!(
        rule_of(big.render(target("hub"))),
        ("message", MaxBytes(1024 * 1024))
    );
    let exact = SendToAll {
        message: Payload::binary(vec![0; MAX_MESSAGE_BYTES]),
        excluded: vec![],
        filter: None,
        message_ttl_seconds: None,
    };
    assert!(exact.render(target("hub")).is_ok());
    let excluded = SendToAll {
        message: msg(),
        excluded: vec!["".into()],
        filter: None,
        message_ttl_seconds: None,
    };
    assert_eq!(
        rule_of(excluded.render(target("hub"))),
        ("excluded", NonEmpty)
    );
    assert_eq!(
        rule_of(
            ConnectionExists {
                connection_id: "".into()
            }
            .render(target("hub"))
        ),
        ("connectionId", NonEmpty)
    );
    assert_eq!(
        rule_of(UserExists { user_id: "".into() }.render(target("hub"))),
        ("userId", NonEmpty)
    );
    let list = |size, top| ListConnectionsInGroup {
        group: "g".into(),
        max_page_size: size,
        top,
        continuation_token: None,
    };
    assert_eq!(
        rule_of(list(Some(0), None).render(target("hub"))),
        ("maxpagesize", Range { min: 1, max: 200 })
    );
    assert_eq!(
        rule_of(list(Some(201), None).render(target("hub"))),
        ("maxpagesize", Range { min: 1, max: 200 })
    );
    assert_eq!(
        rule_of(list(None, Some(0)).render(target("hub"))),
        (
            "top",
            Range {
                min: 1,
                max: i32::MAX as u64
            }
        )
    );
    assert!(list(Some(200), Some(1)).render(target("hub")).is_ok());
    let token = GenerateClientToken {
        minutes_to_expire: 0,
        ..Default::default()
    };
    assert_eq!(
        rule_of(token.render(target("hub"))),
        (
            "minutesToExpire",
            Range {
                min: 1,
                max: i32::MAX as u64
            }
        )
    );
    let grant = GrantPermission {
        permission: Permission::SendToGroup,
        connection_id: "c".into(),
        target_name: Some("".into()),
    };
    assert_eq!(
        rule_of(grant.render(target("hub"))),
        ("targetName", NonEmpty)
    );
    assert_eq!(
        Permission::parse("admin").unwrap_err().rule(),
        &OneOf(&["sendToGroup", "joinLeaveGroup"])
    );
    assert_eq!(
        Permission::parse("SENDTOGROUP").unwrap(),
        Permission::SendToGroup
    );
    let add = AddConnectionsToGroups(GroupsFilterBody {
        groups: vec![],
        filter: None,
    });
    assert_eq!(
        rule_of(add.render(target("hub"))),
        ("groupsToAdd", NonEmpty)
    );
    let remove = RemoveConnectionsFromGroups(GroupsFilterBody {
        groups: vec![" ".into()],
        filter: None,
    });
    assert_eq!(
        rule_of(remove.render(target("hub"))),
        ("groupsToRemove", NotBlank)
    );
    assert!(Payload::json_raw(b"{".to_vec()).is_err());
}

#[test]
fn operation_table_is_complete() {
    assert_eq!(OperationId::all().count(), 25);
    assert_eq!(
        OperationId::SendToAll.success_status(),
        StatusCode::ACCEPTED
    );
    assert_eq!(
        OperationId::CloseConnection.success_status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(OperationId::AddUserToGroup.success_status(), StatusCode::OK);
    assert!(OperationId::GroupExists.is_success(StatusCode::OK));
    assert!(!OperationId::SendToAll.is_success(StatusCode::OK));
    let health = GetServiceStatus
        .render(target("ignored-for-health"))
        .unwrap();
    assert_eq!(
        health.url(ORIGIN),
        "http://localhost:8080/api/health?api-version=2024-12-01"
    );
    assert_eq!(health.method, Method::HEAD);
}

/// Renders a request and parses it back as a server would: the table drives both directions.
fn round_trip(request: RestRequest, render: HttpRequestParts) {
    let parsed = RestRequest::parse(IncomingRequest {
        method: &render.method,
        path: render.path(),
        query: render.query(),
        content_type: render.content_type,
        body: render.body.clone(),
    })
    .unwrap_or_else(|e| panic!("{}: {e}", render.path_and_query));
    assert_eq!(parsed.request, request, "{}", render.path_and_query);
    assert_eq!(parsed.api_version.as_deref(), Some(API_VERSION));
    if request.operation() != OperationId::GetServiceStatus {
        assert_eq!(parsed.hub.as_deref(), Some("hub"));
    }
}

macro_rules! round_trips {
    ($($variant:ident($value:expr)),* $(,)?) => {{
        let mut seen = Vec::new();
        $(
            let value = $value;
            round_trip(RestRequest::$variant(value.clone()), value.render(target("hub")).unwrap());
            seen.push(OperationId::$variant);
        )*
        seen
    }};
}

#[test]
fn every_operation_parses_back_to_what_was_rendered() {
    use webpubsub_protocol::filter::Filter;
    let group = || "g/1 é".to_owned();
    let filter = Some(Filter::user_id().eq("a'b").and(Filter::in_groups("x")));
    let seen = round_trips!(
        GetServiceStatus(GetServiceStatus),
        SendToAll(SendToAll {
            message: Payload::json(&[1, 2]).unwrap(),
            excluded: vec!["c 1".into(), "c2".into()],
            filter: filter.clone(),
            message_ttl_seconds: Some(30)
        }),
        SendToUser(SendToUser {
            user_id: "u/1".into(),
            message: Payload::text("hi"),
            filter: filter.clone(),
            message_ttl_seconds: None
        }),
        SendToGroup(SendToGroup {
            group: group(),
            message: Payload::binary(vec![0, 1]),
            excluded: vec![],
            filter: None,
            message_ttl_seconds: Some(0)
        }),
        SendToConnection(SendToConnection {
            connection_id: "c".into(),
            message: Payload::text(""),
            message_ttl_seconds: None
        }),
        CloseAllConnections(CloseAllConnections {
            excluded: vec!["a".into()],
            reason: Some("bye now".into())
        }),
        CloseGroupConnections(CloseGroupConnections {
            group: group(),
            excluded: vec![],
            reason: None
        }),
        CloseUserConnections(CloseUserConnections {
            user_id: "u".into(),
            excluded: vec!["x".into()],
            reason: Some("r".into())
        }),
        CloseConnection(CloseConnection {
            connection_id: "c?1".into(),
            reason: Some("r".into())
        }),
        ConnectionExists(ConnectionExists {
            connection_id: "c".into()
        }),
        GroupExists(GroupExists { group: group() }),
        UserExists(UserExists {
            user_id: "u".into()
        }),
        AddConnectionToGroup(AddConnectionToGroup {
            group: group(),
            connection_id: "c".into()
        }),
        RemoveConnectionFromGroup(RemoveConnectionFromGroup {
            group: group(),
            connection_id: "c".into()
        }),
        RemoveConnectionFromAllGroups(RemoveConnectionFromAllGroups {
            connection_id: "c".into()
        }),
        AddUserToGroup(AddUserToGroup {
            user_id: "u".into(),
            group: group()
        }),
        RemoveUserFromGroup(RemoveUserFromGroup {
            user_id: "u".into(),
            group: group()
        }),
        RemoveUserFromAllGroups(RemoveUserFromAllGroups {
            user_id: "u".into()
        }),
        AddConnectionsToGroups(AddConnectionsToGroups(GroupsFilterBody {
            groups: vec![group()],
            filter: filter.clone()
        })),
        RemoveConnectionsFromGroups(RemoveConnectionsFromGroups(GroupsFilterBody {
            groups: vec!["a".into()],
            filter: None
        })),
        GrantPermission(GrantPermission {
            permission: Permission::SendToGroup,
            connection_id: "c".into(),
            target_name: Some(group())
        }),
        RevokePermission(RevokePermission {
            permission: Permission::JoinLeaveGroup,
            connection_id: "c".into(),
            target_name: None
        }),
        CheckPermission(CheckPermission {
            permission: Permission::SendToGroup,
            connection_id: "c".into(),
            target_name: None
        }),
        ListConnectionsInGroup(ListConnectionsInGroup {
            group: group(),
            max_page_size: Some(2),
            top: Some(5),
            continuation_token: Some("t 1".into())
        }),
        GenerateClientToken(GenerateClientToken {
            user_id: Some("u".into()),
            roles: vec!["webpubsub.joinLeaveGroup".into()],
            minutes_to_expire: 5,
            groups: vec![group()],
            client_type: ClientProtocol::Mqtt
        }),
    );
    let mut all: Vec<_> = OperationId::all().collect();
    all.sort_by_key(|id| id.as_str());
    seen.clone().sort_by_key(|id| id.as_str());
    let mut seen = seen;
    seen.sort_by_key(|id| id.as_str());
    assert_eq!(seen, all);
}

#[test]
fn routing_answers_like_the_service() {
    assert_eq!(
        route(&Method::GET, "/api/nothing").unwrap_err(),
        RouteError::NotFound
    );
    assert_eq!(
        route(&Method::GET, "/api/hubs/h/:send").unwrap_err(),
        RouteError::MethodNotAllowed
    );
    assert_eq!(
        route(&Method::GET, "/api/health").unwrap().0,
        OperationId::GetServiceStatus
    );
    assert_eq!(
        route(&Method::POST, "/api/hubs/h/groups/%ZZ/:send").unwrap_err(),
        RouteError::BadPath
    );
    let bad = |method: &Method, path: &str, query: Option<&str>, content_type: Option<&str>| {
        RestRequest::parse(IncomingRequest {
            method,
            path,
            query,
            content_type,
            body: "x".into(),
        })
        .unwrap_err()
        .status()
        .as_u16()
    };
    assert_eq!(
        bad(&Method::POST, "/api/hubs/h/:send", None, Some("image/png")),
        415
    );
    assert_eq!(
        bad(
            &Method::POST,
            "/api/hubs/h/:send",
            None,
            Some("application/json")
        ),
        400
    );
    assert_eq!(
        bad(
            &Method::POST,
            "/api/hubs/h/:send",
            Some("filter=userId%20eq"),
            Some("text/plain")
        ),
        400
    );
    assert_eq!(
        bad(
            &Method::POST,
            "/api/hubs/h/:send",
            Some("messageTtlSeconds=301"),
            Some("text/plain")
        ),
        400
    );
    assert_eq!(
        bad(
            &Method::POST,
            "/api/hubs/1h/:send",
            None,
            Some("text/plain")
        ),
        400
    );
    assert_eq!(
        bad(
            &Method::PUT,
            "/api/hubs/h/groups/%20/connections/c",
            None,
            None
        ),
        400
    );
    assert_eq!(
        bad(
            &Method::PUT,
            "/api/hubs/h/permissions/admin/connections/c",
            None,
            None
        ),
        400
    );
}
