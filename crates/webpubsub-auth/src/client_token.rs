//! Client access tokens: the JWT a WebSocket client presents to `/client/hubs/{hub}`.

use std::fmt;
use std::time::{Duration, SystemTime};

use serde_json::{Map, Value};
use thiserror::Error;

use webpubsub_protocol::roles::Role;
use webpubsub_protocol::validate::{self, ValidationError};
use webpubsub_protocol::ClientProtocol;

use crate::connection_string::ConnectionString;
use crate::endpoint::Endpoint;
use crate::jwt::{self, unix_seconds, ClaimsWriter, RESERVED_HEADER_FIELDS};
use crate::secret::AccessKey;

/// The default lifetime of a client access token: 60 minutes, as in every official SDK.
pub const DEFAULT_CLIENT_TOKEN_LIFETIME: Duration = Duration::from_secs(60 * 60);

/// Why a token could not be minted.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The hub, a group or a role breaks one of the service's rules (the rules of
    /// [`webpubsub_protocol::validate`], the same everywhere).
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The lifetime is zero (under one second) or too large to represent.
    #[error("the token lifetime must be at least one second and end before year 292277026596")]
    InvalidLifetime,
    /// An extra JWT header tried to set `alg` or `typ`.
    #[error("the JWT header field `{name}` is set by the signer and cannot be overridden")]
    ReservedHeader {
        /// The reserved field's name.
        name: &'static str,
    },
    /// The access key is empty.
    #[error("the access key is empty")]
    EmptyKey,
    /// The claims could not be serialised (a custom header value failed to serialise).
    #[error("the token could not be encoded")]
    Encoding,
}

/// What goes into a client access token. `Default` is a 60-minute token with no user, roles or
/// groups for the default WebSocket endpoint.
///
/// ```
/// use std::time::Duration;
/// use webpubsub_auth::{ClientAccessTokenOptions, Role};
///
/// let options = ClientAccessTokenOptions::default()
///     .user_id("alice")
///     .role(Role::join_leave_group_named("room"))
///     .group("room")
///     .expires_after(Duration::from_secs(600))
///     .header("kid", "key-1");
/// assert_eq!(options.groups, ["room"]);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ClientAccessTokenOptions {
    /// The `sub` claim; omitted when `None` or empty.
    pub user_id: Option<String>,
    /// The `role` claim; omitted when empty.
    pub roles: Vec<Role>,
    /// The `webpubsub.group` claim (groups joined at connect); omitted when empty.
    pub groups: Vec<String>,
    /// Lifetime; `exp = iat + expires_after` (whole seconds). Default 60 minutes.
    pub expires_after: Duration,
    /// Which client endpoint the token is for.
    pub protocol: ClientProtocol,
    /// Extra JWT header fields, e.g. `kid`. `alg` and `typ` cannot be set.
    pub jwt_headers: Map<String, Value>,
}

impl Default for ClientAccessTokenOptions {
    fn default() -> Self {
        Self {
            user_id: None,
            roles: Vec::new(),
            groups: Vec::new(),
            expires_after: DEFAULT_CLIENT_TOKEN_LIFETIME,
            protocol: ClientProtocol::Default,
            jwt_headers: Map::new(),
        }
    }
}

impl ClientAccessTokenOptions {
    /// Sets the user id (`sub`).
    pub fn user_id(mut self, user_id: impl Into<String>) -> Self {
        self.user_id = Some(user_id.into());
        self
    }

    /// Adds a role.
    pub fn role(mut self, role: impl Into<Role>) -> Self {
        self.roles.push(role.into());
        self
    }

    /// Adds a group to join on connect.
    pub fn group(mut self, group: impl Into<String>) -> Self {
        self.groups.push(group.into());
        self
    }

    /// Sets the lifetime.
    pub fn expires_after(mut self, lifetime: Duration) -> Self {
        self.expires_after = lifetime;
        self
    }

    /// Sets the client protocol.
    pub fn protocol(mut self, protocol: ClientProtocol) -> Self {
        self.protocol = protocol;
        self
    }

    /// Adds an extra JWT header field.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.jwt_headers.insert(name.into(), value.into());
        self
    }
}

/// A minted client access token and the URLs a client connects with.
///
/// `Debug` redacts the token (and the `url`, which contains it).
#[derive(Clone, PartialEq, Eq)]
pub struct ClientAccessToken {
    /// The JWT.
    pub token: String,
    /// `base_url?access_token=<token>`: give this to the client.
    pub url: String,
    /// The `ws://` or `wss://` URL of the hub's client endpoint, without the token.
    pub base_url: String,
    /// When the token expires.
    pub expires_at: SystemTime,
}

impl ClientAccessToken {
    /// Whether the token expires within `margin` of `now` (time to fetch a new one).
    ///
    /// ```
    /// # use std::time::{Duration, SystemTime};
    /// # use webpubsub_auth::{ConnectionString, ClientAccessTokenOptions};
    /// # let cs: ConnectionString = "Endpoint=http://localhost:8080;AccessKey=k".parse().unwrap();
    /// let token = cs.client_access_token("chat", &ClientAccessTokenOptions::default())?;
    /// assert!(!token.expires_within(Duration::from_secs(300), SystemTime::now()));
    /// assert!(token.expires_within(Duration::from_secs(3600), SystemTime::now()));
    /// # Ok::<(), webpubsub_auth::TokenError>(())
    /// ```
    pub fn expires_within(&self, margin: Duration, now: SystemTime) -> bool {
        now + margin >= self.expires_at
    }
}

impl fmt::Debug for ClientAccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientAccessToken")
            .field("token", &"<redacted>")
            .field(
                "url",
                &format_args!("{}?access_token=<redacted>", self.base_url),
            )
            .field("base_url", &self.base_url)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// The audience of a client access token: the http(s) endpoint plus the protocol's hub path.
///
/// ```
/// use webpubsub_auth::{client_audience, ClientProtocol, Endpoint};
///
/// let endpoint = Endpoint::parse("https://Contoso.WebPubSub.Azure.com/")?;
/// assert_eq!(
///     client_audience(&endpoint, ClientProtocol::Mqtt, "Hub1"),
///     "https://contoso.webpubsub.azure.com/clients/mqtt/hubs/Hub1"
/// );
/// # Ok::<(), webpubsub_auth::EndpointError>(())
/// ```
pub fn client_audience(endpoint: &Endpoint, protocol: ClientProtocol, hub: &str) -> String {
    join3(endpoint.as_str(), protocol.path_prefix(), hub)
}

fn join3(a: &str, b: &str, c: &str) -> String {
    let mut out = String::with_capacity(a.len() + b.len() + c.len());
    out.push_str(a);
    out.push_str(b);
    out.push_str(c);
    out
}

pub(crate) fn check_lifetime(
    lifetime: Duration,
    now: SystemTime,
) -> Result<(u64, u64), TokenError> {
    let iat = unix_seconds(now);
    let seconds = lifetime.as_secs();
    if seconds == 0 {
        return Err(TokenError::InvalidLifetime);
    }
    let exp = iat
        .checked_add(seconds)
        .filter(|exp| *exp <= i64::MAX as u64 / 1000)
        .ok_or(TokenError::InvalidLifetime)?;
    Ok((iat, exp))
}

pub(crate) fn check_headers(headers: &Map<String, Value>) -> Result<(), TokenError> {
    for name in RESERVED_HEADER_FIELDS {
        if headers.keys().any(|k| k == name) {
            return Err(TokenError::ReservedHeader { name });
        }
    }
    Ok(())
}

/// Mints a client access token signed with `key`, issued at `now`.
///
/// The claims are exactly what the service and the official SDKs use: `aud`
/// ([`client_audience`]), `iat`, `exp`, `sub` when a user id is given, and `role` and
/// `webpubsub.group` arrays when non-empty. Use [`ConnectionString::client_access_token`] for the
/// common case.
///
/// ```
/// use std::time::{Duration, SystemTime, UNIX_EPOCH};
/// use webpubsub_auth::{client_access_token, AccessKey, ClientAccessTokenOptions, Endpoint};
///
/// let endpoint = Endpoint::parse("https://contoso.webpubsub.azure.com")?;
/// let key = AccessKey::new("my-key");
/// let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
/// let token = client_access_token(&endpoint, &key, "chat", &ClientAccessTokenOptions::default(), now)?;
/// assert_eq!(token.base_url, "wss://contoso.webpubsub.azure.com/client/hubs/chat");
/// assert_eq!(token.url, format!("{}?access_token={}", token.base_url, token.token));
/// assert_eq!(token.expires_at, now + Duration::from_secs(3600));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// A [`TokenError`] for an invalid hub, group, role, lifetime, header or an empty key.
pub fn client_access_token(
    endpoint: &Endpoint,
    key: &AccessKey,
    hub: &str,
    options: &ClientAccessTokenOptions,
    now: SystemTime,
) -> Result<ClientAccessToken, TokenError> {
    validate::hub(hub)?;
    if key.is_empty() {
        return Err(TokenError::EmptyKey);
    }
    for group in &options.groups {
        validate::group(group)?;
    }
    for role in &options.roles {
        role.validate()?;
    }
    check_headers(&options.jwt_headers)?;
    let (iat, exp) = check_lifetime(options.expires_after, now)?;

    let prefix = options.protocol.path_prefix();
    let mut claims = ClaimsWriter::with_capacity(
        endpoint.as_str().len()
            + prefix.len()
            + hub.len()
            + 64
            + options.user_id.as_ref().map_or(0, String::len)
            + options
                .roles
                .iter()
                .map(|r| r.as_str().len() + 3)
                .sum::<usize>()
            + options.groups.iter().map(|g| g.len() + 3).sum::<usize>(),
    );
    claims.string_parts("aud", &[endpoint.as_str(), prefix, hub]);
    claims.number("iat", iat);
    claims.number("exp", exp);
    if let Some(user_id) = options.user_id.as_deref().filter(|u| !u.is_empty()) {
        claims.string("sub", user_id);
    }
    if !options.roles.is_empty() {
        claims.strings("role", options.roles.iter().map(Role::as_str));
    }
    if !options.groups.is_empty() {
        claims.strings("webpubsub.group", options.groups.iter().map(String::as_str));
    }
    let token = jwt::encode(&claims.finish(), &options.jwt_headers, &key.hmac_key())
        .map_err(|_| TokenError::Encoding)?;
    let base_url = join3(endpoint.websocket_origin(), prefix, hub);
    Ok(ClientAccessToken {
        url: join3(&base_url, "?access_token=", &token),
        token,
        base_url,
        expires_at: std::time::UNIX_EPOCH + Duration::from_secs(exp),
    })
}

impl ConnectionString {
    /// Mints a client access token for `hub`, issued now, signed with this connection string's key.
    ///
    /// ```
    /// use webpubsub_auth::{ClientAccessTokenOptions, ConnectionString, Role};
    ///
    /// let cs: ConnectionString = "Endpoint=https://contoso.webpubsub.azure.com;AccessKey=my-key;Version=1.0;".parse()?;
    /// let token = cs.client_access_token(
    ///     "chat",
    ///     &ClientAccessTokenOptions::default().user_id("alice").role(Role::send_to_group()),
    /// )?;
    /// assert!(token.url.starts_with("wss://contoso.webpubsub.azure.com/client/hubs/chat?access_token=ey"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// See [`client_access_token`].
    pub fn client_access_token(
        &self,
        hub: &str,
        options: &ClientAccessTokenOptions,
    ) -> Result<ClientAccessToken, TokenError> {
        client_access_token(
            self.endpoint(),
            self.access_key(),
            hub,
            options,
            SystemTime::now(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::TokenValidator;
    use std::time::UNIX_EPOCH;
    use webpubsub_protocol::validate::ValidationRule;
    use webpubsub_protocol::UnknownClientProtocol;

    const KEY: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ABCDEFGH";
    const NOW: u64 = 1_700_000_000;

    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(NOW)
    }

    fn mint(
        endpoint: &str,
        hub: &str,
        options: &ClientAccessTokenOptions,
    ) -> Result<ClientAccessToken, TokenError> {
        client_access_token(
            &Endpoint::parse(endpoint).unwrap(),
            &AccessKey::new(KEY),
            hub,
            options,
            now(),
        )
    }

    fn claims_of(token: &str) -> Value {
        let payload = token.split('.').nth(1).unwrap();
        serde_json::from_slice(&jwt::decode_segment(payload).unwrap()).unwrap()
    }

    #[test]
    fn minimal_token_has_exactly_aud_iat_exp() {
        let token = mint(
            "http://localhost:8080",
            "hub",
            &ClientAccessTokenOptions::default(),
        )
        .unwrap();
        assert_eq!(
            claims_of(&token.token),
            serde_json::json!({"aud": "http://localhost:8080/client/hubs/hub", "iat": NOW, "exp": NOW + 3600})
        );
        assert_eq!(token.base_url, "ws://localhost:8080/client/hubs/hub");
        assert_eq!(
            token.url,
            format!(
                "ws://localhost:8080/client/hubs/hub?access_token={}",
                token.token
            )
        );
        assert_eq!(token.expires_at, now() + Duration::from_secs(3600));
    }

    #[test]
    fn full_token_carries_sub_roles_groups() {
        let options = ClientAccessTokenOptions::default()
            .user_id("ab")
            .role(Role::join_leave_group())
            .role(Role::send_to_group_named("g/1"))
            .group("g/1")
            .group("a")
            .expires_after(Duration::from_secs(5 * 60));
        let token = mint("https://Contoso.WebPubSub.Azure.com/", "Hub1", &options).unwrap();
        assert_eq!(
            claims_of(&token.token),
            serde_json::json!({
                "aud": "https://contoso.webpubsub.azure.com/client/hubs/Hub1",
                "iat": NOW, "exp": NOW + 300, "sub": "ab",
                "role": ["webpubsub.joinLeaveGroup", "webpubsub.sendToGroup.g/1"],
                "webpubsub.group": ["g/1", "a"],
            })
        );
        assert_eq!(
            token.base_url,
            "wss://contoso.webpubsub.azure.com/client/hubs/Hub1"
        );
    }

    #[test]
    fn empty_user_id_is_omitted() {
        let token = mint(
            "https://a",
            "hub",
            &ClientAccessTokenOptions::default().user_id(""),
        )
        .unwrap();
        assert!(claims_of(&token.token).get("sub").is_none());
    }

    #[test]
    fn protocols_choose_the_path() {
        for (protocol, base, aud) in [
            (
                ClientProtocol::Default,
                "ws://localhost:8080/client/hubs/hub",
                "http://localhost:8080/client/hubs/hub",
            ),
            (
                ClientProtocol::Mqtt,
                "ws://localhost:8080/clients/mqtt/hubs/hub",
                "http://localhost:8080/clients/mqtt/hubs/hub",
            ),
            (
                ClientProtocol::SocketIo,
                "ws://localhost:8080/clients/socketio/hubs/hub",
                "http://localhost:8080/clients/socketio/hubs/hub",
            ),
        ] {
            let token = mint(
                "http://localhost:8080",
                "hub",
                &ClientAccessTokenOptions::default().protocol(protocol),
            )
            .unwrap();
            assert_eq!(token.base_url, base);
            assert_eq!(claims_of(&token.token)["aud"], aud);
        }
        assert_eq!(
            "Default".parse::<ClientProtocol>(),
            Ok(ClientProtocol::Default)
        );
        assert_eq!(
            "SocketIO".parse::<ClientProtocol>(),
            Ok(ClientProtocol::SocketIo)
        );
        assert_eq!(
            "socket.io".parse::<ClientProtocol>(),
            Ok(ClientProtocol::SocketIo)
        );
        assert_eq!("x".parse::<ClientProtocol>(), Err(UnknownClientProtocol));
        assert_eq!(ClientProtocol::Mqtt.client_type(), "MQTT");
    }

    #[test]
    fn extra_headers_are_set_and_reserved_ones_refused() {
        let token = mint(
            "https://a",
            "hub",
            &ClientAccessTokenOptions::default().header("kid", "1234567890"),
        )
        .unwrap();
        let verified = TokenValidator::new([AccessKey::new(KEY)])
            .verify(&token.token, |_| true, now())
            .unwrap();
        assert_eq!(verified.header.key_id.as_deref(), Some("1234567890"));
        for name in ["alg", "typ"] {
            assert_eq!(
                mint(
                    "https://a",
                    "hub",
                    &ClientAccessTokenOptions::default().header(name, "none")
                ),
                Err(TokenError::ReservedHeader { name })
            );
        }
    }

    fn hub_error() -> TokenError {
        TokenError::Invalid(ValidationError::new("hub", ValidationRule::HubPattern))
    }

    fn group_error(rule: ValidationRule) -> TokenError {
        TokenError::Invalid(ValidationError::new("group", rule))
    }

    #[test]
    fn validation_errors() {
        let d = ClientAccessTokenOptions::default;
        let cases: Vec<(&str, ClientAccessTokenOptions, TokenError)> = vec![
            ("", d(), hub_error()),
            ("1hub", d(), hub_error()),
            ("hub/x", d(), hub_error()),
            ("hub", d().group(" "), group_error(ValidationRule::NotBlank)),
            (
                "hub",
                d().group("ok").group(""),
                group_error(ValidationRule::NonEmpty),
            ),
            (
                "hub",
                d().group("x".repeat(1025)),
                group_error(ValidationRule::MaxChars(1024)),
            ),
            (
                "hub",
                d().role(""),
                TokenError::Invalid(ValidationError::new("role", ValidationRule::NonEmpty)),
            ),
            (
                "hub",
                d().expires_after(Duration::ZERO),
                TokenError::InvalidLifetime,
            ),
            (
                "hub",
                d().expires_after(Duration::from_millis(999)),
                TokenError::InvalidLifetime,
            ),
            (
                "hub",
                d().expires_after(Duration::MAX),
                TokenError::InvalidLifetime,
            ),
        ];
        for (hub, options, expected) in cases {
            assert_eq!(
                mint("https://a", hub, &options),
                Err(expected),
                "{hub} {options:?}"
            );
        }
        assert_eq!(
            mint("https://a", &format!("h{}", "a".repeat(128)), &d()),
            Err(hub_error())
        );
        assert!(mint("https://a", &format!("h{}", "a".repeat(127)), &d()).is_ok());
        assert!(mint("https://a", "A_`,.[]9", &d()).is_ok());
        assert!(mint("https://a", "hub", &d().group("x".repeat(1024))).is_ok());
        assert_eq!(
            client_access_token(
                &Endpoint::parse("https://a").unwrap(),
                &AccessKey::new(""),
                "hub",
                &d(),
                now()
            ),
            Err(TokenError::EmptyKey)
        );
    }

    #[test]
    fn debug_redacts_the_token() {
        let token = mint("https://a", "hub", &ClientAccessTokenOptions::default()).unwrap();
        let debug = format!("{token:?}");
        assert!(!debug.contains(&token.token), "{debug}");
        assert!(
            debug.contains("wss://a/client/hubs/hub?access_token=<redacted>"),
            "{debug}"
        );
    }

    #[test]
    fn expiry_helper() {
        let token = mint("https://a", "hub", &ClientAccessTokenOptions::default()).unwrap();
        assert!(!token.expires_within(Duration::from_secs(3599), now()));
        assert!(token.expires_within(Duration::from_secs(3600), now()));
    }
}
