//! Token minting against one bare HMAC-SHA256 of the same signing input, in one run.
//!
//! `cargo bench -p webpubsub-auth --bench token_minting` prints both ratios at the end.

#![allow(clippy::print_stdout, missing_docs)] // a benchmark reports on stdout

use std::hint::black_box;
use std::time::{Duration, Instant, SystemTime};

use criterion::{criterion_group, Criterion};
use ring::hmac;
use webpubsub_auth::{client_access_token, AccessKey, ClientTokenOptions, Endpoint, Role};

fn inputs() -> (Endpoint, AccessKey, ClientTokenOptions) {
    let endpoint = Endpoint::parse("https://contoso.webpubsub.azure.com").unwrap();
    let key = AccessKey::new(AccessKey::DEVELOPMENT);
    let options = ClientTokenOptions::default()
        .user_id("user-1234")
        .role(Role::join_leave_group_named("room-1"))
        .role(Role::send_to_group_named("room-1"))
        .group("room-1");
    (endpoint, key, options)
}

fn signing_input(token: &str) -> String {
    token.rsplit_once('.').unwrap().0.to_owned()
}

fn bench(c: &mut Criterion) {
    let (endpoint, key, options) = inputs();
    let now = SystemTime::now();
    let token = client_access_token(&endpoint, &key, "chat", &options, now).unwrap();
    let input = signing_input(&token.token);
    let prepared = hmac::Key::new(hmac::HMAC_SHA256, key.expose().as_bytes());

    let mut group = c.benchmark_group("client_token");
    group.bench_function("mint", |b| {
        b.iter(|| client_access_token(&endpoint, &key, black_box("chat"), &options, now).unwrap())
    });
    group.bench_function("bare_hmac_with_key_setup", |b| {
        b.iter(|| {
            let k = hmac::Key::new(hmac::HMAC_SHA256, black_box(key.expose().as_bytes()));
            hmac::sign(&k, black_box(input.as_bytes()))
        })
    });
    group.bench_function("bare_hmac_prepared_key", |b| {
        b.iter(|| hmac::sign(&prepared, black_box(input.as_bytes())))
    });
    group.finish();
}

/// Measures all three side by side (interleaved rounds) and prints the ratios.
fn ratios() {
    let (endpoint, key, options) = inputs();
    let now = SystemTime::now();
    let input = signing_input(
        &client_access_token(&endpoint, &key, "chat", &options, now)
            .unwrap()
            .token,
    );
    let prepared = hmac::Key::new(hmac::HMAC_SHA256, key.expose().as_bytes());
    const N: u32 = 20_000;
    let mut best = [Duration::MAX; 3];
    for _ in 0..15 {
        let start = Instant::now();
        for _ in 0..N {
            black_box(
                client_access_token(&endpoint, &key, black_box("chat"), &options, now).unwrap(),
            );
        }
        best[0] = best[0].min(start.elapsed());
        let start = Instant::now();
        for _ in 0..N {
            let k = hmac::Key::new(hmac::HMAC_SHA256, black_box(key.expose().as_bytes()));
            black_box(hmac::sign(&k, black_box(input.as_bytes())));
        }
        best[1] = best[1].min(start.elapsed());
        let start = Instant::now();
        for _ in 0..N {
            black_box(hmac::sign(&prepared, black_box(input.as_bytes())));
        }
        best[2] = best[2].min(start.elapsed());
    }
    let mint = best[0].as_secs_f64();
    println!(
        "ratio mint/bare_hmac_with_key_setup = {:.2}x; mint/bare_hmac_prepared_key = {:.2}x (target <= 3x)",
        mint / best[1].as_secs_f64(),
        mint / best[2].as_secs_f64()
    );
}

criterion_group!(benches, bench);

fn main() {
    benches();
    ratios();
    Criterion::default().configure_from_args().final_summary();
}
