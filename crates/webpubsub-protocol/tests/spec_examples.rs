//! Every example of the official 2024-12-01 spec renders to the spec's method, path and query.
//!
//! The spec lives in the project's shared reference folder (`../shared/spec` beside the
//! repository, or `$WEBPUBSUB_SPEC_DIR`). Without it the test is skipped with a printed reason,
//! unless `WEBPUBSUB_REQUIRE_INTEROP=1` (set by `cargo xtask test`).

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::PathBuf;

use serde_json::Value;
use webpubsub_protocol::encoding::{parse_query, percent_encode};
use webpubsub_protocol::filter::Filter;
use webpubsub_protocol::rest::*;
use webpubsub_protocol::{ClientProtocol, Payload};

const ENDPOINT: &str = "https://contoso.webpubsub.azure.com";

fn spec_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("WEBPUBSUB_SPEC_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../../shared/spec/webpubsub/2024-12-01")
        });
    if dir.join("webpubsub.json").exists() {
        return Some(dir);
    }
    let required = std::env::var("WEBPUBSUB_REQUIRE_INTEROP").is_ok_and(|v| v == "1");
    assert!(!required, "the REST spec is missing at {}", dir.display());
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED spec examples: no spec at {}",
        dir.display()
    );
    None
}

fn read_json(path: &PathBuf) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn s(params: &Value, name: &str) -> String {
    params[name]
        .as_str()
        .unwrap_or_else(|| panic!("example lacks {name}"))
        .to_owned()
}

fn opt(params: &Value, name: &str) -> Option<String> {
    params[name].as_str().map(str::to_owned)
}

fn n(params: &Value, name: &str) -> Option<u32> {
    params[name].as_u64().map(|v| v as u32)
}

fn strings(params: &Value, name: &str) -> Vec<String> {
    params[name]
        .as_array()
        .map(|a| a.iter().map(|v| v.as_str().unwrap().to_owned()).collect())
        .unwrap_or_default()
}

fn groups_body(params: &Value, name: &str) -> GroupsFilterBody {
    serde_json::from_value(params[name].clone()).unwrap()
}

/// Builds our typed request from an example's parameters and renders it.
fn render(operation_id: &str, p: &Value) -> HttpRequestParts {
    let hub = p["hub"].as_str().unwrap_or("unused");
    let target = Target {
        hub,
        api_version: p["api-version"].as_str().unwrap(),
    };
    let message = || Payload::text(s(p, "message"));
    let permission = || Permission::parse(&s(p, "permission")).unwrap();
    let result = match operation_id {
        "HealthApi_GetServiceStatus" => GetServiceStatus.render(target),
        "WebPubSub_AddConnectionsToGroups" => {
            AddConnectionsToGroups(groups_body(p, "groupsToAdd")).render(target)
        }
        "WebPubSub_RemoveConnectionsFromGroups" => {
            RemoveConnectionsFromGroups(groups_body(p, "groupsToRemove")).render(target)
        }
        "WebPubSub_CloseAllConnections" => CloseAllConnections {
            excluded: strings(p, "excluded"),
            reason: opt(p, "reason"),
        }
        .render(target),
        "WebPubSub_GenerateClientToken" => GenerateClientToken {
            user_id: opt(p, "userId"),
            roles: strings(p, "role"),
            minutes_to_expire: n(p, "minutesToExpire").unwrap_or(60),
            groups: strings(p, "group"),
            client_type: match p["clientType"].as_str() {
                Some("MQTT") => ClientProtocol::Mqtt,
                Some("SocketIO") => ClientProtocol::SocketIo,
                _ => ClientProtocol::Default,
            },
        }
        .render(target),
        "WebPubSub_SendToAll" => SendToAll {
            message: message(),
            excluded: strings(p, "excluded"),
            filter: opt(p, "filter").map(|f| Filter::parse(&f).unwrap()),
            message_ttl_seconds: n(p, "messageTtlSeconds"),
        }
        .render(target),
        "WebPubSub_SendToUser" => SendToUser {
            user_id: s(p, "userId"),
            message: message(),
            filter: opt(p, "filter").map(|f| Filter::parse(&f).unwrap()),
            message_ttl_seconds: n(p, "messageTtlSeconds"),
        }
        .render(target),
        "WebPubSub_SendToGroup" => SendToGroup {
            group: s(p, "group"),
            message: message(),
            excluded: strings(p, "excluded"),
            filter: opt(p, "filter").map(|f| Filter::parse(&f).unwrap()),
            message_ttl_seconds: n(p, "messageTtlSeconds"),
        }
        .render(target),
        "WebPubSub_SendToConnection" => SendToConnection {
            connection_id: s(p, "connectionId"),
            message: message(),
            message_ttl_seconds: n(p, "messageTtlSeconds"),
        }
        .render(target),
        "WebPubSub_CloseConnection" => CloseConnection {
            connection_id: s(p, "connectionId"),
            reason: opt(p, "reason"),
        }
        .render(target),
        "WebPubSub_CloseGroupConnections" => CloseGroupConnections {
            group: s(p, "group"),
            excluded: strings(p, "excluded"),
            reason: opt(p, "reason"),
        }
        .render(target),
        "WebPubSub_CloseUserConnections" => CloseUserConnections {
            user_id: s(p, "userId"),
            excluded: strings(p, "excluded"),
            reason: opt(p, "reason"),
        }
        .render(target),
        "WebPubSub_ConnectionExists" => ConnectionExists {
            connection_id: s(p, "connectionId"),
        }
        .render(target),
        "WebPubSub_GroupExists" => GroupExists {
            group: s(p, "group"),
        }
        .render(target),
        "WebPubSub_UserExists" => UserExists {
            user_id: s(p, "userId"),
        }
        .render(target),
        "WebPubSub_RemoveConnectionFromAllGroups" => RemoveConnectionFromAllGroups {
            connection_id: s(p, "connectionId"),
        }
        .render(target),
        "WebPubSub_RemoveUserFromAllGroups" => RemoveUserFromAllGroups {
            user_id: s(p, "userId"),
        }
        .render(target),
        "WebPubSub_AddConnectionToGroup" => AddConnectionToGroup {
            group: s(p, "group"),
            connection_id: s(p, "connectionId"),
        }
        .render(target),
        "WebPubSub_RemoveConnectionFromGroup" => RemoveConnectionFromGroup {
            group: s(p, "group"),
            connection_id: s(p, "connectionId"),
        }
        .render(target),
        "WebPubSub_AddUserToGroup" => AddUserToGroup {
            user_id: s(p, "userId"),
            group: s(p, "group"),
        }
        .render(target),
        "WebPubSub_RemoveUserFromGroup" => RemoveUserFromGroup {
            user_id: s(p, "userId"),
            group: s(p, "group"),
        }
        .render(target),
        "WebPubSub_GrantPermission" => GrantPermission {
            permission: permission(),
            connection_id: s(p, "connectionId"),
            target_name: opt(p, "targetName"),
        }
        .render(target),
        "WebPubSub_RevokePermission" => RevokePermission {
            permission: permission(),
            connection_id: s(p, "connectionId"),
            target_name: opt(p, "targetName"),
        }
        .render(target),
        "WebPubSub_CheckPermission" => CheckPermission {
            permission: permission(),
            connection_id: s(p, "connectionId"),
            target_name: opt(p, "targetName"),
        }
        .render(target),
        "WebPubSub_ListConnectionsInGroup" => ListConnectionsInGroup {
            group: s(p, "group"),
            max_page_size: n(p, "maxpagesize"),
            top: n(p, "top"),
            continuation_token: opt(p, "continuationToken"),
        }
        .render(target),
        other => panic!("no typed request for {other}"),
    };
    result.unwrap_or_else(|e| panic!("{operation_id}: {e}"))
}

fn query_value(value: &Value) -> Vec<String> {
    match value {
        Value::Array(items) => items.iter().flat_map(query_value).collect(),
        Value::String(s) => vec![s.clone()],
        other => vec![other.to_string()],
    }
}

#[test]
fn every_spec_example_renders_to_the_spec_request() {
    let Some(dir) = spec_dir() else { return };
    let spec = read_json(&dir.join("webpubsub.json"));
    let mut seen = Vec::new();
    for (template, operations) in spec["paths"].as_object().unwrap() {
        for (method, op) in operations.as_object().unwrap() {
            let operation_id = op["operationId"].as_str().unwrap();
            seen.push(operation_id.to_owned());
            let ours = OperationId::all()
                .find(|o| o.as_str() == operation_id)
                .unwrap_or_else(|| panic!("{operation_id} is in the spec but not in OperationId"));
            assert_eq!(
                ours.method().as_str(),
                method.to_uppercase(),
                "{operation_id}"
            );
            assert_eq!(ours.path_template(), template, "{operation_id}");
            let declared: Vec<u16> = op["responses"]
                .as_object()
                .unwrap()
                .keys()
                .filter_map(|k| k.parse().ok())
                .filter(|c: &u16| *c < 300)
                .collect();
            assert!(
                declared.contains(&ours.success_status().as_u16()),
                "{operation_id}: {declared:?}"
            );

            let parameters = op["parameters"].as_array().unwrap();
            let in_location = |location: &str| -> Vec<String> {
                parameters
                    .iter()
                    .filter(|p| p["in"] == location)
                    .map(|p| p["name"].as_str().unwrap().to_owned())
                    .collect()
            };
            for example_ref in op["x-ms-examples"].as_object().unwrap().values() {
                let file = dir.join(example_ref["$ref"].as_str().unwrap());
                let params = &read_json(&file)["parameters"];
                let rendered = render(operation_id, params);

                let mut expected_path = template.clone();
                for name in in_location("path") {
                    let value = params[&name].as_str().unwrap();
                    expected_path =
                        expected_path.replace(&format!("{{{name}}}"), &percent_encode(value));
                }
                assert_eq!(rendered.path(), expected_path, "{}", file.display());
                assert_eq!(rendered.method, ours.method());
                assert_eq!(rendered.operation, ours);

                let mut expected_query: BTreeMap<String, Vec<String>> = BTreeMap::new();
                for name in in_location("query") {
                    if let Some(value) = params.get(&name) {
                        expected_query
                            .entry(name)
                            .or_default()
                            .extend(query_value(value));
                    }
                }
                let mut actual_query: BTreeMap<String, Vec<String>> = BTreeMap::new();
                for (key, value) in &rendered.query_pairs() {
                    actual_query
                        .entry(key.clone())
                        .or_default()
                        .push(value.clone());
                }
                assert_eq!(actual_query, expected_query, "{}", file.display());
                let decoded: Vec<(String, String)> = parse_query(rendered.query().unwrap());
                assert_eq!(
                    decoded,
                    rendered.query_pairs(),
                    "the URL's query decodes to the pairs"
                );
                assert_eq!(
                    rendered.url(ENDPOINT),
                    format!(
                        "{ENDPOINT}{}?{}",
                        rendered.path(),
                        rendered.query().unwrap()
                    )
                );
                // ... and parses back to the same operation, as the emulator routes it.
                let parsed = RestRequest::parse(IncomingRequest {
                    method: &rendered.method,
                    path: rendered.path(),
                    query: rendered.query(),
                    content_type: rendered.content_type,
                    body: rendered.body.clone(),
                })
                .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
                assert_eq!(parsed.request.operation(), ours);

                for body_param in parameters.iter().filter(|p| p["in"] == "body") {
                    let name = body_param["name"].as_str().unwrap();
                    let example_body = &params[name];
                    if name == "message" {
                        assert_eq!(rendered.body, example_body.as_str().unwrap().as_bytes());
                        assert_eq!(rendered.content_type, Some("text/plain"));
                    } else {
                        let ours: Value = serde_json::from_slice(&rendered.body).unwrap();
                        assert_eq!(&ours, example_body, "{}", file.display());
                        assert_eq!(rendered.content_type, Some("application/json"));
                    }
                }
            }
        }
    }
    seen.sort();
    let mut ours: Vec<String> = OperationId::all().map(|o| o.as_str().to_owned()).collect();
    ours.sort();
    assert_eq!(
        seen, ours,
        "the spec and the operation table list the same operations"
    );
    assert_eq!(ours.len(), 25);
}
