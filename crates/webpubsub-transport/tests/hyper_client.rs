//! `HyperClient` against real servers on 127.0.0.1:0: HTTP/1.1, HTTP/2 over TLS with a test CA,
//! connection reuse, and each failure mapped to the right error kind.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Frame;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use webpubsub_transport::{ErrorKind, HttpClient, HyperClient, HyperClientOptions};

type Reply = hyper::Response<http_body_util::combinators::BoxBody<Bytes, Infallible>>;

/// Echoes `METHOD path body` and counts accepted connections; `/big` answers 2 MiB with a
/// Content-Length, `/big-chunked` streams 2 MiB without one, `/headers` answers the Host header
/// and every `x-multi` value.
async fn echo(request: hyper::Request<hyper::body::Incoming>) -> Result<Reply, Infallible> {
    let headers = request.headers();
    let host = headers.get("host").map(|v| v.to_str().unwrap().to_owned());
    let multi: Vec<_> = headers
        .get_all("x-multi")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    let seen_headers = format!("host={host:?} x-multi={}", multi.join(","));
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let version = format!("{:?}", request.version());
    let body = request
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let reply = match path.as_str() {
        "/big" => Full::new(Bytes::from(vec![b'x'; 2 * 1024 * 1024])).boxed(),
        "/big-chunked" => {
            let chunks = (0..32u8).map(|i| {
                Ok::<_, Infallible>(Frame::data(Bytes::from(vec![b'a' + i % 26; 64 * 1024])))
            });
            futures_stream(chunks).boxed()
        }
        "/headers" => Full::new(Bytes::from(seen_headers)).boxed(),
        _ => Full::new(Bytes::from(format!(
            "{method} {path} {version} {}",
            String::from_utf8_lossy(&body)
        )))
        .boxed(),
    };
    Ok(hyper::Response::builder().status(200).body(reply).unwrap())
}

/// A stream from an iterator, without a futures dependency.
fn futures_stream<I: Iterator + Unpin>(
    iter: I,
) -> impl hyper::body::Body<Data = Bytes, Error = Infallible>
where
    I::Item: Into<Result<Frame<Bytes>, Infallible>>,
{
    struct IterBody<I>(I);
    impl<I: Iterator + Unpin> hyper::body::Body for IterBody<I>
    where
        I::Item: Into<Result<Frame<Bytes>, Infallible>>,
    {
        type Data = Bytes;
        type Error = Infallible;
        fn poll_frame(
            mut self: std::pin::Pin<&mut Self>,
            _cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Result<Frame<Bytes>, Infallible>>> {
            std::task::Poll::Ready(self.0.next().map(Into::into))
        }
    }
    IterBody(iter)
}

struct Server {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
}

/// Serves `echo` over HTTP/1.1 and HTTP/2, plain or with TLS.
async fn serve(tls: Option<tokio_rustls::TlsAcceptor>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = connections.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            counter.fetch_add(1, Ordering::SeqCst);
            let tls = tls.clone();
            tokio::spawn(async move {
                let builder = auto::Builder::new(TokioExecutor::new());
                match tls {
                    Some(acceptor) => {
                        if let Ok(stream) = acceptor.accept(stream).await {
                            let _ = builder
                                .serve_connection(TokioIo::new(stream), service_fn(echo))
                                .await;
                        }
                    }
                    None => {
                        let _ = builder
                            .serve_connection(TokioIo::new(stream), service_fn(echo))
                            .await;
                    }
                }
            });
        }
    });
    Server { addr, connections }
}

/// A self-signed certificate for `localhost`, and a TLS acceptor offering h2 and http/1.1.
fn tls_acceptor() -> (tokio_rustls::TlsAcceptor, Vec<u8>) {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert_der = certified.cert.der().to_vec();
    let key = rustls_pki_key(certified.signing_key.serialize_der());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![rustls::pki_types::CertificateDer::from(cert_der.clone())],
            key,
        )
        .unwrap();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    (tokio_rustls::TlsAcceptor::from(Arc::new(config)), cert_der)
}

fn rustls_pki_key(der: Vec<u8>) -> rustls::pki_types::PrivateKeyDer<'static> {
    rustls::pki_types::PrivateKeyDer::Pkcs8(der.into())
}

fn get(url: &str) -> http::Request<Bytes> {
    http::Request::get(url).body(Bytes::new()).unwrap()
}

fn client(options: HyperClientOptions) -> HyperClient {
    HyperClient::new(options).unwrap()
}

async fn post(client: &HyperClient, server: &Server, i: usize) {
    let request = http::Request::post(format!("http://{}/api/hubs/h/:send?i={i}", server.addr))
        .header("content-type", "text/plain")
        .body(Bytes::from(format!("message {i}")))
        .unwrap();
    let response = client.execute(&request).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.body(),
        &format!("POST /api/hubs/h/:send HTTP/1.1 message {i}")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http1_round_trips_reuse_one_connection() {
    let server = serve(None).await;
    let client = client(HyperClientOptions::default());
    // Requests with a moment between them (as most applications send) all use one connection.
    for i in 0..20 {
        post(&client, &server, i).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        server.connections.load(Ordering::SeqCst),
        1,
        "sequential requests share one pooled connection"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn back_to_back_requests_stay_on_a_bounded_pool() {
    let server = serve(None).await;
    let client = client(HyperClientOptions::default());
    // Back to back, hyper-util may open a spare connection while the previous one returns to the
    // pool (it races a checkout against a new connect), more than once on a loaded machine (3 was
    // seen with the whole suite running); it never opens one per request: 200 requests, a handful
    // of connections.
    for i in 0..200 {
        post(&client, &server, i).await;
    }
    assert!(
        server.connections.load(Ordering::SeqCst) <= 8,
        "{:?}",
        server.connections
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_with_a_custom_root_negotiates_http2_and_multiplexes() {
    let (acceptor, ca) = tls_acceptor();
    let server = serve(Some(acceptor)).await;
    let client = client(HyperClientOptions {
        extra_roots_der: vec![ca.clone()],
        ..Default::default()
    });
    let url = format!("https://localhost:{}/secure", server.addr.port());
    // The first request learns (by ALPN) that the server speaks HTTP/2 ...
    let response = client.execute(&get(&url)).await.unwrap();
    assert_eq!(response.version(), http::Version::HTTP_2);
    // ... then concurrent requests multiplex on that one connection.
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (client, url) = (client.clone(), url.clone());
        tasks.push(tokio::spawn(async move {
            client.execute(&get(&url)).await.unwrap()
        }));
    }
    for task in tasks {
        let response = task.await.unwrap();
        assert_eq!(response.version(), http::Version::HTTP_2);
        assert_eq!(response.body(), "GET /secure HTTP/2.0 ");
    }
    assert_eq!(
        server.connections.load(Ordering::SeqCst),
        1,
        "HTTP/2 multiplexes on one connection"
    );

    let http1_only = HyperClient::new(HyperClientOptions {
        extra_roots_der: vec![ca],
        http2: false,
        ..Default::default()
    })
    .unwrap();
    let response = http1_only.execute(&get(&url)).await.unwrap();
    assert_eq!(response.version(), http::Version::HTTP_11);
    assert_eq!(response.body(), "GET /secure HTTP/1.1 ");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_certificate_is_a_tls_error_and_never_sent() {
    let (acceptor, _ca) = tls_acceptor();
    let server = serve(Some(acceptor)).await;
    let err = client(HyperClientOptions::default())
        .execute(&get(&format!("https://localhost:{}/", server.addr.port())))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Tls, "{err:?}");
    assert!(!err.request_sent());
    assert!(err.is_connect());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_connection_is_a_connect_error_and_never_sent() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let err = client(HyperClientOptions::default())
        .execute(&get(&format!("http://{addr}/")))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Connect, "{err:?}");
    assert!(!err.request_sent());
    assert!(
        !err.to_string().contains(&addr.to_string()),
        "no URL in the message"
    );
}

/// Accepts, reads the request head, then runs `then` on the socket.
async fn raw_server<F, Fut>(then: F) -> SocketAddr
where
    F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let then = Arc::new(then);
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let then = then.clone();
            tokio::spawn(async move {
                let mut buffer = Vec::new();
                let mut chunk = [0u8; 1024];
                while !buffer.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                    }
                }
                then(stream).await;
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_never_answers_times_out() {
    let addr = raw_server(|stream| async move {
        tokio::time::sleep(Duration::from_secs(10)).await;
        drop(stream);
    })
    .await;
    let client = client(HyperClientOptions {
        response_timeout: Some(Duration::from_millis(300)),
        ..Default::default()
    });
    let started = std::time::Instant::now();
    let err = client
        .execute(&get(&format!("http://{addr}/")))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ResponseTimeout, "{err:?}");
    assert!(err.is_timeout() && err.request_sent());
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_after_reading_the_request_is_a_broken_connection() {
    let addr = raw_server(|stream| async move {
        // SO_LINGER 0: closing sends a TCP reset instead of a clean FIN (and does not block).
        #[allow(deprecated)]
        let _ = stream.set_linger(Some(Duration::ZERO));
        drop(stream);
    })
    .await;
    let request = http::Request::post(format!("http://{addr}/api/hubs/h/:send"))
        .body(Bytes::from("x"))
        .unwrap();
    let err = client(HyperClientOptions::default())
        .execute(&request)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionBroken, "{err:?}");
    assert!(
        err.request_sent(),
        "a POST that may have been processed must not be blindly retried"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_response_is_a_broken_connection() {
    let addr = raw_server(|mut stream| async move {
        let _ = stream
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly part")
            .await;
        drop(stream);
    })
    .await;
    let err = client(HyperClientOptions::default())
        .execute(&get(&format!("http://{addr}/")))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionBroken, "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_responses_are_refused_with_or_without_a_length() {
    let server = serve(None).await;
    let client = client(HyperClientOptions {
        max_response_bytes: 1024 * 1024,
        ..Default::default()
    });
    for path in ["/big", "/big-chunked"] {
        let err = client
            .execute(&get(&format!("http://{}{path}", server.addr)))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ResponseTooLarge, "{path}: {err:?}");
    }
    let roomy = HyperClient::new(HyperClientOptions {
        max_response_bytes: 4 * 1024 * 1024,
        ..Default::default()
    })
    .unwrap();
    let response = roomy
        .execute(&get(&format!("http://{}/big-chunked", server.addr)))
        .await
        .unwrap();
    // Frames are joined in order.
    let body = response.body();
    assert_eq!(body.len(), 2 * 1024 * 1024);
    for (i, chunk) in body.chunks(64 * 1024).enumerate() {
        assert!(
            chunk.iter().all(|&b| b == b'a' + (i % 26) as u8),
            "chunk {i}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_arrive_as_sent_with_the_host_of_the_url() {
    let server = serve(None).await;
    let client = client(HyperClientOptions::default());
    let url = format!("http://{}/headers", server.addr);
    let request = http::Request::get(&url)
        .header("x-multi", "a")
        .header("x-multi", "b")
        .body(Bytes::new())
        .unwrap();
    let response = client.execute(&request).await.unwrap();
    let expected = format!("host=Some({:?}) x-multi=a,b", server.addr.to_string());
    assert_eq!(response.body(), &expected);
    // A Host the caller set is kept.
    let request = http::Request::get(&url)
        .header("host", "proxy.example")
        .body(Bytes::new())
        .unwrap();
    let response = client.execute(&request).await.unwrap();
    assert_eq!(response.body(), "host=Some(\"proxy.example\") x-multi=");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_requests_and_options_are_typed_errors() {
    let client = client(HyperClientOptions::default());
    for url in ["/relative", "ftp://example.com/"] {
        let err = client.execute(&get(url)).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidRequest, "{url}");
        assert!(!err.request_sent());
    }
    let err = HyperClient::new(HyperClientOptions {
        extra_roots_der: vec![b"not der".to_vec()],
        ..Default::default()
    })
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Tls);
    let err = HyperClient::new(HyperClientOptions {
        webpki_roots: false,
        ..Default::default()
    })
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Tls);
}
