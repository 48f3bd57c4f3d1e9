//! The pipeline: each retry rule (and each no-retry case), Retry-After, timeouts, Entra ID token
//! caching, and that no secret reaches logs, errors or Debug output. Time is paused, so back-off
//! costs nothing.

use std::collections::VecDeque;
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::{Request, Response};
use webpubsub::*;
use webpubsub_transport::test_util::{response, CaptureClient};
use webpubsub_transport::{Error as TransportError, ErrorKind as TransportKind};

const KEY: &str = "SecretKey-0123456789-abcdefghijklmnopqrstuvwxyz";

type Reply = Result<Response<Bytes>, TransportError>;

/// A transport that answers from a script and counts attempts.
#[derive(Debug, Clone)]
struct Scripted {
    replies: Arc<Mutex<VecDeque<ScriptStep>>>,
    attempts: Arc<AtomicUsize>,
    authorizations: Arc<Mutex<Vec<String>>>,
}

#[derive(Debug)]
enum ScriptStep {
    Reply(Reply),
    Hang,
}

impl Scripted {
    fn new(steps: Vec<ScriptStep>) -> Self {
        Self {
            replies: Arc::new(Mutex::new(steps.into())),
            attempts: Arc::default(),
            authorizations: Arc::default(),
        }
    }

    fn attempts(&self) -> usize {
        self.attempts.load(Ordering::SeqCst)
    }
}

fn ok(status: u16) -> ScriptStep {
    ScriptStep::Reply(Ok(response(status, "")))
}

fn with_header(status: u16, name: &str, value: &str) -> ScriptStep {
    let mut r = response(status, "");
    r.headers_mut().insert(
        http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
        value.parse().unwrap(),
    );
    ScriptStep::Reply(Ok(r))
}

fn fail(kind: TransportKind) -> ScriptStep {
    ScriptStep::Reply(Err(TransportError::new(kind)))
}

#[async_trait::async_trait]
impl HttpClient for Scripted {
    async fn execute(&self, request: &Request<Bytes>) -> Result<Response<Bytes>, TransportError> {
        self.attempts.fetch_add(1, Ordering::SeqCst);
        if let Some(value) = request.headers().get("authorization") {
            self.authorizations
                .lock()
                .unwrap()
                .push(value.to_str().unwrap().to_owned());
        }
        let step = self.replies.lock().unwrap().pop_front();
        match step {
            Some(ScriptStep::Reply(reply)) => reply,
            Some(ScriptStep::Hang) => {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                Ok(response(200, ""))
            }
            None => Ok(response(500, "script exhausted")),
        }
    }
}

fn client(transport: &Scripted, retry: RetryOptions) -> WebPubSubServiceClient {
    let options = WebPubSubServiceClientOptions {
        transport: Some(Arc::new(transport.clone())),
        retry,
        per_try_timeout: Some(Duration::from_secs(5)),
        overall_timeout: Some(Duration::from_secs(300)),
        ..Default::default()
    };
    WebPubSubServiceClient::from_connection_string(
        &format!("Endpoint=https://contoso.webpubsub.azure.com;AccessKey={KEY}"),
        "hub",
        Some(options),
    )
    .unwrap()
}

async fn send(client: &WebPubSubServiceClient) -> webpubsub::Result<()> {
    client.send_to_all(Payload::text("x"), None).await
}

async fn put(client: &WebPubSubServiceClient) -> webpubsub::Result<()> {
    client.add_user_to_group("g", "u", None).await
}

#[tokio::test(start_paused = true)]
async fn sends_retry_only_when_not_processed() {
    // 429 and 503: the service did not process it.
    for status in [429, 503] {
        let t = Scripted::new(vec![ok(status), ok(202)]);
        send(&client(&t, RetryOptions::default())).await.unwrap();
        assert_eq!(t.attempts(), 2, "{status}");
    }
    // The request never left.
    for kind in [
        TransportKind::Connect,
        TransportKind::ConnectTimeout,
        TransportKind::Tls,
    ] {
        let t = Scripted::new(vec![fail(kind), ok(202)]);
        send(&client(&t, RetryOptions::default())).await.unwrap();
        assert_eq!(t.attempts(), 2, "{kind:?}");
    }
    // It may have been processed: no retry.
    for status in [408, 500, 502, 504] {
        let t = Scripted::new(vec![ok(status), ok(202)]);
        let err = send(&client(&t, RetryOptions::default()))
            .await
            .unwrap_err();
        assert_eq!((t.attempts(), err.status()), (1, Some(status)));
    }
    for kind in [
        TransportKind::ConnectionBroken,
        TransportKind::ResponseTimeout,
    ] {
        let t = Scripted::new(vec![fail(kind), ok(202)]);
        let err = send(&client(&t, RetryOptions::default()))
            .await
            .unwrap_err();
        assert_eq!(t.attempts(), 1);
        let transport = std::error::Error::source(&err)
            .and_then(|e| e.downcast_ref::<webpubsub_transport::Error>())
            .expect("the transport error is the source");
        assert_eq!(transport.kind(), kind);
        // A transport timeout is a timeout, a broken connection a transport error.
        assert_eq!(
            err.is_timeout(),
            kind == TransportKind::ResponseTimeout,
            "{err:?}"
        );
        assert_eq!(
            err.is_transport(),
            kind != TransportKind::ResponseTimeout,
            "{err:?}"
        );
    }
    let t = Scripted::new(vec![ScriptStep::Hang, ok(202)]);
    let err = send(&client(&t, RetryOptions::default()))
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(t.attempts(), 1);
    // Never on client errors.
    for status in [400, 401, 403, 404, 413] {
        let t = Scripted::new(vec![ok(status), ok(202)]);
        assert!(send(&client(&t, RetryOptions::default())).await.is_err());
        assert_eq!(t.attempts(), 1, "{status}");
    }
}

#[tokio::test(start_paused = true)]
async fn opting_in_retries_sends_like_idempotent_calls() {
    let always = RetryOptions {
        retry_non_idempotent: NonIdempotentRetry::Always,
        ..Default::default()
    };
    let t = Scripted::new(vec![
        ok(500),
        fail(TransportKind::ConnectionBroken),
        ScriptStep::Hang,
        ok(202),
    ]);
    send(&client(&t, always)).await.unwrap();
    assert_eq!(t.attempts(), 4);
}

#[tokio::test(start_paused = true)]
async fn idempotent_calls_retry_on_every_transient_failure() {
    let t = Scripted::new(vec![
        ok(408),
        ok(500),
        fail(TransportKind::ConnectionBroken),
        ok(200),
    ]);
    put(&client(&t, RetryOptions::default())).await.unwrap();
    assert_eq!(t.attempts(), 4);
    let t = Scripted::new(vec![ScriptStep::Hang, ok(502), ok(504)]);
    let c = client(&t, RetryOptions::default());
    let err = put(&c).await.unwrap_err();
    assert_eq!(
        t.attempts(),
        4,
        "1 + 3 retries, then the last answer is the error"
    );
    assert_eq!(err.status(), Some(500), "the script's fallback answer");
    // Each attempt was signed again.
    assert_eq!(t.authorizations.lock().unwrap().len(), 4);
}

#[tokio::test(start_paused = true)]
async fn back_off_grows_and_retry_after_is_honoured() {
    let no_jitter = RetryOptions {
        jitter: 0.0,
        ..Default::default()
    };
    let t = Scripted::new(vec![ok(503), ok(503), ok(503), ok(202)]);
    let start = tokio::time::Instant::now();
    send(&client(&t, no_jitter.clone())).await.unwrap();
    assert_eq!(start.elapsed(), Duration::from_millis(800 + 1600 + 3200));

    let t = Scripted::new(vec![with_header(429, "retry-after", "7"), ok(202)]);
    let start = tokio::time::Instant::now();
    send(&client(&t, no_jitter.clone())).await.unwrap();
    assert_eq!(start.elapsed(), Duration::from_secs(7));

    let t = Scripted::new(vec![
        with_header(503, "retry-after-ms", "250"),
        with_header(503, "x-ms-retry-after-ms", "40"),
        ok(202),
    ]);
    let start = tokio::time::Instant::now();
    send(&client(&t, no_jitter.clone())).await.unwrap();
    assert_eq!(start.elapsed(), Duration::from_millis(290));

    // An HTTP date: the delay is measured against the wall clock, so allow a second of slack.
    let in_5s = SystemTime::now() + Duration::from_secs(5);
    let date = http_date(in_5s);
    let t = Scripted::new(vec![with_header(429, "retry-after", &date), ok(202)]);
    let start = tokio::time::Instant::now();
    send(&client(&t, no_jitter.clone())).await.unwrap();
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_secs(3) && waited <= Duration::from_secs(6),
        "{waited:?}"
    );

    // Beyond max_retry_after: stop and report.
    let t = Scripted::new(vec![with_header(429, "retry-after", "3600"), ok(202)]);
    let err = send(&client(&t, no_jitter)).await.unwrap_err();
    assert_eq!((t.attempts(), err.status()), (1, Some(429)));
}

fn http_date(at: SystemTime) -> String {
    let secs = at.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs();
    let days = (secs / 86_400) as i64;
    let (h, m, s) = (secs % 86_400 / 3600, secs % 3600 / 60, secs % 60);
    // Civil date from days (Howard Hinnant).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let names = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][(days % 7) as usize];
    format!(
        "{weekday}, {d:02} {} {year} {h:02}:{m:02}:{s:02} GMT",
        names[(month - 1) as usize]
    )
}

#[tokio::test(start_paused = true)]
async fn the_overall_timeout_bounds_retries_and_none_disables_them() {
    let t = Scripted::new(vec![
        ScriptStep::Hang,
        ScriptStep::Hang,
        ScriptStep::Hang,
        ScriptStep::Hang,
    ]);
    let options = WebPubSubServiceClientOptions {
        transport: Some(Arc::new(t.clone())),
        per_try_timeout: Some(Duration::from_secs(10)),
        overall_timeout: Some(Duration::from_secs(15)),
        ..Default::default()
    };
    let c = WebPubSubServiceClient::from_connection_string(
        &format!("Endpoint=https://h;AccessKey={KEY}"),
        "hub",
        Some(options),
    )
    .unwrap();
    let start = tokio::time::Instant::now();
    let err = put(&c).await.unwrap_err();
    assert!(err.is_timeout());
    assert_eq!(start.elapsed(), Duration::from_secs(15));
    assert_eq!(t.attempts(), 2);

    let t = Scripted::new(vec![ok(503), ok(202)]);
    let err = send(&client(&t, RetryOptions::none())).await.unwrap_err();
    assert_eq!((t.attempts(), err.status()), (1, Some(503)));
}

#[tokio::test(start_paused = true)]
async fn dropping_the_future_cancels_the_call() {
    let t = Scripted::new(vec![ScriptStep::Hang]);
    let c = client(&t, RetryOptions::default());
    let call = tokio::spawn(async move { put(&c).await });
    tokio::time::sleep(Duration::from_millis(10)).await;
    call.abort();
    assert!(call.await.unwrap_err().is_cancelled());
    assert_eq!(t.attempts(), 1);
}

/// An Entra ID credential that counts fetches.
#[derive(Debug)]
struct CountingCredential {
    fetches: AtomicUsize,
    lifetime: Duration,
}

#[async_trait::async_trait]
impl TokenCredential for CountingCredential {
    async fn get_token(&self, scopes: &[&str]) -> Result<AccessToken, CredentialError> {
        assert_eq!(scopes, [WEBPUBSUB_SCOPE]);
        let n = self.fetches.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(50)).await;
        Ok(AccessToken::new(
            format!("entra-token-{n}"),
            SystemTime::now() + self.lifetime,
        ))
    }
}

fn entra_client(
    endpoint: &str,
    capture: &CaptureClient,
    credential: Arc<CountingCredential>,
    allow_http: bool,
) -> webpubsub::Result<WebPubSubServiceClient> {
    let options = WebPubSubServiceClientOptions {
        transport: Some(Arc::new(capture.clone())),
        allow_insecure_token_credential: allow_http,
        ..Default::default()
    };
    let credential: Arc<dyn TokenCredential> = credential;
    WebPubSubServiceClient::new(
        Endpoint::parse(endpoint).unwrap(),
        "hub",
        credential,
        Some(options),
    )
}

#[tokio::test]
async fn entra_tokens_are_cached_fetched_once_and_refreshed_before_expiry() {
    let capture = CaptureClient::with_responder(|_| Ok(response(202, "")));
    let credential = Arc::new(CountingCredential {
        fetches: AtomicUsize::new(0),
        lifetime: Duration::from_secs(3600),
    });
    let client = entra_client(
        "https://contoso.webpubsub.azure.com",
        &capture,
        credential.clone(),
        false,
    )
    .unwrap();
    let calls: Vec<_> = (0..10)
        .map(|_| {
            let c = client.clone();
            tokio::spawn(async move { send(&c).await })
        })
        .collect();
    for call in calls {
        call.await.unwrap().unwrap();
    }
    assert_eq!(
        credential.fetches.load(Ordering::SeqCst),
        1,
        "concurrent calls share one fetch"
    );
    assert!(capture
        .requests()
        .iter()
        .all(|r| r.header("authorization") == Some("Bearer entra-token-0")));

    // A token inside the 5-minute refresh window is replaced on the next call.
    let short = Arc::new(CountingCredential {
        fetches: AtomicUsize::new(0),
        lifetime: Duration::from_secs(240),
    });
    let client = entra_client(
        "https://contoso.webpubsub.azure.com",
        &capture,
        short.clone(),
        false,
    )
    .unwrap();
    send(&client).await.unwrap();
    send(&client).await.unwrap();
    assert_eq!(short.fetches.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn entra_tokens_are_refused_over_plain_http_unless_allowed() {
    let capture = CaptureClient::new();
    let credential = Arc::new(CountingCredential {
        fetches: AtomicUsize::new(0),
        lifetime: Duration::from_secs(3600),
    });
    let err =
        entra_client("http://localhost:8080", &capture, credential.clone(), false).unwrap_err();
    assert!(err.is_invalid_input());
    assert!(err.to_string().contains("plain http"));
    assert!(entra_client("http://localhost:8080", &capture, credential, true).is_ok());
}

#[tokio::test]
async fn entra_client_tokens_come_from_generate_token() {
    let capture =
        CaptureClient::with_responder(|_| Ok(response(200, r#"{"token":"service.minted.jwt"}"#)));
    let credential = Arc::new(CountingCredential {
        fetches: AtomicUsize::new(0),
        lifetime: Duration::from_secs(3600),
    });
    let client = entra_client(
        "https://contoso.webpubsub.azure.com",
        &capture,
        credential,
        false,
    )
    .unwrap();
    let token = client
        .get_client_access_token(Some(ClientAccessTokenOptions {
            user_id: Some("u".into()),
            roles: vec![Role::join_leave_group(), Role::send_to_group()],
            groups: vec!["g".into()],
            expires_after: Duration::from_secs(30 * 60),
            protocol: ClientProtocol::Mqtt,
            ..Default::default()
        }))
        .await
        .unwrap();
    assert_eq!(
        token.url,
        "wss://contoso.webpubsub.azure.com/clients/mqtt/hubs/hub?access_token=service.minted.jwt"
    );
    let request = capture.last();
    assert_eq!(request.method, "POST");
    assert_eq!(
        request.uri.to_string(),
        "https://contoso.webpubsub.azure.com/api/hubs/hub/:generateToken?userId=u&role=webpubsub.joinLeaveGroup\
         &role=webpubsub.sendToGroup&minutesToExpire=30&group=g&clientType=MQTT&api-version=2024-12-01"
    );
    assert!(!format!("{token:?}").contains("service.minted.jwt"));
    // api-version 2024-12-01 has no Socket.IO clientType: refused before anything is sent.
    let before = capture.requests().len();
    let err = client
        .get_client_access_token(Some(ClientAccessTokenOptions {
            protocol: ClientProtocol::SocketIo,
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert!(err.is_invalid_input(), "{err:?}");
    assert_eq!(capture.requests().len(), before);
}

/// Collects everything `tracing` writes, at every level.
#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn no_secret_reaches_logs_errors_or_debug_output() {
    let logs = LogBuffer::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let t = Scripted::new(vec![
        ok(503),
        fail(TransportKind::Connect),
        ok(202),
        ok(401),
        ok(500),
        ok(404),
    ]);
    let c = client(&t, RetryOptions::default());
    send(&c).await.unwrap();
    let errors = [
        send(&c).await.unwrap_err(),
        put(&c).await.unwrap_err(),
        c.add_connection_to_group("g", "c", None).await.unwrap_err(),
    ];
    let token = c.get_client_access_token(None).await.unwrap();

    let logged = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        logged.contains("retrying"),
        "the retries were logged: {logged}"
    );
    assert!(logged.contains("webpubsub.operation"), "{logged}");
    let mut secrets: Vec<String> = vec![KEY.to_owned(), token.token.clone()];
    for authorization in t.authorizations.lock().unwrap().iter() {
        secrets.push(authorization.trim_start_matches("Bearer ").to_owned());
    }
    let mut texts = vec![logged, format!("{c:?}"), format!("{token:?}")];
    for e in &errors {
        texts.push(e.to_string());
        texts.push(format!("{e:?}"));
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            texts.push(s.to_string());
            source = s.source();
        }
    }
    let bad = webpubsub::WebPubSubServiceClient::from_connection_string(
        &format!("Endpoint=https://h;AccessKey={KEY};Port=x"),
        "hub",
        None,
    )
    .unwrap_err();
    texts.push(bad.to_string());
    texts.push(format!("{bad:?}"));
    for text in &texts {
        for secret in &secrets {
            assert!(
                !text.contains(secret.as_str()),
                "a secret leaked into: {text}"
            );
        }
    }
}

#[tokio::test]
async fn entra_client_tokens_expire_when_the_service_says() {
    // The service decides the lifetime; its token's `exp` wins over the minutes asked for.
    let minted = webpubsub::auth::client_access_token(
        &Endpoint::parse("https://contoso.webpubsub.azure.com").unwrap(),
        &AccessKey::new("service-key"),
        "hub",
        &ClientAccessTokenOptions::default().expires_after(Duration::from_secs(600)),
        SystemTime::now(),
    )
    .unwrap();
    let body = format!(r#"{{"token":"{}"}}"#, minted.token);
    let capture = CaptureClient::with_responder(move |_| Ok(response(200, body.clone())));
    let credential = Arc::new(CountingCredential {
        fetches: AtomicUsize::new(0),
        lifetime: Duration::from_secs(3600),
    });
    let client = entra_client(
        "https://contoso.webpubsub.azure.com",
        &capture,
        credential,
        false,
    )
    .unwrap();
    let token = client
        .get_client_access_token(Some(ClientAccessTokenOptions {
            expires_after: Duration::from_secs(60 * 60),
            ..Default::default()
        }))
        .await
        .unwrap();
    assert_eq!(token.expires_at, minted.expires_at);
}

#[tokio::test]
async fn a_401_drops_the_cached_entra_token() {
    let answers = Arc::new(Mutex::new(VecDeque::from([401, 202, 202])));
    let capture = CaptureClient::with_responder(move |_| {
        let status = answers.lock().unwrap().pop_front().unwrap_or(202);
        Ok(response(status, ""))
    });
    let credential = Arc::new(CountingCredential {
        fetches: AtomicUsize::new(0),
        lifetime: Duration::from_secs(3600),
    });
    let client = entra_client(
        "https://contoso.webpubsub.azure.com",
        &capture,
        credential.clone(),
        false,
    )
    .unwrap();
    let err = client
        .send_to_all(Payload::text("x"), None)
        .await
        .unwrap_err();
    assert!(err.is_authentication(), "{err:?}");
    client.send_to_all(Payload::text("x"), None).await.unwrap();
    // The token the service refused was not used again; the next one was cached.
    client.send_to_all(Payload::text("x"), None).await.unwrap();
    assert_eq!(credential.fetches.load(Ordering::SeqCst), 2);
    let tokens: Vec<String> = capture
        .requests()
        .iter()
        .map(|r| r.header("authorization").unwrap().to_owned())
        .collect();
    assert_eq!(
        tokens,
        [
            "Bearer entra-token-0",
            "Bearer entra-token-1",
            "Bearer entra-token-1"
        ]
    );
}
