//! `wss://`: the client through a TLS-terminating proxy (rustls, a self-signed certificate for
//! `localhost`) in front of the emulator. With the certificate's root in `tls_config` it connects,
//! joins and receives; with the default roots the certificate is refused, typed.

use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use webpubsub_client::*;
use webpubsub_emulator::Emulator;

mod common;
use common::{all_roles, fast, next, next_text, start, url};

/// Terminates TLS on a loopback port and forwards the plaintext to `target`; returns the port
/// and the certificate (DER).
async fn tls_front(target: std::net::SocketAddr) -> (u16, Vec<u8>) {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert = certified.cert.der().to_vec();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(certified.signing_key.serialize_der().into());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![rustls::pki_types::CertificateDer::from(cert.clone())],
            key,
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(stream).await else {
                    return;
                };
                let Ok(mut plain) = TcpStream::connect(target).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    (port, cert)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wss_with_a_private_root_connects_and_an_unknown_certificate_is_refused() {
    let (emulator, service) = start(Emulator::builder().ignore_audience_host(true)).await;
    let (port, cert) = tls_front(emulator.local_addr()).await;
    let plain = url(&service, "tess", all_roles()).await;
    let secure = plain.replace(
        &format!("ws://{}", emulator.local_addr()),
        &format!("wss://localhost:{port}"),
    );
    assert!(secure.starts_with("wss://localhost:"));

    // The default roots do not know the certificate: a typed connect error, not a hang.
    let (client, _events) = WebPubSubClient::new(secure.as_str(), fast());
    let error = client.start().await.unwrap_err();
    assert_eq!(error.kind(), &ErrorKind::Connect, "{error:?}");

    // With its root trusted, everything works over TLS.
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls::pki_types::CertificateDer::from(cert))
        .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let mut options = fast();
    options.tls_config = Some(Arc::new(config));
    let (client, mut events) = WebPubSubClient::new(secure.as_str(), options);
    client.start().await.unwrap();
    assert!(matches!(
        next(&mut events).await,
        ClientEvent::Connected { .. }
    ));
    client.join_group("room").await.unwrap();
    client
        .send_to_group("room", Payload::text("over tls"), None)
        .await
        .unwrap();
    assert_eq!(next_text(&mut events).await, "over tls");
    client.stop().await;
    emulator.shutdown().await;
}
