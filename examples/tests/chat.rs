//! The chat example end to end: a WebSocket client through the whole loop, and a real page in
//! headless Chromium (Debian's `chromium`, installed by `cargo xtask test`) that connects, sends
//! a message and sees it arrive.

use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message as Ws;
use webpubsub::Payload;
use webpubsub_client::{ClientCredential, ClientEvent, WebPubSubClient, WebPubSubClientOptions};
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
    // Bob is a `webpubsub-client` whose URL provider is the page's negotiate endpoint.
    let negotiate = format!("http://{}/negotiate?name=bob", chat.addr);
    let credential = ClientCredential::from_provider(move || {
        let negotiate = negotiate.clone();
        async move {
            let http = HyperClient::new(HyperClientOptions::default())?;
            let request = http::Request::get(&negotiate).body(bytes::Bytes::new())?;
            let response = http.execute(&request).await?;
            let body: Value = serde_json::from_slice(response.body())?;
            body["url"]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| webpubsub_client::BoxError::from("no url in the negotiate answer"))
        }
    });
    let (bob, mut events) = WebPubSubClient::new(credential, WebPubSubClientOptions::default());
    bob.start().await.unwrap();
    let next = async |events: &mut webpubsub_client::ClientEvents| {
        tokio::time::timeout(Duration::from_secs(10), events.next())
            .await
            .unwrap()
            .unwrap()
    };
    match next(&mut events).await {
        ClientEvent::Connected { user_id, .. } => assert_eq!(user_id.as_deref(), Some("bob")),
        other => panic!("{other:?}"),
    }
    // The page's event goes to the handler, which publishes it to the room through REST.
    bob.send_event("message", Payload::text("hi all"), None)
        .await
        .unwrap();
    match next(&mut events).await {
        ClientEvent::GroupMessage(message) => {
            assert_eq!(message.group, "room");
            assert_eq!(
                message.data.to_json::<Value>().unwrap(),
                json!({"from": "bob", "text": "hi all"})
            );
        }
        other => panic!("{other:?}"),
    }
    bob.stop().await;
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
