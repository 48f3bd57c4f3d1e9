//! Token checks: REST bearer tokens and client access tokens, strict about audiences, or checking their path only.

use std::time::SystemTime;

use webpubsub_auth::{AccessKey, TokenValidator, VerifiedToken, VerifyError};
use webpubsub_protocol::encoding::percent_decode;
use webpubsub_protocol::ClientProtocol;

/// Verifies tokens against the emulator's keys.
#[derive(Debug, Clone)]
pub(crate) struct Verifier {
    validator: TokenValidator,
    ignore_audience_host: bool,
}

/// `host/path?query` of a URL, lower-cased and percent-decoded, without its scheme.
fn normalize(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let decoded = percent_decode(rest, false).unwrap_or_else(|| rest.to_owned());
    decoded.trim_end_matches('/').to_ascii_lowercase()
}

fn path_of(normalized: &str) -> &str {
    let path = normalized.find('/').map_or("", |i| &normalized[i..]);
    path.split_once('?').map_or(path, |(p, _)| p)
}

impl Verifier {
    pub(crate) fn new(keys: Vec<AccessKey>, ignore_audience_host: bool) -> Self {
        Self {
            validator: TokenValidator::new(keys),
            ignore_audience_host,
        }
    }

    /// A REST token: `aud` is the request URL, with or without its query (any scheme, any case,
    /// encoded or not). Loose mode compares the path only.
    pub(crate) fn rest(
        &self,
        token: &str,
        host: &str,
        path_and_query: &str,
    ) -> Result<VerifiedToken, VerifyError> {
        let full = normalize(&format!("{host}{path_and_query}"));
        let without_query = full
            .split_once('?')
            .map_or(full.as_str(), |(p, _)| p)
            .to_owned();
        self.validator.verify(
            token,
            |aud| {
                let aud = normalize(aud);
                if self.ignore_audience_host {
                    path_of(&aud) == path_of(&full)
                } else {
                    aud == full || aud == without_query
                }
            },
            SystemTime::now(),
        )
    }

    /// A client token: `aud` is `<endpoint>/client/hubs/<hub>` (hub case-insensitive).
    pub(crate) fn client(
        &self,
        token: &str,
        host: &str,
        hub: &str,
    ) -> Result<VerifiedToken, VerifyError> {
        let prefix = ClientProtocol::Default.path_prefix();
        let expected = normalize(&format!("{host}{prefix}{hub}"));
        self.validator.verify(
            token,
            |aud| {
                let aud = normalize(aud);
                if self.ignore_audience_host {
                    path_of(&aud) == path_of(&expected)
                } else {
                    aud == expected
                }
            },
            SystemTime::now(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use webpubsub_auth::{rest_bearer_token, ClientAccessTokenOptions, ConnectionString};

    const KEY: &str = "k";

    fn verifier(ignore_audience_host: bool) -> Verifier {
        Verifier::new(vec![AccessKey::new(KEY)], ignore_audience_host)
    }

    #[test]
    fn rest_audiences() {
        let token = |url: &str| {
            rest_bearer_token(
                &AccessKey::new(KEY),
                url,
                SystemTime::now(),
                std::time::Duration::from_secs(60),
            )
            .unwrap()
            .expose()
            .to_owned()
        };
        let v = verifier(false);
        let path = "/api/hubs/Hub/groups/a%2Fb/:send?api-version=2024-12-01";
        for aud in [
            "http://127.0.0.1:8080/api/hubs/Hub/groups/a%2Fb/:send?api-version=2024-12-01",
            "HTTPS://127.0.0.1:8080/api/hubs/hub/groups/a/b/:send?api-version=2024-12-01",
            "http://127.0.0.1:8080/api/hubs/Hub/groups/a%2Fb/:send",
        ] {
            assert!(v.rest(&token(aud), "127.0.0.1:8080", path).is_ok(), "{aud}");
        }
        let other_host = token("http://localhost:8080/api/hubs/Hub/groups/a%2Fb/:send");
        assert_eq!(
            v.rest(&other_host, "127.0.0.1:8080", path).unwrap_err(),
            VerifyError::InvalidAudience
        );
        assert!(
            verifier(true)
                .rest(&other_host, "127.0.0.1:8080", path)
                .is_ok(),
            "host ignored: path only"
        );
        let other_path = token("http://127.0.0.1:8080/api/hubs/other/:send");
        assert!(verifier(true)
            .rest(&other_path, "127.0.0.1:8080", path)
            .is_err());
    }

    #[test]
    fn client_audiences() {
        let cs: ConnectionString = format!("Endpoint=http://localhost:8080;AccessKey={KEY}")
            .parse()
            .unwrap();
        let token = cs
            .client_access_token("Chat", &ClientAccessTokenOptions::default())
            .unwrap()
            .token;
        assert!(verifier(false)
            .client(&token, "localhost:8080", "chat")
            .is_ok());
        assert!(verifier(false)
            .client(&token, "127.0.0.1:8080", "chat")
            .is_err());
        assert!(verifier(true)
            .client(&token, "127.0.0.1:8080", "chat")
            .is_ok());
        assert!(verifier(true)
            .client(&token, "127.0.0.1:8080", "other")
            .is_err());
    }
}
