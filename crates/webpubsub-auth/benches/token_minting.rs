//! Token minting against one bare HMAC-SHA256 of the same signing input, in one run.
//!
//! `cargo bench -p webpubsub-auth --bench token_minting` prints both ratios at the end.

#![allow(clippy::print_stdout, missing_docs)] // a benchmark reports on stdout

use std::hint::black_box;
use std::time::{Instant, SystemTime};

use criterion::{criterion_group, Criterion};
use ring::hmac;
use webpubsub_auth::{client_access_token, AccessKey, ClientAccessTokenOptions, Endpoint, Role};

fn inputs() -> (Endpoint, AccessKey, ClientAccessTokenOptions) {
    let endpoint = Endpoint::parse("https://contoso.webpubsub.azure.com").unwrap();
    let key = AccessKey::new(AccessKey::DEVELOPMENT);
    let options = ClientAccessTokenOptions::default()
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

/// Measures all three side by side and prints the ratios: rounds interleave the three loops, and
/// the median of the per-round ratios is reported, so drift in machine speed cancels out.
fn ratios() {
    let (endpoint, key, options) = inputs();
    let now = SystemTime::now();
    let input = signing_input(
        &client_access_token(&endpoint, &key, "chat", &options, now)
            .unwrap()
            .token,
    );
    let prepared = hmac::Key::new(hmac::HMAC_SHA256, key.expose().as_bytes());
    const N: u32 = 5_000;
    let time = |f: &dyn Fn()| {
        let start = Instant::now();
        for _ in 0..N {
            f();
        }
        start.elapsed().as_secs_f64()
    };
    let mint = || {
        black_box(client_access_token(&endpoint, &key, black_box("chat"), &options, now).unwrap());
    };
    let with_setup = || {
        let k = hmac::Key::new(hmac::HMAC_SHA256, black_box(key.expose().as_bytes()));
        black_box(hmac::sign(&k, black_box(input.as_bytes())));
    };
    let prepared_hmac = || {
        black_box(hmac::sign(&prepared, black_box(input.as_bytes())));
    };
    let (mut vs_setup, mut vs_prepared) = (Vec::new(), Vec::new());
    for _ in 0..101 {
        let m = time(&mint);
        vs_setup.push(m / time(&with_setup));
        vs_prepared.push(m / time(&prepared_hmac));
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    println!(
        "ratio mint/bare_hmac_with_key_setup = {:.2}x; mint/bare_hmac_prepared_key = {:.2}x (target <= 3x)",
        median(&mut vs_setup),
        median(&mut vs_prepared)
    );
}

criterion_group!(benches, bench);

fn main() {
    benches();
    ratios();
    Criterion::default().configure_from_args().final_summary();
}
