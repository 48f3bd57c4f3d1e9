//! Helpers shared by the examples in `examples/`, and the chat app server.

pub mod chat;

/// The connection string from `WEBPUBSUB_CONNECTION_STRING`, or `None` after saying (on stderr)
/// how to run the example against a service.
pub fn connection_string(example: &str) -> Option<String> {
    match std::env::var("WEBPUBSUB_CONNECTION_STRING") {
        Ok(value) if !value.trim().is_empty() => Some(value),
        _ => {
            eprintln!(
                "{example}: set WEBPUBSUB_CONNECTION_STRING to run the service calls, e.g.\n  \
                 WEBPUBSUB_CONNECTION_STRING=\"Endpoint=https://<name>.webpubsub.azure.com;AccessKey=<key>;Version=1.0;\" \
                 cargo run -p examples --example {example}"
            );
            None
        }
    }
}
