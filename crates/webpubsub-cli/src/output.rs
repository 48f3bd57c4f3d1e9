//! What the tool prints: messages as lines (text or one JSON object each), and a progress line
//! on long sends, drawn only when stdout is a terminal.

use std::io::{IsTerminal as _, Write as _};
use std::time::{Duration, Instant};

use base64::Engine as _;
use webpubsub::{ContentType, Payload};

/// A message's content for a human: text and JSON as they are, binary as base64.
pub(crate) fn show(data: &Payload) -> String {
    match data.content_type() {
        ContentType::Binary => format!(
            "<{} bytes> {}",
            data.body().len(),
            base64::engine::general_purpose::STANDARD.encode(data.body())
        ),
        _ => data.as_text().unwrap_or_default().to_owned(),
    }
}

/// A received message as one JSON object, in the subprotocol's own shape.
pub(crate) fn message_json(
    group: Option<&str>,
    from_user_id: Option<&str>,
    data: &Payload,
    sequence_id: Option<u64>,
) -> String {
    let mut object = serde_json::Map::new();
    match group {
        Some(group) => {
            object.insert("from".into(), "group".into());
            object.insert("group".into(), group.into());
            if let Some(user) = from_user_id {
                object.insert("fromUserId".into(), user.into());
            }
        }
        None => {
            object.insert("from".into(), "server".into());
        }
    }
    object.insert("dataType".into(), data.data_type().as_str().into());
    let raw = data.to_frame_data();
    let value: serde_json::Value = serde_json::from_str(raw.get()).unwrap_or_default();
    object.insert("data".into(), value);
    if let Some(sequence) = sequence_id {
        object.insert("sequenceId".into(), sequence.into());
    }
    serde_json::Value::Object(object).to_string()
}

/// Prints a line on stdout now (not when a buffer fills).
pub(crate) fn line(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{text}");
    let _ = stdout.flush();
}

/// A "sent N messages" line on stderr, redrawn at most every 100 ms; silent when stdout is not a
/// terminal (a pipe, a file, a test).
pub(crate) struct Progress {
    shown: bool,
    drawn: Option<Instant>,
    count: u64,
}

impl Progress {
    pub(crate) fn new() -> Self {
        Self {
            shown: std::io::stdout().is_terminal(),
            drawn: None,
            count: 0,
        }
    }

    pub(crate) fn sent_one(&mut self) {
        self.count += 1;
        if self.shown
            && self
                .drawn
                .is_none_or(|t| t.elapsed() >= Duration::from_millis(100))
        {
            eprint!("\r{} sent {}", spinner(self.count), self.count);
            self.drawn = Some(Instant::now());
        }
    }

    pub(crate) fn finish(self) {
        if self.shown && self.drawn.is_some() {
            eprintln!("\rsent {} messages", self.count);
        }
    }
}

fn spinner(n: u64) -> char {
    ['|', '/', '-', '\\'][(n / 7 % 4) as usize]
}
