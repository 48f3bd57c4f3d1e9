//! Running out of file descriptors does not make the emulator's accept loop spin, and it serves
//! again once descriptors are back. Its own test process: it lowers the process's limit.

use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
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
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /api/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer))
        .await
        .expect("answered")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    emulator.shutdown().await;
}
