//! The official SDKs the interop tests drive, installed into `target/interop/`.
//!
//! Python packages go into a virtual environment so the machine's Python stays untouched; npm
//! packages into `target/interop/node`. The tests find them through `WEBPUBSUB_TEST_PYTHON` and
//! `WEBPUBSUB_TEST_NODE_PATH`; `WEBPUBSUB_REQUIRE_INTEROP=1` turns a missing package into a
//! failure instead of a skip.

use std::path::PathBuf;
use std::process::Command;

use crate::{root, run, Result};

/// Pinned Python packages: the baseline SDKs our users run.
const PYTHON_PACKAGES: &[&str] = &[
    "azure-messaging-webpubsubservice==1.3.0",
    "azure-messaging-webpubsubclient==1.1.0",
];

/// Pinned npm packages: the JS service SDK, the express handler and the JS WebSocket client
/// (its package asks for Node 22; everything the tests use runs on Node 20).
const NODE_PACKAGES: &[&str] = &[
    "@azure/web-pubsub@1.2.0",
    "@azure/web-pubsub-client@1.1.0",
    "@azure/web-pubsub-express@1.1.0",
    "express@4.21.2",
];

/// What the test run needs to find the interop tools.
#[derive(Debug)]
pub(crate) struct Interop {
    python: PathBuf,
    node_path: PathBuf,
    chromium: String,
    tmux: String,
}

/// A Debian package's binary (`chromium` for the browser test, `tmux` for the terminal test),
/// installed with apt-get when missing; `version` is the flag that makes it print its version.
fn prepare_debian(binary: &str, version: &str) -> Result<String> {
    let works = || {
        Command::new(binary)
            .arg(version)
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if works() {
        return Ok(binary.into());
    }
    run(
        "apt-get update",
        Command::new("apt-get").args(["update", "-qq"]),
    )
    .and_then(|()| {
        run(
            &format!("apt-get install {binary}"),
            Command::new("apt-get")
                .args(["install", "-y", "-qq", binary])
                .env("DEBIAN_FRONTEND", "noninteractive"),
        )
    })
    .map_err(|e| format!("{e}: the tests need Debian's {binary} package"))?;
    if works() {
        Ok(binary.into())
    } else {
        Err(format!("{binary} was installed but does not start"))
    }
}

impl Interop {
    pub(crate) fn apply(&self, command: &mut Command) {
        command
            .env("WEBPUBSUB_TEST_PYTHON", &self.python)
            .env("WEBPUBSUB_TEST_NODE_PATH", &self.node_path)
            .env("WEBPUBSUB_TEST_CHROMIUM", &self.chromium)
            .env("WEBPUBSUB_TEST_TMUX", &self.tmux)
            .env("WEBPUBSUB_REQUIRE_INTEROP", "1");
    }
}

/// Installs the pinned npm packages when they are missing.
fn prepare_node() -> Result<PathBuf> {
    let dir = root().join("target").join("interop").join("node");
    let modules = dir.join("node_modules");
    let stamp = dir.join(".installed");
    let wanted = NODE_PACKAGES.join("\n");
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str()) && modules.exists()
    {
        return Ok(modules);
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    std::fs::write(
        dir.join("package.json"),
        "{\"name\":\"webpubsub-interop\",\"private\":true}\n",
    )
    .map_err(|e| format!("writing package.json: {e}"))?;
    run(
        "npm install the official JS packages",
        Command::new("npm")
            .current_dir(&dir)
            .args([
                "install",
                "--silent",
                "--no-audit",
                "--no-fund",
                "--save-exact",
            ])
            .args(NODE_PACKAGES),
    )
    .map_err(|e| format!("{e}: the interop tests need Node.js and npm"))?;
    std::fs::write(&stamp, wanted).map_err(|e| format!("writing {}: {e}", stamp.display()))?;
    Ok(modules)
}

/// Creates the virtual environment and installs the pinned packages when they are missing.
pub(crate) fn prepare() -> Result<Interop> {
    let venv = root().join("target").join("interop").join("venv");
    let python = venv.join("bin").join("python");
    let stamp = venv.join(".installed");
    let wanted = PYTHON_PACKAGES.join("\n");
    let node_path = prepare_node()?;
    let chromium = prepare_debian("chromium", "--version")?;
    let tmux = prepare_debian("tmux", "-V")?;
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str()) && python.exists() {
        return Ok(Interop {
            python,
            node_path,
            chromium,
            tmux,
        });
    }
    let system_python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    run(
        "python3 -m venv target/interop/venv",
        Command::new(&system_python)
            .arg("-m")
            .arg("venv")
            .arg(&venv),
    )
    .map_err(|e| format!("{e}: the interop tests need Python 3 with venv"))?;
    run(
        "pip install the official Python SDKs",
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .args(PYTHON_PACKAGES),
    )?;
    std::fs::write(&stamp, wanted).map_err(|e| format!("writing {}: {e}", stamp.display()))?;
    Ok(Interop {
        python,
        node_path,
        chromium,
        tmux,
    })
}
