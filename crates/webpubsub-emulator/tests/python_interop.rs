//! The official Python packages against the emulator: the service SDK
//! (`azure-messaging-webpubsubservice` 1.3.0) performs its operations, and the WebSocket client
//! (`azure-messaging-webpubsubclient` 1.1.0, reliable JSON protocol) connects with a token from the
//! Python SDK and one from ours, joins a group, sends, and receives what REST sent.
//!
//! The interpreter is `$WEBPUBSUB_TEST_PYTHON` (set by `cargo xtask test`) or `python3`; without
//! the packages the test is skipped with a printed reason, unless `WEBPUBSUB_REQUIRE_INTEROP=1`.

mod common;

use std::process::Command;

use serde_json::Value;
use webpubsub::{ClientAccessTokenOptions, Role, WebPubSubServiceClient};
use webpubsub_emulator::Emulator;

const SCRIPT: &str = r#"
import json, sys, threading, time
from azure.messaging.webpubsubservice import WebPubSubServiceClient
from azure.messaging.webpubsubclient import WebPubSubClient
from azure.messaging.webpubsubclient.models import CallbackType, WebPubSubDataType

cs, rust_url = sys.argv[1], sys.argv[2]
service = WebPubSubServiceClient.from_connection_string(cs, hub="pyhub", retry_total=0)
python_url = service.get_client_access_token(user_id="py-user", roles=["webpubsub.joinLeaveGroup", "webpubsub.sendToGroup.room"])["url"]
report = {}

for label, url in [("python_token", python_url), ("rust_token", rust_url)]:
    received, connected, lock = [], [], threading.Lock()
    # open() notifies a condition variable it may not be waiting on yet (a lost wakeup of the
    # client's own, racing the upgrade on loopback); it then sits out start_timeout and goes on.
    client = WebPubSubClient(url, start_timeout=5)
    client.subscribe(CallbackType.CONNECTED, lambda e: connected.append((e.connection_id, e.user_id)))
    def on_group(e):
        with lock:
            received.append({"kind": "group", "group": e.group, "data": e.data, "from": e.from_user_id})
    def on_server(e):
        with lock:
            received.append({"kind": "server", "data": e.data if isinstance(e.data, (str, dict, list)) else e.data.hex()})
    client.subscribe(CallbackType.GROUP_MESSAGE, on_group)
    client.subscribe(CallbackType.SERVER_MESSAGE, on_server)
    client.open()
    deadline = time.time() + 10
    while not connected and time.time() < deadline:
        time.sleep(0.02)
    connection_id, user_id = connected[0]
    client.join_group("room")
    service.send_to_all("rest-text", content_type="text/plain")
    service.send_to_group("room", {"k": 1})
    service.send_to_connection(connection_id, b"\x01\x02", content_type="application/octet-stream")
    client.send_to_group("room", "from-client", WebPubSubDataType.TEXT)
    deadline = time.time() + 10
    while time.time() < deadline and len(received) < 4:
        time.sleep(0.05)
    ops = {
        "connection_exists": service.connection_exists(connection_id),
        "user_exists": service.user_exists(user_id),
        "group_exists": service.group_exists("room"),
        "missing_connection": service.connection_exists("nobody"),
    }
    service.grant_permission("sendToGroup", connection_id, target_name="other")
    ops["has_permission"] = service.has_permission("sendToGroup", connection_id, target_name="other")
    service.revoke_permission("sendToGroup", connection_id, target_name="other")
    ops["revoked"] = service.has_permission("sendToGroup", connection_id, target_name="other")
    ops["members"] = [m.connection_id for m in service.list_connections(group="room")]
    service.remove_connection_from_group("room", connection_id)
    ops["group_after_remove"] = service.group_exists("room")
    client.close()
    report[label] = {"user": user_id, "connection_id": connection_id, "received": received, "ops": ops}
print(json.dumps(report))
sys.stdout.flush()
# The client library leaves a background thread that keeps the interpreter alive for ~30 s after
# close(); the results are printed, so leave now.
import os
os._exit(0)
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_python_packages_work_against_the_emulator() {
    let Some(python) = webpubsub_testkit::python_with(&[
        "azure.messaging.webpubsubservice",
        "azure.messaging.webpubsubclient",
    ]) else {
        return;
    };
    let emulator = Emulator::builder().start().await.unwrap();
    let ours = WebPubSubServiceClient::from_connection_string(
        &emulator.connection_string(),
        "pyhub",
        None,
    )
    .unwrap();
    let rust_url = ours
        .get_client_access_token(Some(ClientAccessTokenOptions {
            user_id: Some("rust-user".into()),
            roles: vec![Role::join_leave_group(), Role::send_to_group_named("room")],
            ..Default::default()
        }))
        .await
        .unwrap()
        .url;
    let cs = emulator.connection_string();
    let stdout = tokio::task::spawn_blocking(move || {
        let mut command = Command::new(python);
        command.args(["-c", SCRIPT, &cs, &rust_url]);
        webpubsub_testkit::stdout_of(command, "python")
    })
    .await
    .unwrap();
    let report: Value = serde_json::from_slice(&stdout).unwrap();
    for (label, user) in [("python_token", "py-user"), ("rust_token", "rust-user")] {
        let run = &report[label];
        assert_eq!(run["user"], user, "{label}");
        let received = run["received"].as_array().unwrap();
        let has = |expected: Value| received.contains(&expected);
        assert!(
            has(serde_json::json!({"kind": "server", "data": "rest-text"})),
            "{label}: {received:?}"
        );
        assert!(
            has(
                serde_json::json!({"kind": "group", "group": "room", "data": {"k": 1}, "from": null})
            ),
            "{label}: {received:?}"
        );
        assert!(
            has(serde_json::json!({"kind": "server", "data": "0102"})),
            "{label}: {received:?}"
        );
        assert!(
            has(
                serde_json::json!({"kind": "group", "group": "room", "data": "from-client", "from": user})
            ),
            "{label}: {received:?}"
        );
        let ops = &run["ops"];
        assert_eq!(ops["connection_exists"], true, "{label}");
        assert_eq!(ops["user_exists"], true);
        assert_eq!(ops["group_exists"], true);
        assert_eq!(ops["missing_connection"], false);
        assert_eq!(ops["has_permission"], true);
        assert_eq!(ops["revoked"], false);
        assert_eq!(ops["members"], serde_json::json!([run["connection_id"]]));
        assert_eq!(ops["group_after_remove"], false);
    }
    emulator.shutdown().await;
}

const RECOVERY_SCRIPT: &str = r#"
import json, sys, threading, time
from azure.messaging.webpubsubclient import WebPubSubClient
from azure.messaging.webpubsubclient.models import CallbackType

url = sys.argv[1]
received, connected, lock = [], [], threading.Lock()
# start_timeout: see the other script (the client's lost wakeup in open()).
client = WebPubSubClient(url, start_timeout=5)
client.subscribe(CallbackType.CONNECTED, lambda e: connected.append(e.connection_id))
disconnected = []
client.subscribe(CallbackType.DISCONNECTED, lambda e: disconnected.append(e.message))
def on_group(e):
    with lock:
        received.append(e.data)
client.subscribe(CallbackType.GROUP_MESSAGE, on_group)
client.open()
deadline = time.time() + 10
while not connected and time.time() < deadline:
    time.sleep(0.02)
client.join_group("room")
print(json.dumps({"ready": connected[0]}))
sys.stdout.flush()
want = int(sys.stdin.readline())
deadline = time.time() + 20
while time.time() < deadline and len(received) < want:
    time.sleep(0.05)
time.sleep(0.3)  # a repeat would arrive now
print(json.dumps({"received": received, "connected": connected}))
sys.stdout.flush()
# Then the Rust side closes the connection by REST: the reason arrives, and the client starts anew.
sys.stdin.readline()
deadline = time.time() + 20
while time.time() < deadline and len(connected) < 2:
    time.sleep(0.05)
print(json.dumps({"disconnected": disconnected, "connected": connected}))
sys.stdout.flush()
import os
os._exit(0)
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_python_client_recovers_after_a_cut_and_starts_anew_after_a_rest_close() {
    use std::io::{BufRead as _, BufReader, Write as _};
    use std::process::Stdio;

    let Some(python) = webpubsub_testkit::python_with(&["azure.messaging.webpubsubclient"]) else {
        return;
    };
    let emulator = Emulator::builder()
        .ignore_audience_host(true)
        .start()
        .await
        .unwrap();
    let proxy = webpubsub_testkit::proxy::FaultProxy::start(emulator.local_addr()).await;
    let ours =
        WebPubSubServiceClient::from_connection_string(&emulator.connection_string(), "chat", None)
            .unwrap();
    let url = ours
        .get_client_access_token(Some(ClientAccessTokenOptions {
            roles: vec![Role::join_leave_group()],
            ..Default::default()
        }))
        .await
        .unwrap()
        .url;
    let url = common::through(&url, &emulator, proxy.local_addr());
    let mut child = Command::new(python)
        .args(["-c", RECOVERY_SCRIPT, &url])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("python starts");
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let ready = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        (serde_json::from_str::<Value>(&line).unwrap(), stdout)
    });
    let (ready, stdout) = tokio::time::timeout(std::time::Duration::from_secs(30), ready)
        .await
        .expect("the Python client is ready within 30 s")
        .unwrap();
    let id = ready["ready"].as_str().unwrap().to_owned();
    let room = ours.group("room");
    room.send(webpubsub::Payload::text("c1"), None)
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    proxy.cut();
    for n in 2..=5 {
        room.send(webpubsub::Payload::text(format!("c{n}")), None)
            .await
            .unwrap();
    }
    writeln!(stdin, "5").unwrap();
    let read_report = |mut stdout: BufReader<std::process::ChildStdout>| {
        tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            stdout.read_line(&mut line).unwrap();
            (serde_json::from_str::<Value>(&line).unwrap(), stdout)
        })
    };
    let (report, stdout) = read_report(stdout).await.unwrap();
    let close = webpubsub::CloseConnectionOptions {
        reason: Some("maintenance".into()),
    };
    ours.close_connection(&id, Some(close)).await.unwrap();
    writeln!(stdin, "closed").unwrap();
    let (after_close, _) = read_report(stdout).await.unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        after_close["disconnected"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("maintenance")),
        "the close reason reached the client: {after_close}"
    );
    let ids = after_close["connected"].as_array().unwrap();
    assert!(
        ids.len() == 2 && ids[1] != ids[0],
        "a new connection after 1008: {after_close}"
    );
    assert_eq!(
        report["received"],
        serde_json::json!(["c1", "c2", "c3", "c4", "c5"]),
        "each once, in order: {report}"
    );
    assert_eq!(
        report["connected"],
        serde_json::json!([id]),
        "recovered, not reconnected"
    );
    assert!(
        proxy.connections() >= 2,
        "the client came back through the proxy"
    );
    emulator.shutdown().await;
}
