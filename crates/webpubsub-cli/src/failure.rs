//! How the tool fails: one line on stderr and an exit code (1 a failure, 2 bad input).

use std::process::ExitCode;

/// A failed command: what to print, and the exit code.
#[derive(Debug)]
pub(crate) struct Failure {
    message: Option<String>,
    code: u8,
}

impl Failure {
    /// Bad input: exit code 2.
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Self {
            message: Some(message.into()),
            code: 2,
        }
    }

    /// A failure: exit code 1.
    pub(crate) fn failed(message: impl Into<String>) -> Self {
        Self {
            message: Some(message.into()),
            code: 1,
        }
    }

    /// A "no" from `exists` or `check`: exit code 1, nothing more printed.
    pub(crate) fn no() -> Self {
        Self {
            message: None,
            code: 1,
        }
    }

    pub(crate) fn io(what: &str, e: &std::io::Error) -> Self {
        Self::failed(format!("{what}: {e}"))
    }

    /// Prints the message (when there is one) and gives the exit code.
    pub(crate) fn report(self) -> ExitCode {
        if let Some(message) = self.message {
            eprintln!("error: {message}");
        }
        ExitCode::from(self.code)
    }
}

/// The one line of an error and its causes (`a: b: c`), without repeats.
fn chain(e: &dyn std::error::Error) -> String {
    let mut line = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        source = cause.source();
    }
    line
}

impl From<webpubsub::Error> for Failure {
    /// Service answers keep their status, code and message (`the service answered 404
    /// (Error.Code): ...`); bad input is exit code 2.
    fn from(e: webpubsub::Error) -> Self {
        if e.is_invalid_input() {
            Self::usage(chain(&e))
        } else if e.is_transport() || e.is_timeout() {
            let endpoint = "the endpoint did not answer";
            Self::failed(format!("{endpoint}: {}", chain(&e)))
        } else {
            Self::failed(chain(&e))
        }
    }
}

impl From<webpubsub_client::Error> for Failure {
    fn from(e: webpubsub_client::Error) -> Self {
        if e.is_invalid_input() {
            Self::usage(chain(&e))
        } else {
            Self::failed(chain(&e))
        }
    }
}
