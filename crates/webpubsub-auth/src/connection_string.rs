//! Parsing `Endpoint=...;AccessKey=...;Version=1.0;[Port=...;]` connection strings.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

use crate::endpoint::{parse_port, Endpoint, EndpointError};
use crate::secret::AccessKey;

/// Why a connection string could not be parsed.
///
/// No variant and no message ever contains a value from the string, so the access key cannot leak
/// into logs through an error. (The Python SDK echoes the whole string, key included.)
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ConnectionStringError {
    /// There is no `Endpoint=` part, or it is empty.
    #[error("the connection string has no Endpoint")]
    MissingEndpoint,
    /// There is no `AccessKey=` part, or it is empty.
    #[error("the connection string has no AccessKey")]
    MissingAccessKey,
    /// An `AuthType=` connection string (Entra ID / managed identity) has no key to sign with.
    #[error(
        "the connection string uses AuthType, which carries no AccessKey; \
         construct the client with an Entra ID TokenCredential instead"
    )]
    UnsupportedAuthType,
    /// The `Endpoint=` value is not a valid endpoint.
    #[error("the connection string's Endpoint is invalid")]
    InvalidEndpoint(#[source] EndpointError),
    /// The `Port=` value is not an integer from 1 to 65535.
    #[error("the connection string's Port must be an integer from 1 to 65535")]
    InvalidPort,
    /// A `;`-separated part has no `=` or no key name.
    #[error("part {position} of the connection string is not of the form key=value")]
    MalformedPart {
        /// The 1-based index of the `;`-separated part.
        position: usize,
    },
    /// A known key appears twice (keys are case-insensitive).
    #[error("the connection string sets {key} more than once")]
    DuplicateKey {
        /// The key's canonical name, e.g. `"AccessKey"`.
        key: &'static str,
    },
}

/// A parsed Web PubSub connection string.
///
/// Keys are case-insensitive, whitespace around parts, keys and values is trimmed, empty parts (a
/// trailing `;`) are fine, a value may contain `=` (base64 padding), `Port` replaces the
/// endpoint's port, and `Version` and unknown keys are accepted. `Debug` shows the endpoint and
/// never the key.
///
/// ```
/// use webpubsub_auth::ConnectionString;
///
/// let cs: ConnectionString =
///     "Endpoint=http://localhost;Port=8080;AccessKey=ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ABCDEFGH;Version=1.0;"
///         .parse()?;
/// assert_eq!(cs.endpoint().as_str(), "http://localhost:8080");
/// assert_eq!(cs.version(), Some("1.0"));
/// assert!(!format!("{cs:?}").contains("ABCDEFGH"));
/// # Ok::<(), webpubsub_auth::ConnectionStringError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ConnectionString {
    endpoint: Endpoint,
    access_key: AccessKey,
    version: Option<String>,
}

#[derive(Default)]
struct Parts<'a> {
    endpoint: Option<&'a str>,
    access_key: Option<&'a str>,
    version: Option<&'a str>,
    port: Option<&'a str>,
    auth_type: Option<&'a str>,
}

impl ConnectionString {
    /// Builds a connection string from its parts.
    pub fn new(endpoint: Endpoint, access_key: AccessKey) -> Self {
        Self {
            endpoint,
            access_key,
            version: Some("1.0".to_owned()),
        }
    }

    /// Parses a connection string.
    ///
    /// # Errors
    /// A [`ConnectionStringError`] naming the problem, without any value from the input.
    pub fn parse(input: &str) -> Result<Self, ConnectionStringError> {
        let mut parts = Parts::default();
        for (index, part) in input.split(';').enumerate() {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            let position = index + 1;
            let (key, value) = part
                .split_once('=')
                .ok_or(ConnectionStringError::MalformedPart { position })?;
            let (key, value) = (key.trim(), value.trim());
            if key.is_empty() {
                return Err(ConnectionStringError::MalformedPart { position });
            }
            let (slot, name) = match key.to_ascii_lowercase().as_str() {
                "endpoint" => (&mut parts.endpoint, "Endpoint"),
                "accesskey" => (&mut parts.access_key, "AccessKey"),
                "version" => (&mut parts.version, "Version"),
                "port" => (&mut parts.port, "Port"),
                "authtype" => (&mut parts.auth_type, "AuthType"),
                // Unknown keys (ClientEndpoint, ServerEndpoint, ...) are accepted and unused.
                _ => continue,
            };
            if slot.replace(value).is_some() {
                return Err(ConnectionStringError::DuplicateKey { key: name });
            }
        }

        let endpoint = parts
            .endpoint
            .filter(|v| !v.is_empty())
            .ok_or(ConnectionStringError::MissingEndpoint)?;
        let mut endpoint =
            Endpoint::parse(endpoint).map_err(ConnectionStringError::InvalidEndpoint)?;
        let access_key = match parts.access_key.filter(|v| !v.is_empty()) {
            Some(key) => AccessKey::new(key),
            None if parts.auth_type.is_some() => {
                return Err(ConnectionStringError::UnsupportedAuthType)
            }
            None => return Err(ConnectionStringError::MissingAccessKey),
        };
        if let Some(port) = parts.port {
            let port = parse_port(port).map_err(|_| ConnectionStringError::InvalidPort)?;
            endpoint = endpoint.with_port(port);
        }
        Ok(Self {
            endpoint,
            access_key,
            version: parts.version.map(str::to_owned),
        })
    }

    /// The normalised endpoint (with `Port` applied).
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The access key.
    pub fn access_key(&self) -> &AccessKey {
        &self.access_key
    }

    /// The `Version` value, if any (informational; the service uses `1.0`).
    pub fn version(&self) -> Option<&str> {
        self.version.as_deref()
    }

    /// Splits the connection string into its endpoint and key.
    pub fn into_parts(self) -> (Endpoint, AccessKey) {
        (self.endpoint, self.access_key)
    }
}

impl FromStr for ConnectionString {
    type Err = ConnectionStringError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<&str> for ConnectionString {
    type Error = ConnectionStringError;

    fn try_from(value: &str) -> Result<Self, Self::Error> {
        Self::parse(value)
    }
}

impl fmt::Display for ConnectionString {
    /// Renders the connection string with the key redacted.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Endpoint={};AccessKey={};",
            self.endpoint, self.access_key
        )?;
        if let Some(version) = &self.version {
            write!(f, "Version={version};")?;
        }
        Ok(())
    }
}

impl fmt::Debug for ConnectionString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionString")
            .field("endpoint", &self.endpoint.as_str())
            .field("access_key", &self.access_key)
            .field("version", &self.version)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    const KEY: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ABCDEFGH";

    fn parse(s: &str) -> Result<ConnectionString, ConnectionStringError> {
        s.parse()
    }

    #[test]
    fn parses_the_python_sdk_test_vectors() {
        let cases = [
            (
                format!("Endpoint=https://host;AccessKey={KEY};Version=1.0;"),
                "https://host",
            ),
            (
                format!("Endpoint=http://host;AccessKey={KEY};Version=1.0;"),
                "http://host",
            ),
            (
                format!("Endpoint=http://host;AccessKey={KEY};Version=1.0;Port=8080;"),
                "http://host:8080",
            ),
            (
                format!("AccessKey={KEY};Endpoint=http://host;Version=1.0;"),
                "http://host",
            ),
            (
                "Endpoint=http://localhost;AccessKey=ABC;Port=8080;Version=1.0;".to_owned(),
                "http://localhost:8080",
            ),
            (
                "Endpoint=http://localhost;AccessKey=ABC;".to_owned(),
                "http://localhost",
            ),
        ];
        for (input, endpoint) in cases {
            let cs = parse(&input).unwrap();
            assert_eq!(cs.endpoint().as_str(), endpoint, "{input}");
        }
        assert_eq!(
            parse(&format!("Endpoint=https://host;AccessKey={KEY}"))
                .unwrap()
                .access_key()
                .expose(),
            KEY
        );
    }

    #[test]
    fn keys_are_case_insensitive_and_whitespace_is_trimmed() {
        let cs = parse(
            " endpoint = https://Host.Example/ ;  ACCESSKEY = abc= ; vErSiOn=1.0 ; port = 8443 ;; ",
        )
        .unwrap();
        assert_eq!(cs.endpoint().as_str(), "https://host.example:8443");
        assert_eq!(cs.access_key().expose(), "abc=");
        assert_eq!(cs.version(), Some("1.0"));
    }

    #[test]
    fn values_keep_everything_after_the_first_equals_sign() {
        let cs = parse("Endpoint=https://h;AccessKey=a=b==").unwrap();
        assert_eq!(cs.access_key().expose(), "a=b==");
    }

    #[test]
    fn port_replaces_an_explicit_port_and_unknown_keys_are_accepted() {
        let cs = parse(
            "Endpoint=http://h:1234;AccessKey=k;Port=8080;ClientEndpoint=https://c;ServerEndpoint=https://s;Foo=bar",
        )
        .unwrap();
        assert_eq!(cs.endpoint().as_str(), "http://h:8080");
        assert_eq!(cs.version(), None);
    }

    #[test]
    fn errors_name_the_problem() {
        use ConnectionStringError::*;
        let cases = [
            ("", MissingEndpoint),
            ("AccessKey=k", MissingEndpoint),
            ("Endpoint=;AccessKey=k", MissingEndpoint),
            ("Endpoint=http://localhost;", MissingAccessKey),
            ("Endpoint=http://localhost;AccessKey=", MissingAccessKey),
            ("Endpoint=https://h;AuthType=aad", UnsupportedAuthType),
            (
                "Endpoint=h.example;AccessKey=k",
                InvalidEndpoint(EndpointError::UnsupportedScheme),
            ),
            ("Endpoint=https://h;AccessKey=k;Port=x", InvalidPort),
            ("Endpoint=https://h;AccessKey=k;Port=0", InvalidPort),
            ("Endpoint=https://h;AccessKey=k;Port=70000", InvalidPort),
            ("Endpoint=https://h;AccessKey=k;Port=", InvalidPort),
            (
                "Endpoint=https://h;garbage;AccessKey=k",
                MalformedPart { position: 2 },
            ),
            ("http://localhost;", MalformedPart { position: 1 }),
            (
                "Endpoint=https://h;=v;AccessKey=k",
                MalformedPart { position: 2 },
            ),
            (
                "Endpoint=https://h;AccessKey=k;accesskey=j",
                DuplicateKey { key: "AccessKey" },
            ),
            (
                "Endpoint=https://a;ENDPOINT=https://b;AccessKey=k",
                DuplicateKey { key: "Endpoint" },
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(parse(input), Err(expected), "{input:?}");
        }
    }

    #[test]
    fn no_error_or_debug_output_contains_the_key() {
        let secret = "SuperSecretKeyValue0123456789";
        let inputs = [
            format!("Endpoint=https://h;AccessKey={secret};Port=bad"),
            format!("Endpoint=https://h;AccessKey={secret};{secret}"),
            format!("Endpoint=https://h;AccessKey={secret};AccessKey={secret}"),
            format!("Endpoint=https://{secret} x;AccessKey={secret}"),
            format!("Endpoint={secret};AccessKey={secret}"),
            secret.to_string(),
            format!("Endpoint=https://h:{secret};AccessKey={secret}"),
        ];
        for input in &inputs {
            let err = parse(input).unwrap_err();
            let mut texts = vec![err.to_string(), format!("{err:?}"), format!("{err:#?}")];
            let mut source = err.source();
            while let Some(s) = source {
                texts.push(s.to_string());
                source = s.source();
            }
            for text in texts {
                assert!(!text.contains(secret), "{text}");
            }
        }
        let cs = parse(&format!("Endpoint=https://h;AccessKey={secret}")).unwrap();
        for text in [format!("{cs:?}"), format!("{cs:#?}"), cs.to_string()] {
            assert!(!text.contains(secret), "{text}");
            assert!(text.contains("https://h"), "{text}");
        }
    }

    #[test]
    fn display_round_trips_except_for_the_key() {
        let cs = ConnectionString::new(
            Endpoint::parse("https://h.example").unwrap(),
            AccessKey::new("k"),
        );
        assert_eq!(
            cs.to_string(),
            "Endpoint=https://h.example;AccessKey=<redacted>;Version=1.0;"
        );
        let (endpoint, key) = cs.into_parts();
        assert_eq!(endpoint.host(), "h.example");
        assert_eq!(key.expose(), "k");
    }
}
