//! The service endpoint: an `http`/`https` origin with an optional path prefix, normalised once.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

/// Why a string is not a valid service endpoint.
///
/// The messages never repeat the input, which may be a pasted connection string.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum EndpointError {
    /// The endpoint is empty.
    #[error("the endpoint is empty")]
    Empty,
    /// The scheme is not `http://` or `https://`.
    #[error("the endpoint must start with http:// or https://")]
    UnsupportedScheme,
    /// There is no host after the scheme.
    #[error("the endpoint has no host")]
    MissingHost,
    /// The host contains a character that is not allowed in a host name.
    #[error("the endpoint host contains an invalid character (use the ASCII/punycode form)")]
    InvalidHost,
    /// The port is not an integer from 1 to 65535.
    #[error("the endpoint port must be an integer from 1 to 65535")]
    InvalidPort,
    /// The endpoint carries user information (`user@host`), a query or a fragment.
    #[error("the endpoint must not contain user information, a query or a fragment")]
    UnexpectedComponent,
}

/// The scheme of an [`Endpoint`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// Plain HTTP (local development and emulators).
    Http,
    /// HTTP over TLS.
    Https,
}

impl Scheme {
    /// `"http"` or `"https"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }

    /// The matching WebSocket scheme: `"ws"` or `"wss"`.
    pub fn websocket(self) -> &'static str {
        match self {
            Scheme::Http => "ws",
            Scheme::Https => "wss",
        }
    }

    fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }
}

/// A normalised Web PubSub service endpoint such as `https://contoso.webpubsub.azure.com`.
///
/// Normalisation: scheme and host are lowercased, a default port (80 for http, 443 for https) is
/// dropped, and trailing slashes are removed from the path. The path keeps its case. Parsing
/// rejects anything but `http`/`https`, user information, queries and fragments.
///
/// ```
/// use webpubsub_auth::Endpoint;
///
/// let endpoint: Endpoint = "HTTPS://Contoso.WebPubSub.Azure.com:443/".parse()?;
/// assert_eq!(endpoint.as_str(), "https://contoso.webpubsub.azure.com");
/// assert_eq!(endpoint.host(), "contoso.webpubsub.azure.com");
/// assert_eq!(endpoint.port(), None);
///
/// let local: Endpoint = "http://localhost:8080".parse()?;
/// assert_eq!(local.websocket_origin(), "ws://localhost:8080");
/// # Ok::<(), webpubsub_auth::EndpointError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Endpoint {
    scheme: Scheme,
    host: String,
    port: Option<u16>,
    path: String,
    normalized: String,
    websocket: String,
}

impl Endpoint {
    /// Parses and normalises an endpoint.
    ///
    /// # Errors
    /// An [`EndpointError`] naming what is wrong; the message never contains the input.
    pub fn parse(input: &str) -> Result<Self, EndpointError> {
        let input = input.trim();
        if input.is_empty() {
            return Err(EndpointError::Empty);
        }
        let (scheme, rest) = split_scheme(input).ok_or(EndpointError::UnsupportedScheme)?;
        if rest.contains(['?', '#']) {
            return Err(EndpointError::UnexpectedComponent);
        }
        let (authority, path) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        if authority.contains('@') {
            return Err(EndpointError::UnexpectedComponent);
        }
        let (host, port) = split_host_port(authority)?;
        if path.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(EndpointError::InvalidHost);
        }
        Ok(Self::from_parts(
            scheme,
            host.to_ascii_lowercase(),
            port,
            path.trim_end_matches('/').to_owned(),
        ))
    }

    fn from_parts(scheme: Scheme, host: String, port: Option<u16>, path: String) -> Self {
        let port = port.filter(|p| *p != scheme.default_port());
        let mut normalized = format!("{}://{}", scheme.as_str(), host);
        if let Some(port) = port {
            normalized.push(':');
            normalized.push_str(&port.to_string());
        }
        normalized.push_str(&path);
        let websocket = format!(
            "{}{}",
            scheme.websocket(),
            &normalized[scheme.as_str().len()..]
        );
        Self {
            scheme,
            host,
            port,
            path,
            normalized,
            websocket,
        }
    }

    /// The same endpoint on another port (a connection string's `Port=`).
    ///
    /// ```
    /// # use webpubsub_auth::Endpoint;
    /// let endpoint = Endpoint::parse("http://localhost")?.with_port(8080);
    /// assert_eq!(endpoint.as_str(), "http://localhost:8080");
    /// # Ok::<(), webpubsub_auth::EndpointError>(())
    /// ```
    pub fn with_port(&self, port: u16) -> Self {
        Self::from_parts(
            self.scheme,
            self.host.clone(),
            Some(port),
            self.path.clone(),
        )
    }

    /// The scheme.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The lowercased host; IPv6 addresses keep their brackets.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The explicit port, `None` when it is the scheme's default.
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// The port requests go to, explicit or default.
    pub fn port_or_default(&self) -> u16 {
        self.port.unwrap_or(self.scheme.default_port())
    }

    /// The path prefix without a trailing slash (usually empty).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The normalised endpoint, e.g. `https://contoso.webpubsub.azure.com`, never ending in `/`.
    pub fn as_str(&self) -> &str {
        &self.normalized
    }

    /// `host[:port]` as it appears in a URL.
    pub fn authority(&self) -> String {
        match self.port {
            Some(port) => format!("{}:{port}", self.host),
            None => self.host.clone(),
        }
    }

    /// The endpoint with its WebSocket scheme, e.g. `wss://contoso.webpubsub.azure.com`.
    pub fn websocket_origin(&self) -> &str {
        &self.websocket
    }
}

fn split_scheme(input: &str) -> Option<(Scheme, &str)> {
    let (scheme, rest) = input.split_once("://")?;
    let scheme = if scheme.eq_ignore_ascii_case("https") {
        Scheme::Https
    } else if scheme.eq_ignore_ascii_case("http") {
        Scheme::Http
    } else {
        return None;
    };
    Some((scheme, rest))
}

fn split_host_port(authority: &str) -> Result<(&str, Option<u16>), EndpointError> {
    if authority.is_empty() {
        return Err(EndpointError::MissingHost);
    }
    let (host, port) = if let Some(after) = authority.strip_prefix('[') {
        // IPv6 literal: [addr] or [addr]:port
        let end = after.find(']').ok_or(EndpointError::InvalidHost)?;
        let addr = &after[..end];
        if addr.is_empty()
            || !addr
                .chars()
                .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
        {
            return Err(EndpointError::InvalidHost);
        }
        let host = &authority[..end + 2];
        match &after[end + 1..] {
            "" => (host, None),
            rest => match rest.strip_prefix(':') {
                Some(port) => (host, Some(port)),
                None => return Err(EndpointError::InvalidHost),
            },
        }
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err(EndpointError::MissingHost);
    }
    if !host.starts_with('[')
        && !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
    {
        return Err(EndpointError::InvalidHost);
    }
    let port = port.map(parse_port).transpose()?;
    Ok((host, port))
}

/// Parses a port number from 1 to 65535.
pub(crate) fn parse_port(text: &str) -> Result<u16, EndpointError> {
    let text = text.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(EndpointError::InvalidPort);
    }
    match text.parse::<u16>() {
        Ok(0) | Err(_) => Err(EndpointError::InvalidPort),
        Ok(port) => Ok(port),
    }
}

impl FromStr for Endpoint {
    type Err = EndpointError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<&str> for Endpoint {
    type Error = EndpointError;

    fn try_from(value: &str) -> Result<Self, Self::Error> {
        Self::parse(value)
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.normalized)
    }
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Endpoint").field(&self.normalized).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_scheme_host_default_port_and_trailing_slash() {
        let cases = [
            (
                "https://Contoso.WebPubSub.Azure.com",
                "https://contoso.webpubsub.azure.com",
            ),
            (
                "HTTPS://contoso.webpubsub.azure.com/",
                "https://contoso.webpubsub.azure.com",
            ),
            ("https://x.com:443//", "https://x.com"),
            ("http://x.com:80", "http://x.com"),
            ("http://x.com:443", "http://x.com:443"),
            ("  http://localhost:8080  ", "http://localhost:8080"),
            (
                "https://apim.example.com/Prefix/Path/",
                "https://apim.example.com/Prefix/Path",
            ),
            ("http://[::1]:8080", "http://[::1]:8080"),
            ("http://[::1]", "http://[::1]"),
            ("http://127.0.0.1:1", "http://127.0.0.1:1"),
        ];
        for (input, expected) in cases {
            assert_eq!(
                Endpoint::parse(input).unwrap().as_str(),
                expected,
                "{input}"
            );
        }
    }

    #[test]
    fn exposes_parts() {
        let e = Endpoint::parse("https://H.example:8443/base/").unwrap();
        assert_eq!(e.scheme(), Scheme::Https);
        assert_eq!(e.host(), "h.example");
        assert_eq!(e.port(), Some(8443));
        assert_eq!(e.port_or_default(), 8443);
        assert_eq!(e.path(), "/base");
        assert_eq!(e.authority(), "h.example:8443");
        assert_eq!(e.websocket_origin(), "wss://h.example:8443/base");
        assert_eq!(e.to_string(), "https://h.example:8443/base");
        assert_eq!(
            format!("{e:?}"),
            "Endpoint(\"https://h.example:8443/base\")"
        );
        let plain = Endpoint::parse("http://h").unwrap();
        assert_eq!(plain.port_or_default(), 80);
        assert_eq!(plain.with_port(80).as_str(), "http://h");
        assert_eq!(plain.with_port(8080).as_str(), "http://h:8080");
    }

    #[test]
    fn rejects_bad_endpoints_with_the_reason() {
        use EndpointError::*;
        let cases = [
            ("", Empty),
            ("   ", Empty),
            ("contoso.webpubsub.azure.com", UnsupportedScheme),
            ("ftp://x", UnsupportedScheme),
            ("ws://x", UnsupportedScheme),
            ("httpfoo", UnsupportedScheme),
            ("https://", MissingHost),
            ("https:///path", MissingHost),
            ("https://:8080", MissingHost),
            ("https://x:0", InvalidPort),
            ("https://x:65536", InvalidPort),
            ("https://x:abc", InvalidPort),
            ("https://x:", InvalidPort),
            ("https://user:pw@x", UnexpectedComponent),
            ("https://x/?a=b", UnexpectedComponent),
            ("https://x#frag", UnexpectedComponent),
            ("https://bad host", InvalidHost),
            ("https://hôst.example", InvalidHost),
            ("https://[::1", InvalidHost),
            ("https://[zz]", InvalidHost),
            ("https://[::1]x", InvalidHost),
            ("https://x/a b", InvalidHost),
        ];
        for (input, expected) in cases {
            assert_eq!(Endpoint::parse(input), Err(expected), "{input:?}");
        }
    }
}
