//! Custom transport: plug your own HTTP stack into the service client by implementing
//! `HttpClient`. This one is a deliberately small HTTP/1.1 client over a plain TCP stream (one
//! connection per request). To stay runnable anywhere, the example also starts a local server
//! on 127.0.0.1 that answers like the service and prints what it received.
//!
//! ```text
//! cargo run -p examples --example custom_transport
//! ```

#![allow(clippy::print_stdout)] // an example reports on stdout

use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response};
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::{TcpListener, TcpStream};
use webpubsub::transport::{Error, ErrorKind};
use webpubsub::{
    AccessKey, HttpClient, Payload, WebPubSubServiceClient, WebPubSubServiceClientOptions,
};

/// HTTP/1.1 over a fresh TCP connection per request (plain http only).
#[derive(Debug)]
struct PlainTcpClient;

#[async_trait::async_trait]
impl HttpClient for PlainTcpClient {
    async fn execute(&self, request: &Request<Bytes>) -> Result<Response<Bytes>, Error> {
        let uri = request.uri();
        if uri.scheme_str() != Some("http") {
            return Err(Error::new(ErrorKind::InvalidRequest)
                .with_detail("this example client speaks plain http only"));
        }
        let authority = uri
            .authority()
            .ok_or_else(|| Error::new(ErrorKind::InvalidRequest))?;
        // Could not connect: the request provably never left, so even a send may be retried.
        let mut stream = TcpStream::connect(authority.as_str())
            .await
            .map_err(|e| Error::with_source(ErrorKind::Connect, e))?;
        let path = uri.path_and_query().map_or("/", |p| p.as_str());
        let mut head = format!(
            "{} {path} HTTP/1.1\r\nhost: {authority}\r\nconnection: close\r\n",
            request.method()
        );
        for (name, value) in request.headers() {
            let value = value
                .to_str()
                .map_err(|e| Error::with_source(ErrorKind::InvalidRequest, e))?;
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str(&format!("content-length: {}\r\n\r\n", request.body().len()));
        // From here on, a failure may mean the service processed the request.
        let broken = |e: std::io::Error| Error::with_source(ErrorKind::ConnectionBroken, e);
        stream.write_all(head.as_bytes()).await.map_err(broken)?;
        stream.write_all(request.body()).await.map_err(broken)?;

        let mut reader = BufReader::new(stream);
        let mut status_line = String::new();
        reader.read_line(&mut status_line).await.map_err(broken)?;
        let status: u16 = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| {
                Error::new(ErrorKind::ConnectionBroken).with_detail("no HTTP status line")
            })?;
        let mut response = Response::builder().status(status);
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).await.map_err(broken)?;
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap_or(0);
                }
                response = response.header(name.trim(), value.trim());
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).await.map_err(broken)?;
        response
            .body(Bytes::from(body))
            .map_err(|e| Error::with_source(ErrorKind::Other, e))
    }
}

/// A stand-in for the service: prints each request line and answers 202 (or 200 for HEAD).
async fn local_service() -> std::io::Result<std::net::SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut reader = BufReader::new(stream);
                let mut request_line = String::new();
                if reader.read_line(&mut request_line).await.is_err() {
                    return;
                }
                let mut length = 0usize;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).await.unwrap_or(0) == 0
                        || line.trim_end().is_empty()
                    {
                        break;
                    }
                    if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = value.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body).await;
                println!(
                    "service received: {} {}",
                    request_line.trim_end(),
                    String::from_utf8_lossy(&body)
                );
                let status = if request_line.starts_with("HEAD") {
                    "200 OK"
                } else {
                    "202 Accepted"
                };
                let reply =
                    format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
                let _ = reader.into_inner().write_all(reply.as_bytes()).await;
            });
        }
    });
    Ok(addr)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = local_service().await?;
    let options = WebPubSubServiceClientOptions {
        transport: Some(Arc::new(PlainTcpClient)),
        ..Default::default()
    };
    let connection_string = format!(
        "Endpoint=http://{addr};AccessKey={};Version=1.0;",
        AccessKey::DEVELOPMENT
    );
    let client =
        WebPubSubServiceClient::from_connection_string(&connection_string, "chat", Some(options))?;

    client
        .send_to_all(Payload::text("sent through a custom transport"), None)
        .await?;
    let exists = client.user_exists("alice", None).await?;
    println!("user_exists(alice) = {exists}");
    Ok(())
}
