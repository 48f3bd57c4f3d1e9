//! REST rendering: percent-encoding, repeated query keys, payloads and every validation rule.

use webpubsub_protocol::*;

fn target(hub: &str) -> Target<'_> {
    Target::new("http://localhost:8080/", hub)
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
        parts.url,
        format!(
            "http://localhost:8080{}?api-version=2024-12-01",
            parts.path()
        )
    );
    assert_eq!(parts.method, Method::Put);
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
        client_type: ClientType::SocketIo,
    }
    .render(Target {
        endpoint: "https://h",
        hub: "hub",
        api_version: "2024-01-01",
    })
    .unwrap();
    assert_eq!(
        parts.url,
        "https://h/api/hubs/hub/:generateToken?userId=u%201&role=webpubsub.joinLeaveGroup\
         &role=webpubsub.sendToGroup.g%261&minutesToExpire=5&group=g%261&group=g2&clientType=SocketIO&api-version=2024-01-01"
    );
    let close = CloseAllConnections {
        excluded: vec!["c1".into(), "c2".into()],
        reason: Some("bye now".into()),
    }
    .render(target("hub"))
    .unwrap();
    assert_eq!(close.url, "http://localhost:8080/api/hubs/hub/:closeConnections?excluded=c1&excluded=c2&reason=bye%20now&api-version=2024-12-01");
}

#[test]
fn payloads_are_explicit() {
    let json = SendToAll {
        message: Message::json("hi").unwrap(),
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
    assert!(text.url.contains("messageTtlSeconds=0"));
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
        Message::from(serde_json::json!({"a": 1})).body(),
        br#"{"a":1}"#
    );
    assert!(Message::json_raw(br#"{"ok":true}"#.to_vec()).is_ok());
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
    let msg = || Message::text("m");
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
        message: Message::binary(vec![0; MAX_MESSAGE_BYTES + 1]),
        excluded: vec![],
        filter: None,
        message_ttl_seconds: None,
    };
    assert_eq!(
        rule_of(big.render(target("hub"))),
        ("message", MaxBytes(1024 * 1024))
    );
    let exact = SendToAll {
        message: Message::binary(vec![0; MAX_MESSAGE_BYTES]),
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
    let filter = SendToAll {
        message: msg(),
        excluded: vec![],
        filter: Some(" ".into()),
        message_ttl_seconds: None,
    };
    assert_eq!(rule_of(filter.render(target("hub"))), ("filter", NotBlank));
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
    assert!(Message::json_raw(b"{".to_vec()).is_err());
}

#[test]
fn operation_table_is_complete() {
    assert_eq!(OperationId::ALL.len(), 25);
    assert_eq!(OperationId::SendToAll.success_status(), 202);
    assert_eq!(OperationId::CloseConnection.success_status(), 204);
    assert_eq!(OperationId::AddUserToGroup.success_status(), 200);
    assert!(Method::Delete.is_idempotent() && !Method::Post.is_idempotent());
    let health = GetServiceStatus
        .render(target("ignored-for-health"))
        .unwrap();
    assert_eq!(
        health.url,
        "http://localhost:8080/api/health?api-version=2024-12-01"
    );
    assert_eq!(health.method, Method::Head);
}
