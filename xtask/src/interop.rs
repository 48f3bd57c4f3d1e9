//! The official SDKs the interop tests drive, installed into `target/interop/`.
//!
//! Python packages go into a virtual environment so the machine's Python stays untouched. The
//! tests find it through `WEBPUBSUB_TEST_PYTHON`; `WEBPUBSUB_REQUIRE_INTEROP=1` turns a missing
//! package into a failure instead of a skip.

use std::path::PathBuf;
use std::process::Command;

use crate::{root, run, Result};

/// Pinned Python packages: the baseline SDKs our users run.
const PYTHON_PACKAGES: &[&str] = &[
    "azure-messaging-webpubsubservice==1.3.0",
    "azure-messaging-webpubsubclient==1.1.0",
];

/// What the test run needs to find the interop tools.
#[derive(Debug)]
pub(crate) struct Interop {
    python: PathBuf,
}

impl Interop {
    pub(crate) fn apply(&self, command: &mut Command) {
        command
            .env("WEBPUBSUB_TEST_PYTHON", &self.python)
            .env("WEBPUBSUB_REQUIRE_INTEROP", "1");
    }
}

/// Creates the virtual environment and installs the pinned packages when they are missing.
pub(crate) fn prepare() -> Result<Interop> {
    let venv = root().join("target").join("interop").join("venv");
    let python = venv.join("bin").join("python");
    let stamp = venv.join(".installed");
    let wanted = PYTHON_PACKAGES.join("\n");
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str()) && python.exists() {
        return Ok(Interop { python });
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
    Ok(Interop { python })
}
