//! Interop with the official Python SDK (`azure-messaging-webpubsubservice` 1.3.0).
//!
//! For the same inputs, Python's `get_client_access_token` and ours must carry the same claims,
//! and each side must verify the other's tokens. The Python interpreter is `$WEBPUBSUB_TEST_PYTHON`
//! (set by `cargo xtask test`, which installs the packages into a virtual environment) or
//! `python3`. Without the package the test is skipped with a printed reason, unless
//! `WEBPUBSUB_REQUIRE_INTEROP=1` (set by `cargo xtask test`), in which case it fails.

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use webpubsub_auth::{
    AccessKey, ClientAccessTokenOptions, ClientProtocol, ConnectionString, Role, TokenValidator,
};

const PYTHON_SCRIPT: &str = r#"
import json, sys
import jwt
from azure.messaging.webpubsubservice import WebPubSubServiceClient

request = json.load(sys.stdin)
out = {"minted": [], "verified": []}
for case in request["mint"]:
    client = WebPubSubServiceClient.from_connection_string(case["connection_string"], hub=case["hub"])
    kwargs = {"minutes_to_expire": case["minutes"], "client_protocol": case["protocol"]}
    if case["user_id"] is not None:
        kwargs["user_id"] = case["user_id"]
    if case["roles"]:
        kwargs["roles"] = case["roles"]
    if case["groups"]:
        kwargs["groups"] = case["groups"]
    if case["jwt_headers"]:
        kwargs["jwt_headers"] = case["jwt_headers"]
    result = client.get_client_access_token(**kwargs)
    out["minted"].append({"token": result["token"], "url": result["url"], "baseUrl": result["baseUrl"]})
for item in request["verify"]:
    try:
        claims = jwt.decode(item["token"], item["key"], algorithms=["HS256"], audience=item["audience"])
        out["verified"].append({"ok": True, "claims": claims, "header": jwt.get_unverified_header(item["token"])})
    except Exception as error:
        out["verified"].append({"ok": False, "error": type(error).__name__})
print(json.dumps(out))
"#;

struct Case {
    connection_string: &'static str,
    hub: &'static str,
    user_id: Option<&'static str>,
    roles: Vec<Role>,
    groups: Vec<&'static str>,
    minutes: u64,
    protocol: ClientProtocol,
    kid: Option<&'static str>,
    audience: &'static str,
    base_url: &'static str,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            connection_string: "Endpoint=http://localhost;Port=8080;AccessKey=ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ABCDEFGH;Version=1.0;",
            hub: "hub",
            user_id: None,
            roles: vec![],
            groups: vec![],
            minutes: 5,
            protocol: ClientProtocol::Default,
            kid: None,
            audience: "http://localhost:8080/client/hubs/hub",
            base_url: "ws://localhost:8080/client/hubs/hub",
        },
        Case {
            connection_string: "Endpoint=https://contoso.webpubsub.azure.com;AccessKey=c2VjcmV0LWtleQ==;Version=1.0;",
            hub: "Hub1",
            user_id: Some("ab"),
            roles: vec![Role::join_leave_group(), Role::send_to_group_named("g 1/x")],
            groups: vec!["g 1/x", "g2"],
            minutes: 60,
            protocol: ClientProtocol::Mqtt,
            kid: Some("1234567890"),
            audience: "https://contoso.webpubsub.azure.com/clients/mqtt/hubs/Hub1",
            base_url: "wss://contoso.webpubsub.azure.com/clients/mqtt/hubs/Hub1",
        },
        Case {
            connection_string: "Endpoint=https://contoso.webpubsub.azure.com;AccessKey=k;",
            hub: "chat",
            user_id: Some("ünïcode user"),
            roles: vec![Role::send_to_group()],
            groups: vec![],
            minutes: 1,
            protocol: ClientProtocol::SocketIo,
            kid: None,
            audience: "https://contoso.webpubsub.azure.com/clients/socketio/hubs/chat",
            base_url: "wss://contoso.webpubsub.azure.com/clients/socketio/hubs/chat",
        },
    ]
}

fn protocol_name(protocol: ClientProtocol) -> &'static str {
    match protocol {
        ClientProtocol::Default => "default",
        ClientProtocol::Mqtt => "mqtt",
        ClientProtocol::SocketIo => "socketio",
    }
}

fn options(case: &Case) -> ClientAccessTokenOptions {
    let mut options = ClientAccessTokenOptions::default()
        .expires_after(Duration::from_secs(case.minutes * 60))
        .protocol(case.protocol);
    options.user_id = case.user_id.map(str::to_owned);
    options.roles = case.roles.clone();
    options.groups = case.groups.iter().map(|g| g.to_string()).collect();
    if let Some(kid) = case.kid {
        options = options.header("kid", kid);
    }
    options
}

fn run_python(python: &str, request: &Value) -> Value {
    let mut child = Command::new(python)
        .args(["-c", PYTHON_SCRIPT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python starts");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(request.to_string().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("python prints JSON")
}

#[test]
fn python_sdk_and_this_crate_mint_the_same_tokens_and_verify_each_other() {
    let Some(python) = webpubsub_testkit::python_with(&["jwt", "azure.messaging.webpubsubservice"])
    else {
        return;
    };
    let cases = cases();
    let now = SystemTime::now();

    let ours: Vec<_> = cases
        .iter()
        .map(|case| {
            let cs: ConnectionString = case.connection_string.parse().unwrap();
            cs.client_access_token(case.hub, &options(case)).unwrap()
        })
        .collect();

    let mut verify = Vec::new();
    for (case, token) in cases.iter().zip(&ours) {
        let cs: ConnectionString = case.connection_string.parse().unwrap();
        let key = cs.access_key().expose();
        verify.push(json!({"token": token.token, "key": key, "audience": case.audience}));
    }
    // A control: a token signed with another key must fail in PyJWT, so "ok" above means something.
    let forged = ConnectionString::new(
        "https://contoso.webpubsub.azure.com".parse().unwrap(),
        AccessKey::new("attacker"),
    )
    .client_access_token("chat", &ClientAccessTokenOptions::default())
    .unwrap();
    verify.push(json!({"token": forged.token, "key": "k", "audience": "https://contoso.webpubsub.azure.com/client/hubs/chat"}));

    let request = json!({
        "mint": cases.iter().map(|case| json!({
            "connection_string": case.connection_string,
            "hub": case.hub,
            "user_id": case.user_id,
            "roles": case.roles.iter().map(Role::as_str).collect::<Vec<_>>(),
            "groups": case.groups,
            "minutes": case.minutes,
            "protocol": protocol_name(case.protocol),
            "jwt_headers": case.kid.map(|kid| json!({"kid": kid})),
        })).collect::<Vec<_>>(),
        "verify": verify,
    });
    let response = run_python(&python, &request);

    // Python verifies ours, with the same claims we put in.
    let verified = response["verified"].as_array().unwrap();
    assert_eq!(verified.len(), cases.len() + 1);
    for ((case, token), result) in cases.iter().zip(&ours).zip(verified) {
        assert_eq!(
            result["ok"], true,
            "PyJWT rejected our token for {}: {result}",
            case.hub
        );
        let claims = &result["claims"];
        assert_eq!(claims["aud"], case.audience);
        assert_eq!(claims["sub"], json!(case.user_id));
        assert_eq!(
            claims["exp"].as_u64().unwrap(),
            token
                .expires_at
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_secs()
        );
        assert_eq!(result["header"]["kid"], json!(case.kid));
        assert_eq!(result["header"]["alg"], "HS256");
    }
    assert_eq!(
        verified[cases.len()]["ok"],
        false,
        "PyJWT accepted a forged token"
    );

    // We verify Python's, and the claims match ours claim for claim.
    let minted = response["minted"].as_array().unwrap();
    for ((case, token), python_token) in cases.iter().zip(&ours).zip(minted) {
        let cs: ConnectionString = case.connection_string.parse().unwrap();
        let validator = TokenValidator::new([cs.access_key().clone()]);
        let theirs = validator
            .verify(
                python_token["token"].as_str().unwrap(),
                |aud| aud == case.audience,
                now,
            )
            .unwrap_or_else(|e| panic!("we rejected Python's token for {}: {e}", case.hub));
        let mine = validator
            .verify(&token.token, |aud| aud == case.audience, now)
            .unwrap();
        assert_eq!(theirs.claims.audiences, mine.claims.audiences);
        assert_eq!(theirs.claims.subject, mine.claims.subject);
        assert_eq!(theirs.claims.roles, mine.claims.roles);
        assert_eq!(theirs.claims.groups, mine.claims.groups);
        assert_eq!(
            theirs.claims.other, mine.claims.other,
            "unexpected extra claims"
        );
        assert_eq!(theirs.claims.not_before, None);
        let lifetime = |c: &webpubsub_auth::Claims| c.expires_at.unwrap() - c.issued_at.unwrap();
        assert_eq!(lifetime(&theirs.claims), lifetime(&mine.claims));
        assert!(
            theirs
                .claims
                .issued_at
                .unwrap()
                .abs_diff(mine.claims.issued_at.unwrap())
                <= 60
        );
        assert_eq!(theirs.header.key_id.as_deref(), case.kid);
        assert_eq!(python_token["baseUrl"], case.base_url);
        assert_eq!(token.base_url, case.base_url);
        assert_eq!(
            python_token["url"],
            format!(
                "{}?access_token={}",
                case.base_url,
                python_token["token"].as_str().unwrap()
            )
        );
    }
}
