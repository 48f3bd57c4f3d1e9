//! The chat example end to end: a WebSocket client through the whole loop, and a real page in
//! headless Chromium (Debian's `chromium`, installed by `cargo xtask test`) that connects, sends
//! a message and sees it arrive.

use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::Message as Ws;
use webpubsub_transport::{HttpClient, HyperClient, HyperClientOptions};

async fn get(client: &HyperClient, url: &str) -> (u16, String) {
    let request = http::Request::get(url).body(bytes::Bytes::new()).unwrap();
    let response = client.execute(&request).await.unwrap();
    (
        response.status().as_u16(),
        String::from_utf8_lossy(response.body()).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_goes_through_the_handler_and_out_to_the_room() {
    let chat = examples::chat::start(0, None).await.unwrap();
    let http = HyperClient::new(HyperClientOptions::default()).unwrap();
    let (status, page) = get(&http, &format!("http://{}/", chat.addr)).await;
    assert_eq!(status, 200);
    assert!(page.contains("Web PubSub chat"));
    let (_, negotiated) = get(&http, &format!("http://{}/negotiate?name=bob", chat.addr)).await;
    let url = serde_json::from_str::<Value>(&negotiated).unwrap()["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "json.webpubsub.azure.v1".parse().unwrap(),
    );
    let (mut bob, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    match tokio::time::timeout(Duration::from_secs(10), bob.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap()
    {
        Ws::Text(text) => assert_eq!(
            serde_json::from_str::<Value>(text.as_str()).unwrap()["userId"],
            "bob"
        ),
        other => panic!("{other:?}"),
    }
    bob.send(Ws::text(json!({"type": "event", "event": "message", "ackId": 1, "dataType": "text", "data": "hi all"}).to_string()))
        .await
        .unwrap();
    let mut seen = Vec::new();
    for _ in 0..2 {
        match tokio::time::timeout(Duration::from_secs(10), bob.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap()
        {
            Ws::Text(text) => seen.push(serde_json::from_str::<Value>(text.as_str()).unwrap()),
            other => panic!("{other:?}"),
        }
    }
    assert!(
        seen.contains(&json!({"type": "ack", "ackId": 1, "success": true})),
        "{seen:?}"
    );
    assert!(
        seen.contains(&json!({"type": "message", "from": "group", "group": "room", "dataType": "json", "data": {"from": "bob", "text": "hi all"}})),
        "{seen:?}"
    );
    chat.emulator.unwrap().shutdown().await;
}

/// Asks the page for its log through the DevTools protocol.
async fn page_log(devtools: &str, id: u64) -> Option<String> {
    let (mut socket, _) = tokio_tungstenite::connect_async(devtools).await.ok()?;
    let request = json!({"id": id, "method": "Runtime.evaluate", "params": {"expression": "document.getElementById('log').innerText", "returnByValue": true}});
    socket.send(Ws::text(request.to_string())).await.ok()?;
    while let Some(Ok(frame)) = socket.next().await {
        if let Ws::Text(text) = frame {
            let reply: Value = serde_json::from_str(text.as_str()).ok()?;
            if reply["id"] == id {
                return reply["result"]["result"]["value"]
                    .as_str()
                    .map(str::to_owned);
            }
        }
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_works_in_headless_chromium() {
    let Some(chromium) = webpubsub_testkit::chromium() else {
        return;
    };
    let chat = examples::chat::start(0, None).await.unwrap();
    let profile = std::env::temp_dir().join(format!("webpubsub-chromium-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&profile);
    let page = format!("http://{}/?name=alice&say=hello-from-chromium", chat.addr);
    let mut browser = std::process::Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--remote-debugging-port=0",
            "--remote-allow-origins=*",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(&page)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("chromium starts");
    let http = HyperClient::new(HyperClientOptions::default()).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let mut last = String::new();
    let found = loop {
        if std::time::Instant::now() > deadline {
            break false;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
        // Chromium writes the port it picked into the profile.
        let Ok(active) = std::fs::read_to_string(profile.join("DevToolsActivePort")) else {
            continue;
        };
        let Some(port) = active.lines().next() else {
            continue;
        };
        let (_, targets) = get(&http, &format!("http://127.0.0.1:{port}/json/list")).await;
        let Ok(targets) = serde_json::from_str::<Vec<Value>>(&targets) else {
            continue;
        };
        let Some(devtools) = targets
            .iter()
            .find(|t| {
                t["type"] == "page"
                    && t["url"]
                        .as_str()
                        .is_some_and(|u| u.starts_with(&format!("http://{}", chat.addr)))
            })
            .and_then(|t| t["webSocketDebuggerUrl"].as_str())
        else {
            continue;
        };
        if let Some(log) = page_log(devtools, 1).await {
            last = log;
            if last.contains("alice: hello-from-chromium") {
                break true;
            }
        }
    };
    let _ = browser.kill();
    let _ = browser.wait();
    let _ = std::fs::remove_dir_all(&profile);
    assert!(
        found,
        "the page never showed its own message; its log: {last:?}"
    );
    assert!(last.contains("connected as alice"), "{last}");
    chat.emulator.unwrap().shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_axum_mounted_handler_answers_an_oversized_event_413() {
    let chat = examples::chat::start(0, None).await.unwrap();
    let http = HyperClient::new(HyperClientOptions::default()).unwrap();
    let request = http::Request::post(format!("http://{}/eventhandler", chat.addr))
        .header("content-type", "text/plain")
        .header("ce-type", "azure.webpubsub.user.message")
        .body(bytes::Bytes::from(vec![b'x'; 2 * 1024 * 1024]))
        .unwrap();
    let response = http.execute(&request).await.unwrap();
    assert_eq!(
        response.status(),
        413,
        "not turned into an empty body's 400"
    );
    // An unsigned event of the right size is refused for its signature, by the same handler.
    let request = http::Request::post(format!("http://{}/eventhandler", chat.addr))
        .header("content-type", "text/plain")
        .header("ce-type", "azure.webpubsub.user.message")
        .header("ce-hub", "chat")
        .header("ce-connectionId", "c1")
        .header("ce-awpsversion", "1.0")
        .body(bytes::Bytes::from_static(b"hi"))
        .unwrap();
    assert_eq!(http.execute(&request).await.unwrap().status(), 401);
}
