//! Bearer tokens that authenticate one REST request with an access key.

use std::time::{Duration, SystemTime};

use serde_json::Map;

use crate::client_token::{check_lifetime, TokenError};
use crate::jwt::{self, ClaimsWriter};
use crate::secret::{AccessKey, Secret};

/// The default lifetime of a REST bearer token: 5 minutes.
///
/// A token is minted for every attempt, so it only has to outlive one request plus clock skew.
/// (Python uses 60 seconds, JavaScript one hour.)
pub const DEFAULT_REST_TOKEN_LIFETIME: Duration = Duration::from_secs(5 * 60);

/// Mints the bearer token for one REST request: HS256 with `aud` = the full request URL,
/// query included, plus `iat` and `exp`.
///
/// With a reverse proxy, pass the URL as it would be on the service endpoint, not the proxy's.
///
/// ```
/// use std::time::SystemTime;
/// use webpubsub_auth::{rest_bearer_token, AccessKey, DEFAULT_REST_TOKEN_LIFETIME};
///
/// let key = AccessKey::new("my-key");
/// let url = "https://contoso.webpubsub.azure.com/api/hubs/chat/:send?api-version=2024-12-01";
/// let token = rest_bearer_token(&key, url, SystemTime::now(), DEFAULT_REST_TOKEN_LIFETIME)?;
/// let header = format!("Bearer {}", token.expose());
/// # assert!(header.starts_with("Bearer ey"));
/// # Ok::<(), webpubsub_auth::TokenError>(())
/// ```
///
/// # Errors
/// [`TokenError::InvalidLifetime`] for a lifetime under one second, [`TokenError::EmptyKey`].
pub fn rest_bearer_token(
    key: &AccessKey,
    url: &str,
    now: SystemTime,
    lifetime: Duration,
) -> Result<Secret, TokenError> {
    if key.is_empty() {
        return Err(TokenError::EmptyKey);
    }
    let (iat, exp) = check_lifetime(lifetime, now)?;
    let mut claims = ClaimsWriter::with_capacity(url.len() + 48);
    claims.string("aud", url);
    claims.number("iat", iat);
    claims.number("exp", exp);
    jwt::encode(&claims.finish(), &Map::new(), key)
        .map(Secret::new)
        .map_err(|_| TokenError::Encoding)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::TokenValidator;
    use std::time::UNIX_EPOCH;

    #[test]
    fn audience_is_the_full_url_with_query() {
        let key = AccessKey::new("k");
        let now = UNIX_EPOCH + Duration::from_secs(1_000_000);
        let url = "https://Contoso.WebPubSub.Azure.com/api/hubs/Hub1/:send?excluded=c1&excluded=c2&api-version=2024-12-01";
        let token = rest_bearer_token(&key, url, now, Duration::from_secs(60)).unwrap();
        let verified = TokenValidator::new([key])
            .verify(token.expose(), |aud| aud == url, now)
            .unwrap();
        assert_eq!(verified.claims.audiences, [url]);
        assert_eq!(verified.claims.issued_at, Some(1_000_000));
        assert_eq!(verified.claims.expires_at, Some(1_000_060));
        assert_eq!(verified.claims.other.len(), 0);
    }

    #[test]
    fn rejects_bad_lifetime_and_empty_key() {
        let now = SystemTime::now();
        assert_eq!(
            rest_bearer_token(&AccessKey::new("k"), "u", now, Duration::ZERO).unwrap_err(),
            TokenError::InvalidLifetime
        );
        assert_eq!(
            rest_bearer_token(&AccessKey::new(""), "u", now, Duration::from_secs(1)).unwrap_err(),
            TokenError::EmptyKey
        );
    }
}
