//! The test doubles behave as documented.
#![cfg(feature = "test-util")]

use bytes::Bytes;
use webpubsub_transport::test_util::{
    response, CaptureClient, MockHttpClient, ReplayClient, ReplayEvent,
};
use webpubsub_transport::{Error, ErrorKind, HttpClient};

fn post(url: &str, body: &'static str) -> http::Request<Bytes> {
    http::Request::post(url)
        .header("x-test", "1")
        .body(Bytes::from_static(body.as_bytes()))
        .unwrap()
}

#[tokio::test]
async fn mock_answers_with_its_closure() {
    let client = MockHttpClient::new(|request| {
        if request.uri().path() == "/fail" {
            Err(Error::new(ErrorKind::Connect))
        } else {
            Ok(response(202, request.body().clone()))
        }
    });
    let ok = client.execute(&post("http://h/x", "echo")).await.unwrap();
    assert_eq!(
        (ok.status().as_u16(), ok.body().as_ref()),
        (202, b"echo".as_ref())
    );
    let err = client
        .execute(&post("http://h/fail", ""))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Connect);
}

#[tokio::test]
async fn capture_records_every_request_in_order() {
    let client = CaptureClient::new();
    client.execute(&post("http://h/a", "1")).await.unwrap();
    client.execute(&post("http://h/b?q=1", "2")).await.unwrap();
    let requests = client.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].uri, "http://h/a");
    assert_eq!(requests[1].uri.query(), Some("q=1"));
    assert_eq!(requests[1].body, "2");
    assert_eq!(client.last().header("x-test"), Some("1"));
    let responding = CaptureClient::with_responder(|_| Ok(response(404, "")));
    assert_eq!(
        responding
            .execute(&post("http://h/", ""))
            .await
            .unwrap()
            .status(),
        404
    );
}

#[tokio::test]
async fn replay_serves_in_order_and_checks_the_requests() {
    let client = ReplayClient::new(vec![
        ReplayEvent::new(post("http://h/1", "a"), response(200, "one")),
        ReplayEvent::failing(
            post("http://h/2", "b"),
            Error::new(ErrorKind::ResponseTimeout),
        ),
    ]);
    assert_eq!(
        client
            .execute(&post("http://h/1", "a"))
            .await
            .unwrap()
            .body(),
        "one"
    );
    assert!(client
        .execute(&post("http://h/2", "b"))
        .await
        .unwrap_err()
        .is_timeout());
    client.assert_requests_match(&[]);
    // Past the list: an error, not a panic.
    assert_eq!(
        client
            .execute(&post("http://h/3", "c"))
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::Other
    );
    assert_eq!(client.actual_requests().len(), 3);
}

#[tokio::test]
#[should_panic(expected = "request 0")]
async fn replay_reports_a_mismatch() {
    let client = ReplayClient::new(vec![ReplayEvent::new(
        post("http://h/1", "a"),
        response(200, ""),
    )]);
    client
        .execute(&post("http://h/1", "different"))
        .await
        .unwrap();
    client.assert_requests_match(&[]);
}

#[tokio::test]
async fn replay_can_ignore_volatile_headers() {
    let client = ReplayClient::new(vec![ReplayEvent::new(
        post("http://h/1", "a"),
        response(200, ""),
    )]);
    let mut request = post("http://h/1", "a");
    request
        .headers_mut()
        .insert("authorization", "Bearer fresh".parse().unwrap());
    client.execute(&request).await.unwrap();
    client.assert_requests_match(&["authorization"]);
}
