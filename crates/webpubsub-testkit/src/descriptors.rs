//! Running this process out of file descriptors against a server, to check that its accept loop
//! backs off instead of spinning. Linux only (util-linux `prlimit`, `/proc`). Run it from a test
//! binary of its own: it lowers the whole process's limit for about a second.

use std::io::{Read as _, Seek as _};
use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use tokio::net::TcpStream;

/// CPU time this process has used (user + system), read from an already open `/proc/self/stat`
/// (at the descriptor limit, opening it would fail).
fn cpu_time(stat: &mut std::fs::File) -> Duration {
    stat.rewind().expect("rewind /proc/self/stat");
    let mut text = String::new();
    stat.read_to_string(&mut text)
        .expect("read /proc/self/stat");
    // After `(comm) `: state is field 3, utime and stime are fields 14 and 15.
    let after = &text[text.rfind(')').expect("a /proc stat line") + 2..];
    let fields: Vec<&str> = after.split(' ').collect();
    let ticks: u64 =
        fields[11].parse::<u64>().unwrap_or(0) + fields[12].parse::<u64>().unwrap_or(0);
    // USER_HZ is 100 on Linux.
    Duration::from_millis(ticks * 10)
}

/// Sets this process's soft limit of open files; returns the old one.
fn set_open_files(soft: u64) -> u64 {
    let pid = std::process::id().to_string();
    let out = Command::new("prlimit")
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
    let old: u64 = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("prlimit prints the soft limit");
    let status = Command::new("prlimit")
        .args(["--pid", &pid, &format!("--nofile={soft}:")])
        .status()
        .expect("util-linux prlimit runs");
    assert!(status.success(), "prlimit could not set the limit");
    old
}

/// Lowers the limit to a few descriptors above those open, connects to `server` until connecting
/// fails (the last connections wait in its listen backlog, which it can no longer accept from),
/// measures the CPU the process uses over one idle second, then closes the connections and
/// restores the limit. A server that spins on accept errors burns about a second.
///
/// # Panics
/// When `prlimit` is missing or the limit is never reached.
pub async fn idle_cpu_at_descriptor_limit(server: SocketAddr) -> Duration {
    let open = std::fs::read_dir("/proc/self/fd").map_or(64, Iterator::count) as u64;
    let mut stat = std::fs::File::open("/proc/self/stat").expect("open /proc/self/stat");
    let old = set_open_files(open + 40);
    let mut clients = Vec::new();
    for _ in 0..200 {
        match TcpStream::connect(server).await {
            Ok(stream) => clients.push(stream),
            Err(_) => break,
        }
    }
    let reached = clients.len() < 200;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let before = cpu_time(&mut stat);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let used = cpu_time(&mut stat).saturating_sub(before);
    drop(clients);
    tokio::time::sleep(Duration::from_millis(100)).await;
    set_open_files(old);
    assert!(reached, "the descriptor limit was never reached");
    used
}
