//! `webpubsub token`: a client access URL, minted with the connection string's key.

use std::time::{Duration, UNIX_EPOCH};

use webpubsub::{ClientAccessTokenOptions, ClientProtocol, Role};

use crate::connection::Service;
use crate::failure::Failure;
use crate::output::line;

/// `token` options.
#[derive(Debug, clap::Args)]
pub(crate) struct TokenArgs {
    /// The user id (`sub`).
    #[arg(long)]
    user: Option<String>,
    /// A role, e.g. `webpubsub.joinLeaveGroup` or `webpubsub.sendToGroup.room` (repeatable).
    #[arg(long = "role", value_name = "ROLE")]
    roles: Vec<String>,
    /// A group joined at connect (repeatable).
    #[arg(long = "group", value_name = "GROUP")]
    groups: Vec<String>,
    /// Lifetime: `90s`, `60m`, `2h`, `1d` (a bare number is minutes).
    #[arg(long, default_value = "60m")]
    expires: String,
    /// The client endpoint: `default`, `mqtt` or `socketio`.
    #[arg(long, default_value = "default")]
    protocol: String,
    /// Print `{"token", "url", "baseUrl", "expiresAt"}` (expiry in Unix seconds).
    #[arg(long)]
    json: bool,
}

/// `90s`, `60m`, `2h`, `1d`, or a bare number of minutes.
pub(crate) fn parse_lifetime(value: &str) -> Result<Duration, String> {
    let value = value.trim();
    let (number, unit) = match value.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => value.split_at(at),
        None => (value, "m"),
    };
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{value:?} is not a lifetime like 90s, 60m, 2h or 1d"))?;
    let seconds = match unit {
        "s" => number,
        "m" => number * 60,
        "h" => number * 3600,
        "d" => number * 86_400,
        _ => return Err(format!("{value:?}: the unit is s, m, h or d")),
    };
    if seconds == 0 {
        return Err("the lifetime must be longer than zero".into());
    }
    Ok(Duration::from_secs(seconds))
}

pub(crate) async fn run(service: &Service, args: TokenArgs) -> Result<(), Failure> {
    let protocol: ClientProtocol = args
        .protocol
        .parse()
        .map_err(|e| Failure::usage(format!("--protocol: {e}")))?;
    let lifetime =
        parse_lifetime(&args.expires).map_err(|e| Failure::usage(format!("--expires: {e}")))?;
    let options = ClientAccessTokenOptions {
        user_id: args.user,
        roles: args.roles.into_iter().map(Role::from).collect(),
        groups: args.groups,
        expires_after: lifetime,
        protocol,
        ..Default::default()
    };
    let token = service.get_client_access_token(Some(options)).await?;
    if args.json {
        let expires = token
            .expires_at
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        line(
            &serde_json::json!({
                "token": token.token,
                "url": token.url,
                "baseUrl": token.base_url,
                "expiresAt": expires,
            })
            .to_string(),
        );
    } else {
        line(&token.url);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_lifetime;
    use std::time::Duration;

    #[test]
    fn lifetimes() {
        assert_eq!(parse_lifetime("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_lifetime("60m"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_lifetime("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_lifetime("1d"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_lifetime("5"), Ok(Duration::from_secs(300)));
        assert!(parse_lifetime("0m").is_err());
        assert!(parse_lifetime("ten").is_err());
        assert!(parse_lifetime("3w").is_err());
    }
}
