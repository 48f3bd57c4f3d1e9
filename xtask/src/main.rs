//! The project's task runner (the cargo-xtask pattern): plain Rust, no dependencies.
//!
//! ```text
//! cargo xtask test    fmt check, clippy -D warnings, every test (interop included), docs -D warnings
//! cargo xtask deny    cargo-deny: bans, licenses, sources (installs cargo-deny when missing)
//! cargo xtask bench   the benchmarks, with the ratios they print
//! ```

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

mod interop;
#[cfg(test)]
mod tidy;

type Result<T = ()> = std::result::Result<T, String>;

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test(),
        Some("deny") => deny(),
        Some("interop") => interop_only(),
        Some("bench") => bench(&args[1..]),
        Some("help") | Some("--help") | Some("-h") | None => {
            eprintln!("{}", usage());
            Ok(())
        }
        Some(other) => Err(format!("unknown task `{other}`\n\n{}", usage())),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

fn usage() -> &'static str {
    "usage: cargo xtask <task>\n\
     \n\
     tasks:\n\
     \x20 test    fmt check, clippy -D warnings, all tests (with interop), docs -D warnings\n\
     \x20 interop install the official Python and JS packages and Chromium, run the interop tests\n\
     \x20 deny    cargo deny check bans licenses sources (advisories need the network)\n\
     \x20 bench   run the benchmarks and print their ratios"
}

/// The workspace root.
pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

fn cargo() -> Command {
    let mut command = Command::new(env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command.current_dir(root());
    command
}

fn run(step: &str, command: &mut Command) -> Result {
    eprintln!("\n==> {step}");
    let status = command
        .status()
        .map_err(|e| format!("{step}: could not start: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{step} failed ({status})"))
    }
}

fn test() -> Result {
    let started = std::time::Instant::now();
    let interop = interop::prepare()?;
    run(
        "cargo fmt --check",
        cargo().args(["fmt", "--all", "--", "--check"]),
    )?;
    run(
        "cargo clippy",
        cargo().args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--all-features",
            "--locked",
            "--",
            "-D",
            "warnings",
        ]),
    )?;
    // The trait alone, without hyper: what users plugging in their own stack compile.
    run(
        "cargo clippy -p webpubsub-transport --no-default-features",
        cargo().args([
            "clippy",
            "-p",
            "webpubsub-transport",
            "--no-default-features",
            "--locked",
            "--",
            "-D",
            "warnings",
        ]),
    )?;
    // Each server feature of the handler alone (a feature that only builds beside the others
    // has happened).
    for feature in ["hyper", "tower"] {
        run(
            &format!("cargo clippy -p webpubsub-handler --features {feature}"),
            cargo().args([
                "clippy",
                "-p",
                "webpubsub-handler",
                "--features",
                feature,
                "--locked",
                "--",
                "-D",
                "warnings",
            ]),
        )?;
    }
    let mut tests = cargo();
    tests.args(["test", "--workspace", "--all-features", "--locked"]);
    interop.apply(&mut tests);
    run("cargo test", &mut tests)?;
    // The examples that need no service run as smoke tests (the rest are compiled above).
    for example in [
        "token_only",
        "custom_transport",
        "quickstart",
        "client",
        "groups_and_permissions",
        "list_connections",
    ] {
        run(
            &format!("example {example}"),
            cargo()
                .args([
                    "run",
                    "--quiet",
                    "--locked",
                    "-p",
                    "examples",
                    "--example",
                    example,
                ])
                .env_remove("WEBPUBSUB_CONNECTION_STRING"),
        )?;
    }
    run(
        "cargo doc",
        cargo()
            .args([
                "doc",
                "--workspace",
                "--no-deps",
                "--all-features",
                "--locked",
            ])
            .env("RUSTDOCFLAGS", "-D warnings"),
    )?;
    eprintln!("\nxtask test: all green in {:.0?}", started.elapsed());
    Ok(())
}

/// The interop tests alone (they also run, with everything else, in `test`).
fn interop_only() -> Result {
    let interop = interop::prepare()?;
    let mut tests = cargo();
    tests.args(["test", "--workspace", "--all-features", "--locked"]);
    for target in [
        "python_interop",
        "js_interop",
        "chat",
        "spec_examples",
        "upstream",
        "interop",
    ] {
        tests.args(["--test", target]);
    }
    interop.apply(&mut tests);
    run("cargo test (interop)", &mut tests)
}

fn deny() -> Result {
    let installed = Command::new("cargo-deny")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !installed {
        run(
            "cargo install cargo-deny",
            cargo().args(["install", "--locked", "cargo-deny"]),
        )?;
    }
    // `advisories` downloads the RustSec database, which this project's machines cannot reach.
    run(
        "cargo deny check bans licenses sources",
        cargo().args(["deny", "check", "bans", "licenses", "sources"]),
    )
}

fn bench(extra: &[String]) -> Result {
    // The handler's benchmark measures the official express handler beside ours.
    let interop = interop::prepare()?;
    let mut benches = cargo();
    benches.args(["bench", "--workspace"]).args(extra);
    interop.apply(&mut benches);
    run("cargo bench", &mut benches)
}
