//! `webpubsub send`: one message (or one per input line) to everyone, a user, a group or a
//! connection, as text, JSON or binary.

use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, BufReader};
use webpubsub::{
    Filter, Payload, SendToAllOptions, SendToConnectionOptions, SendToGroupOptions,
    SendToUserOptions,
};

use crate::connection::Service;
use crate::failure::Failure;
use crate::output::Progress;

/// Who receives it.
#[derive(Debug, clap::Args)]
#[group(multiple = false)]
pub(crate) struct Recipients {
    /// Everyone in the hub (the default).
    #[arg(long)]
    all: bool,
    /// A user's connections.
    #[arg(long)]
    user: Option<String>,
    /// A group's connections.
    #[arg(long)]
    group: Option<String>,
    /// One connection.
    #[arg(long)]
    connection: Option<String>,
}

/// `send` options.
#[derive(Debug, clap::Args)]
pub(crate) struct SendArgs {
    #[command(flatten)]
    to: Recipients,
    /// Send as text (the default).
    #[arg(long, conflicts_with_all = ["json", "binary"])]
    text: bool,
    /// Send as JSON (checked before sending).
    #[arg(long, conflicts_with = "binary")]
    json: bool,
    /// Send the bytes of a file (`@path`), or of stdin (`-`), as binary.
    #[arg(long, value_name = "@FILE|-")]
    binary: Option<String>,
    /// Only to the connections this OData filter selects, e.g. `'room' in groups`.
    #[arg(long)]
    filter: Option<String>,
    /// Not to this connection (repeatable; everyone or a group).
    #[arg(long = "exclude", value_name = "CONNECTION")]
    exclude: Vec<String>,
    /// Drop the message for connections that have not received it within this many seconds.
    #[arg(long, value_name = "SECONDS")]
    ttl: Option<u32>,
    /// One message per line of the input.
    #[arg(long)]
    lines: bool,
    /// The message, or `-` to read it from stdin.
    #[arg(value_name = "MESSAGE|-")]
    message: Option<String>,
}

/// The recipients, resolved.
enum Target<'a> {
    All,
    User(&'a str),
    Group(&'a str),
    Connection(&'a str),
}

impl Recipients {
    fn target(&self) -> Target<'_> {
        match (&self.user, &self.group, &self.connection) {
            (Some(user), _, _) => Target::User(user),
            (_, Some(group), _) => Target::Group(group),
            (_, _, Some(connection)) => Target::Connection(connection),
            // `--all`, or no recipient given.
            _ => Target::All,
        }
    }
}

enum Kind {
    Text,
    Json,
}

pub(crate) async fn run(service: &Service, args: SendArgs) -> Result<(), Failure> {
    let filter = args
        .filter
        .as_deref()
        .map(|expr| Filter::parse(expr).map_err(|e| Failure::usage(format!("--filter: {e}"))))
        .transpose()?;
    if filter.is_some() && args.to.connection.is_some() {
        return Err(Failure::usage("--filter does not apply to --connection"));
    }
    if !args.exclude.is_empty() && (args.to.user.is_some() || args.to.connection.is_some()) {
        return Err(Failure::usage("--exclude applies to everyone or a group"));
    }
    let sender = Sender {
        service,
        to: &args.to,
        filter,
        exclude: args.exclude.clone(),
        ttl: args.ttl,
    };
    if let Some(source) = &args.binary {
        if args.message.is_some() || args.lines {
            return Err(Failure::usage(
                "--binary takes its bytes from @FILE or -, not from MESSAGE or --lines",
            ));
        }
        let bytes = match source.as_str() {
            "-" => {
                let mut bytes = Vec::new();
                tokio::io::stdin()
                    .read_to_end(&mut bytes)
                    .await
                    .map_err(|e| Failure::io("reading stdin", &e))?;
                bytes
            }
            path => {
                let path = path.strip_prefix('@').ok_or_else(|| {
                    Failure::usage("--binary takes @FILE (a path after @) or - (stdin)")
                })?;
                std::fs::read(path).map_err(|e| Failure::io(&format!("reading {path}"), &e))?
            }
        };
        return sender.send(Payload::binary(bytes)).await;
    }
    let kind = if args.json { Kind::Json } else { Kind::Text };
    let message = args.message.as_deref().ok_or_else(|| {
        Failure::usage("nothing to send: give MESSAGE, - for stdin, or --binary @FILE")
    })?;
    match (message, args.lines) {
        ("-", true) => {
            let mut lines = BufReader::new(tokio::io::stdin()).lines();
            let mut progress = Progress::new();
            let mut number = 0u64;
            while let Some(text) = lines
                .next_line()
                .await
                .map_err(|e| Failure::io("reading stdin", &e))?
            {
                number += 1;
                if text.is_empty() {
                    continue;
                }
                let payload = payload(&kind, text)
                    .map_err(|e| Failure::usage(format!("line {number}: {e}")))?;
                sender.send(payload).await?;
                progress.sent_one();
            }
            progress.finish();
            Ok(())
        }
        (_, true) => Err(Failure::usage("--lines reads stdin: pass - as the message")),
        ("-", false) => {
            let mut text = String::new();
            tokio::io::stdin()
                .read_to_string(&mut text)
                .await
                .map_err(|e| Failure::io("reading stdin (as UTF-8 text)", &e))?;
            let text = text.strip_suffix('\n').unwrap_or(&text).to_owned();
            sender
                .send(payload(&kind, text).map_err(Failure::usage)?)
                .await
        }
        (text, false) => {
            sender
                .send(payload(&kind, text.to_owned()).map_err(Failure::usage)?)
                .await
        }
    }
}

fn payload(kind: &Kind, text: String) -> Result<Payload, String> {
    match kind {
        Kind::Text => Ok(Payload::text(text)),
        Kind::Json => Payload::json_raw(text).map_err(|_| "the message is not valid JSON".into()),
    }
}

struct Sender<'a> {
    service: &'a Service,
    to: &'a Recipients,
    filter: Option<Filter>,
    exclude: Vec<String>,
    ttl: Option<u32>,
}

impl Sender<'_> {
    async fn send(&self, payload: Payload) -> Result<(), Failure> {
        let service = self.service;
        let (filter, ttl) = (self.filter.clone(), self.ttl);
        let sent = match self.to.target() {
            Target::User(user) => {
                let options = SendToUserOptions {
                    filter,
                    message_ttl_seconds: ttl,
                };
                service.send_to_user(user, payload, Some(options)).await
            }
            Target::Group(group) => {
                let options = SendToGroupOptions {
                    excluded: self.exclude.clone(),
                    filter,
                    message_ttl_seconds: ttl,
                };
                service.send_to_group(group, payload, Some(options)).await
            }
            Target::Connection(connection) => {
                let options = SendToConnectionOptions {
                    message_ttl_seconds: ttl,
                };
                service
                    .send_to_connection(connection, payload, Some(options))
                    .await
            }
            Target::All => {
                let options = SendToAllOptions {
                    excluded: self.exclude.clone(),
                    filter,
                    message_ttl_seconds: ttl,
                };
                service.send_to_all(payload, Some(options)).await
            }
        };
        Ok(sent?)
    }
}
