//! Running out of file descriptors does not make the emulator's accept loop spin, and it serves
//! again once descriptors are back. Its own test process: it lowers the process's limit.

use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use webpubsub_emulator::Emulator;

/// CPU time this process has used (user + system, from `/proc/self/stat`).
#[cfg(target_os = "linux")]
fn cpu_time(stat: &mut std::fs::File) -> Duration {
    use std::io::{Read as _, Seek as _};
    // Opened beforehand: at the descriptor limit, opening it would fail.
    stat.rewind().unwrap();
    let mut text = String::new();
    stat.read_to_string(&mut text).unwrap();
    let stat = text;
    // Fields after the `(comm)`: state is field 3; utime and stime are fields 14 and 15.
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after.split(' ').collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    // USER_HZ is 100 on Linux.
    Duration::from_millis(ticks * 10)
}

/// Sets this process's soft limit of open files with util-linux `prlimit`; returns the old one.
#[cfg(target_os = "linux")]
fn set_open_files(soft: u64) -> u64 {
    let pid = std::process::id().to_string();
    let out = std::process::Command::new("prlimit")
        .args([
            "--pid",
            &pid,
            "--nofile",
            "--output",
            "SOFT",
            "--noheadings",
        ])
        .output()
        .expect("util-linux prlimit runs");
    let old: u64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    let status = std::process::Command::new("prlimit")
        .args(["--pid", &pid, &format!("--nofile={soft}:")])
        .status()
        .unwrap();
    assert!(status.success(), "prlimit could not set the limit");
    old
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn running_out_of_file_descriptors_does_not_spin_the_accept_loop() {
    let emulator = Emulator::builder().start().await.unwrap();
    let addr = emulator.local_addr();
    let open = std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count())
        .unwrap_or(64) as u64;
    let mut stat = std::fs::File::open("/proc/self/stat").unwrap();
    let old = set_open_files(open + 40);
    // Use up every descriptor: clients until connect itself fails. The last ones sit in the
    // listener's backlog, which the emulator can no longer accept from.
    let mut clients = Vec::new();
    for _ in 0..200 {
        match TcpStream::connect(addr).await {
            Ok(stream) => clients.push(stream),
            Err(_) => break,
        }
    }
    assert!(clients.len() < 200, "the descriptor limit was reached");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let before = cpu_time(&mut stat);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let used = cpu_time(&mut stat) - before;
    drop(clients);
    tokio::time::sleep(Duration::from_millis(100)).await;
    set_open_files(old);
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
    let answer = {
        let mut a = Vec::new();
        tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut a))
            .await
            .expect("answered")
            .unwrap();
        String::from_utf8_lossy(&a).into_owned()
    };
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    emulator.shutdown().await;
}
