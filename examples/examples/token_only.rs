//! Token only: mint a client access token with `webpubsub-auth` alone (no HTTP, no runtime) and
//! check it the way the service does.
//!
//! ```text
//! cargo run -p examples --example token_only
//! WEBPUBSUB_CONNECTION_STRING="Endpoint=https://<name>.webpubsub.azure.com;AccessKey=<key>;Version=1.0;" \
//!     cargo run -p examples --example token_only
//! ```
//!
//! Without `WEBPUBSUB_CONNECTION_STRING` it uses the local development connection string
//! (`http://localhost:8080` with the well-known development key).

#![allow(clippy::print_stdout)] // an example reports on stdout

use std::time::{Duration, SystemTime};

use webpubsub_auth::{
    client_audience, AccessKey, ClientAccessTokenOptions, ClientProtocol, ConnectionString, Role,
    TokenValidator,
};

const HUB: &str = "token_only";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let connection_string = match std::env::var("WEBPUBSUB_CONNECTION_STRING") {
        Ok(value) => value,
        Err(_) => format!(
            "Endpoint=http://localhost:8080;AccessKey={};Version=1.0;",
            AccessKey::DEVELOPMENT
        ),
    };
    let cs: ConnectionString = connection_string.parse()?;
    // Debug output never shows the key.
    eprintln!("using {cs:?}");

    let token = cs.client_access_token(
        HUB,
        &ClientAccessTokenOptions::default()
            .user_id("token-only-user")
            .role(Role::join_leave_group_named("lobby"))
            .role(Role::send_to_group_named("lobby"))
            .group("lobby")
            .expires_after(Duration::from_secs(15 * 60)),
    )?;

    // The same checks the service runs when the client connects.
    let audience = client_audience(cs.endpoint(), ClientProtocol::Default, HUB);
    let verified = TokenValidator::new([cs.access_key().clone()]).verify(
        &token.token,
        |aud| aud.eq_ignore_ascii_case(&audience),
        SystemTime::now(),
    )?;

    let mut out = std::io::stdout().lock();
    use std::io::Write as _;
    writeln!(out, "client URL: {}", token.url)?;
    writeln!(out, "user:       {:?}", verified.claims.subject)?;
    writeln!(out, "roles:      {:?}", verified.claims.roles)?;
    writeln!(out, "groups:     {:?}", verified.claims.groups)?;
    writeln!(
        out,
        "expires in: {} s",
        token
            .expires_at
            .duration_since(SystemTime::now())
            .unwrap_or_default()
            .as_secs()
    )?;
    Ok(())
}
