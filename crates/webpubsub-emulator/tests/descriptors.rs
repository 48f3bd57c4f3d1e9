//! Running out of file descriptors does not make the emulator's accept loop spin, and it serves
//! again once descriptors are back. Its own test process: it lowers the process's limit.

use std::time::Duration;

use webpubsub_emulator::Emulator;

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn running_out_of_file_descriptors_does_not_spin_the_accept_loop() {
    let emulator = Emulator::builder().start().await.unwrap();
    let addr = emulator.local_addr();
    let used = webpubsub_testkit::descriptors::idle_cpu_at_descriptor_limit(addr).await;
    assert!(
        used < Duration::from_millis(300),
        "the process used {used:?} of CPU in one idle second at the descriptor limit"
    );
    // Descriptors back: the emulator serves again.
    let health = b"GET /api/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    let answer = webpubsub_testkit::slow_http::exchange(addr, health, Duration::from_secs(5))
        .await
        .expect("answered");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    emulator.shutdown().await;
}
