#![doc = include_str!("../README.md")]

#[cfg(feature = "bench")]
pub mod bench;
#[cfg(all(feature = "faults", target_os = "linux"))]
pub mod descriptors;
#[cfg(feature = "faults")]
pub mod proxy;
#[cfg(feature = "faults")]
pub mod slow_http;

use std::io::Write as _;
use std::process::{Child, Command};

/// A child process (a Node app, a Python script) killed and reaped when the test ends, however
/// it ends.
#[derive(Debug)]
pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `command` to completion and returns its standard output.
///
/// # Panics
/// When it cannot start or exits unsuccessfully; the message names `what` and quotes its
/// standard error.
pub fn stdout_of(mut command: Command, what: &str) -> Vec<u8> {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{what} did not start: {e}"));
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// The Python interpreter to run interop scripts with, when it can import every module in
/// `modules`: `$WEBPUBSUB_TEST_PYTHON`, else `python3`.
///
/// Returns `None` (after printing why on stderr, which the test harness does not capture) so the
/// test can skip.
///
/// # Panics
/// When `WEBPUBSUB_REQUIRE_INTEROP=1` and the modules cannot be imported: under `cargo xtask test`
/// a missing interop dependency is a failure, not a skip.
pub fn python_with(modules: &[&str]) -> Option<String> {
    let python = std::env::var("WEBPUBSUB_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let required = std::env::var("WEBPUBSUB_REQUIRE_INTEROP").is_ok_and(|v| v == "1");
    let probe = Command::new(&python)
        .arg("-c")
        .arg(format!("import {}", modules.join(", ")))
        .output();
    let reason = match probe {
        Ok(out) if out.status.success() => return Some(python),
        Ok(out) => format!(
            "{python} cannot import {}: {}",
            modules.join(", "),
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
        ),
        Err(e) => format!("{python} did not start: {e}"),
    };
    assert!(!required, "interop required but {reason}");
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED interop: {reason} (run `cargo xtask test` to install it)"
    );
    None
}

/// `node` and the `NODE_PATH` holding the official JS packages, when every package in `packages`
/// is there: `$WEBPUBSUB_TEST_NODE_PATH` (set by `cargo xtask test`).
///
/// Returns `None` (after printing why) so the test can skip.
///
/// # Panics
/// When `WEBPUBSUB_REQUIRE_INTEROP=1` and a package is missing.
pub fn node_with(packages: &[&str]) -> Option<std::path::PathBuf> {
    let required = std::env::var("WEBPUBSUB_REQUIRE_INTEROP").is_ok_and(|v| v == "1");
    let reason = match std::env::var_os("WEBPUBSUB_TEST_NODE_PATH").map(std::path::PathBuf::from) {
        None => "WEBPUBSUB_TEST_NODE_PATH is not set".to_owned(),
        Some(path) => match packages
            .iter()
            .find(|p| !path.join(p).join("package.json").exists())
        {
            Some(missing) => format!("{missing} is not installed in {}", path.display()),
            None if Command::new("node")
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success()) =>
            {
                return Some(path)
            }
            None => "node did not start".to_owned(),
        },
    };
    assert!(!required, "interop required but {reason}");
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED interop: {reason} (run `cargo xtask test` to install it)"
    );
    None
}

/// A Chromium binary for browser tests: `$WEBPUBSUB_TEST_CHROMIUM`, else `chromium` on the path.
///
/// Returns `None` (after printing why) so the test can skip.
///
/// # Panics
/// When `WEBPUBSUB_REQUIRE_INTEROP=1` and no Chromium starts.
pub fn chromium() -> Option<String> {
    tool(
        "WEBPUBSUB_TEST_CHROMIUM",
        "chromium",
        "--version",
        "browser test",
    )
}

/// A tmux binary for terminal tests: `$WEBPUBSUB_TEST_TMUX`, else `tmux` on the path.
///
/// Returns `None` (after printing why) so the test can skip.
///
/// # Panics
/// When `WEBPUBSUB_REQUIRE_INTEROP=1` and tmux does not start.
pub fn tmux() -> Option<String> {
    tool("WEBPUBSUB_TEST_TMUX", "tmux", "-V", "terminal test")
}

/// A tool named by `variable` (else `default`) that runs with `version`.
fn tool(variable: &str, default: &str, version: &str, what: &str) -> Option<String> {
    let required = std::env::var("WEBPUBSUB_REQUIRE_INTEROP").is_ok_and(|v| v == "1");
    let binary = std::env::var(variable).unwrap_or_else(|_| default.into());
    if Command::new(&binary)
        .arg(version)
        .output()
        .is_ok_and(|o| o.status.success())
    {
        return Some(binary);
    }
    let reason = format!("{binary} did not start");
    assert!(!required, "{what} required but {reason}");
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED {what}: {reason} (`apt-get install {default}`, or run `cargo xtask test`)"
    );
    None
}
