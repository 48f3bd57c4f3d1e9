//! The real `webpubsub` binary end to end on an embedded emulator: `listen` in one process
//! receives what `send` in others sends, for each scope and content type, and stops cleanly on
//! SIGINT (close 1000); `token` output connects; bad input and an unreachable endpoint give one
//! clear line and an exit code; no output ever holds the key. And under tmux, in a terminal:
//! `listen` shows arriving messages and quits on Ctrl-C.

use std::io::{BufRead as _, BufReader, Write as _};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use webpubsub_client::{ClientEvent, WebPubSubClient, WebPubSubClientOptions};
use webpubsub_emulator::Emulator;
use webpubsub_testkit::KillOnDrop;

const KEY: &str = "cli-test-key-that-must-never-be-printed-0123456789";

fn cli(connection_string: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_webpubsub"));
    command
        .env("WEBPUBSUB_CONNECTION_STRING", connection_string)
        .env("WEBPUBSUB_HUB", "chat");
    command
}

/// Runs a command to completion (at most 30 s) with `stdin`, and checks that it never printed
/// the key.
fn output(mut command: Command, stdin: &[u8]) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin).unwrap();
    drop(input);
    let (done, finished) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(child.wait_with_output());
    });
    let output = finished
        .recv_timeout(Duration::from_secs(30))
        .expect("the command finished within 30 s")
        .unwrap();
    for stream in [&output.stdout, &output.stderr] {
        assert!(
            !String::from_utf8_lossy(stream).contains(KEY),
            "the key was printed: {}",
            String::from_utf8_lossy(stream)
        );
    }
    output
}

fn ok(command: Command, stdin: &[u8]) -> String {
    let out = output(command, stdin);
    assert!(
        out.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn args<const N: usize>(cs: &str, list: [&str; N]) -> Command {
    let mut command = cli(cs);
    command.args(list);
    command
}

async fn emulator() -> Emulator {
    Emulator::builder().access_key(KEY).start().await.unwrap()
}

/// A `listen --json` process: its stdout lines, and its connection id (from stderr).
struct Listener {
    process: KillOnDrop,
    lines: mpsc::Receiver<String>,
    errors: mpsc::Receiver<String>,
    connection_id: String,
}

impl Listener {
    fn start(cs: &str, extra: &[&str]) -> Self {
        let mut command = cli(cs);
        command
            .arg("listen")
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().unwrap();
        let (lines_tx, lines) = mpsc::channel();
        let (errors_tx, errors) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = lines_tx.send(line);
            }
        });
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = errors_tx.send(line);
            }
        });
        let mut listener = Self {
            process: KillOnDrop(child),
            lines,
            errors,
            connection_id: String::new(),
        };
        let ready = listener.error_line("listening");
        listener.connection_id = ready
            .split("on connection ")
            .nth(1)
            .and_then(|rest| rest.split([',', ';']).next())
            .unwrap()
            .to_owned();
        listener
    }

    fn error_line(&self, containing: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self
                .errors
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no stderr line with {containing:?}"));
            assert!(!line.contains(KEY), "the key was printed: {line}");
            if line.contains(containing) {
                return line;
            }
        }
    }

    fn next_json(&self) -> Value {
        let line = self
            .lines
            .recv_timeout(Duration::from_secs(20))
            .expect("a message within 20 s");
        assert!(!line.contains(KEY));
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"))
    }
}

fn interrupt(process: &KillOnDrop) {
    let status = Command::new("kill")
        .args(["-INT", &process.0.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_receives_every_scope_and_content_type_and_stops_on_sigint() {
    let emulator = emulator().await;
    let cs = emulator.connection_string();
    let mut listener = Listener::start(&cs, &["--json", "--group", "room", "--user", "lis"]);
    let id = listener.connection_id.clone();
    let file = std::env::temp_dir().join(format!("webpubsub-cli-{}.bin", std::process::id()));
    std::fs::write(&file, [0u8, 1, 2, 255]).unwrap();
    let binary = format!("@{}", file.display());

    ok(args(&cs, ["send", "to everyone"]), b"");
    assert_eq!(
        listener.next_json(),
        json!({"from": "server", "dataType": "text", "data": "to everyone", "sequenceId": 1})
    );
    ok(
        args(&cs, ["send", "--user", "lis", "--json", r#"{"to":"user"}"#]),
        b"",
    );
    assert_eq!(listener.next_json()["data"], json!({"to": "user"}));
    ok(
        args(&cs, ["send", "--group", "room", "--binary", &binary]),
        b"",
    );
    let message = listener.next_json();
    assert_eq!(
        (
            &message["from"],
            &message["group"],
            &message["dataType"],
            &message["data"]
        ),
        (
            &json!("group"),
            &json!("room"),
            &json!("binary"),
            &json!("AAEC/w==")
        )
    );
    ok(
        args(&cs, ["send", "--connection", &id, "to the connection"]),
        b"",
    );
    assert_eq!(listener.next_json()["data"], "to the connection");
    ok(
        args(&cs, ["send", "--group", "room", "--lines", "-"]),
        b"first\nsecond\n",
    );
    assert_eq!(listener.next_json()["data"], "first");
    assert_eq!(listener.next_json()["data"], "second");
    ok(
        args(&cs, ["send", "--all", "--json", "-"]),
        b"{\"from\":\"stdin\"}\n",
    );
    assert_eq!(listener.next_json()["data"], json!({"from": "stdin"}));
    // Excluded and filtered-out connections get nothing; the next message proves it.
    ok(
        args(&cs, ["send", "--all", "--exclude", &id, "not for you"]),
        b"",
    );
    ok(
        args(
            &cs,
            ["send", "--filter", "userId eq 'someone-else'", "nor this"],
        ),
        b"",
    );
    ok(
        args(&cs, ["send", "--filter", "'room' in groups", "but this"]),
        b"",
    );
    assert_eq!(listener.next_json()["data"], "but this");
    std::fs::remove_file(&file).ok();

    // The other operations, through the same binary.
    assert_eq!(ok(args(&cs, ["exists", "--group", "room"]), b""), "true\n");
    assert_eq!(
        ok(args(&cs, ["connections", "--group", "room"]), b""),
        format!("{id}\tlis\n")
    );
    ok(
        args(&cs, ["add-to-group", "--group", "extra", "--user", "lis"]),
        b"",
    );
    assert_eq!(ok(args(&cs, ["exists", "--group", "extra"]), b""), "true\n");
    ok(
        args(
            &cs,
            ["remove-from-group", "--all-groups", "--connection", &id],
        ),
        b"",
    );
    let gone = output(args(&cs, ["exists", "--group", "room"]), b"");
    assert_eq!(
        (gone.status.code(), gone.stdout.as_slice()),
        (Some(1), &b"false\n"[..])
    );
    // The same permission, granted, checked, revoked, checked again.
    let permission = |action: &str| {
        args(
            &cs,
            [
                action,
                "--connection",
                &id,
                "--permission",
                "sendToGroup",
                "--group",
                "g",
            ],
        )
    };
    ok(permission("grant"), b"");
    assert_eq!(ok(permission("check"), b""), "true\n");
    ok(permission("revoke"), b"");
    let no = output(permission("check"), b"");
    assert_eq!(no.status.code(), Some(1));

    // SIGINT: a clean stop with close 1000, so the service drops the connection at once.
    interrupt(&listener.process);
    listener.error_line("stopped");
    let status = listener.process.0.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let exists = output(args(&cs, ["exists", "--connection", &id]), b"");
        if exists.status.code() == Some(1) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the connection outlived its close"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    emulator.shutdown().await;
}

#[test]
fn the_emulator_subcommand_and_the_embedded_emulator_serve_the_other_commands() {
    // `webpubsub emulator`: its first line is a connection string the other commands use.
    let mut command = Command::new(env!("CARGO_BIN_EXE_webpubsub"));
    command
        .args(["emulator", "--port", "0", "--quiet", "--access-key", KEY])
        .stdout(Stdio::piped());
    let mut emulator = KillOnDrop(command.spawn().unwrap());
    let mut first = String::new();
    BufReader::new(emulator.0.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let cs = first.trim().to_owned();
    assert!(cs.starts_with("Endpoint=http://127.0.0.1:"), "{cs}");
    // --verbose shows each request, never the key or a token (`output` checks the key).
    let out = output(args(&cs, ["--verbose", "send", "hi"]), b"");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("/api/hubs/chat/:send") && stderr.contains("status=202"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("Bearer") && !stderr.contains("eyJ"),
        "{stderr}"
    );
    interrupt(&emulator);
    assert!(emulator.0.wait().unwrap().success());

    // --emulator: one started for this command alone.
    let mut command = Command::new(env!("CARGO_BIN_EXE_webpubsub"));
    command.args(["--emulator", "--hub", "chat", "token", "--user", "e"]);
    let out = output(command, b"");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("embedded emulator: Endpoint=http://"));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("ws://127.0.0.1:"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_output_connects() {
    let emulator = emulator().await;
    let cs = emulator.connection_string();
    let url = ok(
        args(&cs, ["token", "--user", "tok", "--expires", "5m"]),
        b"",
    );
    let (client, mut events) =
        WebPubSubClient::new(url.trim().to_owned(), WebPubSubClientOptions::default());
    client.start().await.unwrap();
    let Some(ClientEvent::Connected { user_id, .. }) = events.next().await else {
        panic!("connected")
    };
    assert_eq!(user_id.as_deref(), Some("tok"));
    client.stop().await;
    let json: Value = serde_json::from_str(&ok(
        args(
            &cs,
            [
                "token",
                "--json",
                "--role",
                "webpubsub.sendToGroup",
                "--group",
                "g",
            ],
        ),
        b"",
    ))
    .unwrap();
    assert!(json["url"]
        .as_str()
        .unwrap()
        .starts_with(json["baseUrl"].as_str().unwrap()));
    assert!(json["url"]
        .as_str()
        .unwrap()
        .ends_with(json["token"].as_str().unwrap()));
    let expires = json["expiresAt"].as_u64().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(
        (now + 3500..=now + 3700).contains(&expires),
        "an hour by default"
    );
    let mqtt = ok(args(&cs, ["token", "--protocol", "mqtt"]), b"");
    assert!(
        mqtt.contains("/clients/mqtt/hubs/chat?access_token="),
        "{mqtt}"
    );
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_and_unreachable_endpoints_are_one_clear_line_and_an_exit_code() {
    let emulator = emulator().await;
    let cs = emulator.connection_string();
    let fails = |command: Command, code: i32, says: &str| {
        let out = output(command, b"");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(code), "{stderr}");
        assert!(stderr.contains(says), "{says:?} not in {stderr:?}");
        assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr:?}");
    };
    fails(
        args(&format!("Endpoint=;AccessKey={KEY}"), ["send", "x"]),
        2,
        "connection string",
    );
    fails(
        args(&format!("AccessKey={KEY}"), ["send", "x"]),
        2,
        "connection string",
    );
    let mut no_service = cli("");
    no_service
        .env_remove("WEBPUBSUB_CONNECTION_STRING")
        .args(["send", "x"]);
    fails(no_service, 2, "no service");
    let mut no_hub = cli(&cs);
    no_hub.env_remove("WEBPUBSUB_HUB").args(["send", "x"]);
    fails(no_hub, 2, "no hub");
    fails(args(&cs, ["send", "--group", "", "x"]), 2, "group");
    fails(
        args(&cs, ["send", "--json", "{not json"]),
        2,
        "not valid JSON",
    );
    fails(
        args(&cs, ["send", "--filter", "userId eq", "x"]),
        2,
        "--filter",
    );
    fails(args(&cs, ["listen", "--group", "  "]), 2, "--group");
    fails(args(&cs, ["token", "--expires", "soon"]), 2, "lifetime");
    fails(
        args(&cs, ["grant", "--connection", "c", "--permission", "fly"]),
        2,
        "--permission",
    );
    // The service's own answer, with its status and code.
    fails(
        args(
            &cs,
            [
                "grant",
                "--connection",
                "nobody",
                "--permission",
                "sendToGroup",
            ],
        ),
        1,
        "the service answered 404",
    );
    // Nothing listens on port 1.
    fails(
        args(
            &format!("Endpoint=http://127.0.0.1:1;AccessKey={KEY};Version=1.0;"),
            ["send", "x"],
        ),
        1,
        "the endpoint did not answer",
    );
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_terminal_listen_shows_messages_and_quits_on_ctrl_c() {
    let Some(tmux) = webpubsub_testkit::tmux() else {
        return;
    };
    let emulator = emulator().await;
    let cs = emulator.connection_string();
    let socket = format!("webpubsub-cli-test-{}", std::process::id());
    let tmux_cmd = |list: &[&str]| {
        let mut command = Command::new(&tmux);
        command.args(["-L", &socket]).args(list);
        command
    };
    let binary = env!("CARGO_BIN_EXE_webpubsub");
    let started = tmux_cmd(&[
        "new-session",
        "-d",
        "-s",
        "listen",
        "-x",
        "160",
        "-y",
        "40",
        "-e",
        // tmux reads an argument that ends with `;` as the end of a command.
        &format!("WEBPUBSUB_CONNECTION_STRING={}", cs.trim_end_matches(';')),
        "-e",
        "WEBPUBSUB_HUB=chat",
        &format!("{binary} listen --group room"),
    ])
    .output()
    .unwrap();
    assert!(
        started.status.success(),
        "tmux: {}",
        String::from_utf8_lossy(&started.stderr)
    );
    struct Session<F: Fn(&[&str]) -> Command>(F);
    impl<F: Fn(&[&str]) -> Command> Drop for Session<F> {
        fn drop(&mut self) {
            let _ = (self.0)(&["kill-server"]).stderr(Stdio::null()).status();
        }
    }
    let session = Session(tmux_cmd);
    let screen = || {
        let out = (session.0)(&["capture-pane", "-p", "-t", "listen"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let wait_for = |text: &str| {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let shown = screen();
            assert!(!shown.contains(KEY));
            if shown.contains(text) {
                return;
            }
            assert!(Instant::now() < deadline, "{text:?} never shown:\n{shown}");
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    wait_for("listening as webpubsub-cli");
    ok(
        args(&cs, ["send", "--group", "room", "hello, terminal"]),
        b"",
    );
    wait_for("[room] -: hello, terminal");
    // A long send shows its progress in a terminal (and nothing when piped: the tests above).
    let lines = (0..300).map(|i| format!("line {i}\n")).collect::<String>();
    let file = std::env::temp_dir().join(format!("webpubsub-cli-lines-{}", std::process::id()));
    std::fs::write(&file, lines).unwrap();
    let sender = (session.0)(&[
        "new-window",
        "-t",
        "listen",
        "-e",
        &format!("WEBPUBSUB_CONNECTION_STRING={}", cs.trim_end_matches(';')),
        "-e",
        "WEBPUBSUB_HUB=chat",
        &format!(
            "{binary} send --user nobody --lines - < {}; sleep 30",
            file.display()
        ),
    ])
    .status()
    .unwrap();
    assert!(sender.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let out = (session.0)(&["capture-pane", "-p", "-t", "listen:1"])
            .output()
            .unwrap();
        let shown = String::from_utf8_lossy(&out.stdout).into_owned();
        if shown.contains("sent 300 messages") {
            break;
        }
        assert!(Instant::now() < deadline, "no progress line:\n{shown}");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::fs::remove_file(&file).ok();
    let _ = (session.0)(&["kill-window", "-t", "listen:1"]).status();
    let sent = (session.0)(&["send-keys", "-t", "listen", "C-c"])
        .status()
        .unwrap();
    assert!(sent.success());
    // The command exits, and with it the session.
    let deadline = Instant::now() + Duration::from_secs(10);
    while (session.0)(&["has-session", "-t", "listen"])
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .success()
    {
        assert!(
            Instant::now() < deadline,
            "listen did not quit on Ctrl-C:\n{}",
            screen()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(session);
    emulator.shutdown().await;
}
