//! `webpubsub listen`: a `webpubsub-client` on the reliable protocol that prints every message
//! as it arrives, survives dropped connections (a fresh token for each new one), and on Ctrl-C
//! closes with 1000.

use webpubsub::{ClientAccessTokenOptions, Role};
use webpubsub_client::{ClientCredential, ClientEvent, WebPubSubClient, WebPubSubClientOptions};

use crate::connection::Service;
use crate::failure::Failure;
use crate::output::{line, message_json, show};

/// `listen` options.
#[derive(Debug, clap::Args)]
pub(crate) struct ListenArgs {
    /// Join this group (repeatable).
    #[arg(long = "group", value_name = "GROUP")]
    groups: Vec<String>,
    /// Connect as this user.
    #[arg(long, default_value = "webpubsub-cli")]
    user: String,
    /// Print each message as one JSON object per line.
    #[arg(long)]
    json: bool,
}

pub(crate) async fn run(service: &Service, args: ListenArgs) -> Result<(), Failure> {
    for group in &args.groups {
        webpubsub::protocol::validate::group(group)
            .map_err(|e| Failure::usage(format!("--group {group:?}: {e}")))?;
    }
    let credential = {
        let client = service.client.clone();
        let (user, groups) = (args.user.clone(), args.groups.clone());
        ClientCredential::from_provider(move || {
            let client = client.clone();
            let mut options = ClientAccessTokenOptions::default().user_id(user.clone());
            for group in &groups {
                options = options.role(Role::join_leave_group_named(group));
            }
            async move {
                client
                    .get_client_access_token(Some(options))
                    .await
                    .map(|t| t.url)
            }
        })
    };
    let (client, mut events) = WebPubSubClient::new(credential, WebPubSubClientOptions::default());
    client.start().await?;
    for group in &args.groups {
        client.join_group(group).await?;
    }
    eprintln!(
        "listening as {} on connection {}{}; Ctrl-C to stop",
        args.user,
        client.connection_id().unwrap_or_default(),
        match args.groups.is_empty() {
            true => String::new(),
            false => format!(", groups {}", args.groups.join(", ")),
        }
    );
    let stop = webpubsub_emulator::cli::wait_for_signal();
    let mut stop = std::pin::pin!(stop);
    // The first connection's event was announced above.
    let mut first = true;
    loop {
        let event = tokio::select! {
            () = &mut stop => break,
            event = events.next() => event,
        };
        let Some(event) = event else { break };
        match event {
            ClientEvent::GroupMessage(m) => line(&match args.json {
                true => message_json(
                    Some(&m.group),
                    m.from_user_id.as_deref(),
                    &m.data,
                    m.sequence_id,
                ),
                false => format!(
                    "[{}] {}: {}",
                    m.group,
                    m.from_user_id.as_deref().unwrap_or("-"),
                    show(&m.data)
                ),
            }),
            ClientEvent::ServerMessage(m) => line(&match args.json {
                true => message_json(None, None, &m.data, m.sequence_id),
                false => format!("[server] {}", show(&m.data)),
            }),
            ClientEvent::Connected { .. } if std::mem::take(&mut first) => {}
            ClientEvent::Connected { connection_id, .. } => {
                eprintln!("connected again as {connection_id}");
            }
            ClientEvent::Disconnected {
                code,
                reason,
                message,
                ..
            } => eprintln!(
                "disconnected (close code {}, {reason}{}); reconnecting",
                code.map_or("none".to_owned(), |c| c.to_string()),
                message.map(|m| format!(": {m}")).unwrap_or_default()
            ),
            ClientEvent::RejoinGroupFailed { group, error } => {
                eprintln!("could not join {group} again: {error}");
            }
            ClientEvent::Stopped => break,
            _ => {}
        }
    }
    client.stop().await;
    eprintln!("stopped");
    Ok(())
}
