//! Bearer tokens that authenticate one REST request with an access key.

use std::cell::RefCell;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use ring::hmac;

use serde_json::Map;

use crate::client_token::{check_lifetime, TokenError};
use crate::jwt::{self, ClaimsWriter, SignedPrefix};
use crate::secret::{AccessKey, Secret, REDACTED};

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
    let (claims, _) = rest_claims(Vec::new(), url, lifetime, now)?;
    jwt::encode(&claims, &Map::new(), &key.hmac_key())
        .map(Secret::new)
        .map_err(|_| TokenError::Encoding)
}

/// Mints REST bearer tokens with one access key and lifetime, prepared for signing many.
///
/// [`rest_bearer_token`] prepares the HMAC key for every token; a signer prepares it once. It
/// also keeps, per thread, the hash of the last URL's unchanging token start (the header and
/// `{"aud":"<url>","iat":`), so a token for the same URL as the one before hashes only its
/// timestamps: an application that sends to a hub, a group or a user many times a second
/// signs each request in about half the time. Every token is still minted for its request, and
/// is byte for byte the token [`rest_bearer_token`] makes.
///
/// The prepared key and the cached hash are derived from the secret; like the access key they
/// are never printed, but unlike [`AccessKey`] they are not wiped from memory when dropped
/// (ring does not offer that).
///
/// ```
/// use std::time::SystemTime;
/// use webpubsub_auth::{rest_bearer_token, AccessKey, RestTokenSigner, DEFAULT_REST_TOKEN_LIFETIME};
///
/// let key = AccessKey::new("my-key");
/// let signer = RestTokenSigner::new(&key, DEFAULT_REST_TOKEN_LIFETIME)?;
/// let url = "https://contoso.webpubsub.azure.com/api/hubs/chat/:send?api-version=2024-12-01";
/// let now = SystemTime::now();
/// let token = signer.sign(url, now)?;
/// assert_eq!(token, rest_bearer_token(&key, url, now, DEFAULT_REST_TOKEN_LIFETIME)?);
/// assert_eq!(format!("{signer:?}"), "RestTokenSigner { key: <redacted>, lifetime: 300s }");
/// # Ok::<(), webpubsub_auth::TokenError>(())
/// ```
#[derive(Clone)]
pub struct RestTokenSigner {
    key: hmac::Key,
    lifetime: Duration,
    /// Tells this signer's (and its clones') cached prefixes from other signers'.
    id: u64,
}

/// Ids of signers, for the per-thread prefix cache.
static NEXT_SIGNER_ID: AtomicU64 = AtomicU64::new(1);

/// What a thread keeps between tokens.
struct Scratch {
    /// The claims buffer, reused (claims are not secret).
    claims: Vec<u8>,
    /// The token start of the last URL signed on this thread, and the signer it belongs to.
    last: Option<(u64, SignedPrefix)>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = const {
        RefCell::new(Scratch { claims: Vec::new(), last: None })
    };
}

impl RestTokenSigner {
    /// Prepares `key` for signing tokens that live `lifetime`.
    ///
    /// # Errors
    /// [`TokenError::InvalidLifetime`] for a lifetime under one second, [`TokenError::EmptyKey`].
    pub fn new(key: &AccessKey, lifetime: Duration) -> Result<Self, TokenError> {
        if key.is_empty() {
            return Err(TokenError::EmptyKey);
        }
        if lifetime.as_secs() == 0 {
            return Err(TokenError::InvalidLifetime);
        }
        Ok(Self {
            key: key.hmac_key(),
            lifetime,
            id: NEXT_SIGNER_ID.fetch_add(1, Ordering::Relaxed),
        })
    }

    /// Mints the token for one request to `url` (the service URL, as for [`rest_bearer_token`]).
    ///
    /// # Errors
    /// [`TokenError::InvalidLifetime`] when `now` plus the lifetime is past what a JWT can hold.
    pub fn sign(&self, url: &str, now: SystemTime) -> Result<Secret, TokenError> {
        self.sign_after(b"", url, now)
    }

    /// The `Authorization` value for one request to `url`: `Bearer <token>`, written in one
    /// buffer (hand it to a header with [`Secret::into_exposed`], no copy).
    ///
    /// ```
    /// # use std::time::SystemTime;
    /// # use webpubsub_auth::{AccessKey, RestTokenSigner, DEFAULT_REST_TOKEN_LIFETIME};
    /// let signer = RestTokenSigner::new(&AccessKey::new("k"), DEFAULT_REST_TOKEN_LIFETIME)?;
    /// let (url, now) = ("https://h.webpubsub.azure.com/api/health", SystemTime::now());
    /// let header = signer.sign_bearer(url, now)?;
    /// assert_eq!(header.expose(), format!("Bearer {}", signer.sign(url, now)?.expose()));
    /// # Ok::<(), webpubsub_auth::TokenError>(())
    /// ```
    ///
    /// # Errors
    /// As [`RestTokenSigner::sign`].
    pub fn sign_bearer(&self, url: &str, now: SystemTime) -> Result<Secret, TokenError> {
        self.sign_after(b"Bearer ", url, now)
    }

    /// The token for `url`, after `lead`.
    fn sign_after(&self, lead: &[u8], url: &str, now: SystemTime) -> Result<Secret, TokenError> {
        SCRATCH.with(|scratch| {
            let mut scratch = scratch.borrow_mut();
            let scratch = &mut *scratch;
            let (claims, prefix_len) =
                rest_claims(std::mem::take(&mut scratch.claims), url, self.lifetime, now)?;
            let mut out = Vec::with_capacity(lead.len() + 64 + claims.len() * 4 / 3 + 44);
            out.extend_from_slice(lead);
            let hit = matches!(&scratch.last, Some((id, prefix))
                if *id == self.id && prefix.encode_into(&claims, &mut out));
            if !hit {
                let prefix = SignedPrefix::new(&self.key, &claims[..prefix_len]);
                prefix.encode_into(&claims, &mut out);
                scratch.last = Some((self.id, prefix));
            }
            scratch.claims = claims;
            // The lead is ASCII, base64url output and the fixed header too.
            Ok(Secret::new(
                String::from_utf8(out).expect("a bearer value is ASCII"),
            ))
        })
    }
}

/// The claims of a REST token, and how long their unchanging start (`{"aud":"<url>","iat":`) is.
fn rest_claims(
    buffer: Vec<u8>,
    url: &str,
    lifetime: Duration,
    now: SystemTime,
) -> Result<(Vec<u8>, usize), TokenError> {
    let (iat, exp) = check_lifetime(lifetime, now)?;
    let mut claims = ClaimsWriter::reusing(buffer);
    claims.reserve(url.len() + 48);
    claims.string("aud", url);
    let prefix_len = claims.written() + r#","iat":"#.len();
    claims.number("iat", iat);
    claims.number("exp", exp);
    Ok((claims.finish(), prefix_len))
}

impl fmt::Debug for RestTokenSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RestTokenSigner")
            .field("key", &format_args!("{REDACTED}"))
            .field("lifetime", &self.lifetime)
            .finish()
    }
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
    fn signer_tokens_are_byte_for_byte_the_one_off_tokens() {
        let key = AccessKey::new("key-one");
        let other_key = AccessKey::new("key-two");
        let lifetime = Duration::from_secs(60);
        let signer = RestTokenSigner::new(&key, lifetime).unwrap();
        let other = RestTokenSigner::new(&other_key, lifetime).unwrap();
        // Prefix lengths of every remainder mod 3, a URL that needs JSON escaping, non-ASCII.
        let urls = [
            "https://a.webpubsub.azure.com/api/hubs/h/:send?api-version=2024-12-01",
            "https://ab.webpubsub.azure.com/api/hubs/h/:send?api-version=2024-12-01",
            "https://abc.webpubsub.azure.com/api/hubs/h/:send?api-version=2024-12-01",
            "http://127.0.0.1:8080/api/hubs/h/users/%22q%22/:send?filter=\"x\"\\y",
            "http://localhost/api/hubs/h/groups/caf\u{e9}/:send",
        ];
        let mut seconds = 1_000_000;
        // Repeats hit the cached prefix, alternation and the other signer replace it.
        for round in 0..3 {
            for url in urls.iter().chain(urls.iter().rev()) {
                for (signer, key) in [(&signer, &key), (&signer, &key), (&other, &other_key)] {
                    seconds += 7;
                    let now = UNIX_EPOCH + Duration::from_secs(seconds);
                    let token = signer.sign(url, now).unwrap();
                    let expected = rest_bearer_token(key, url, now, lifetime).unwrap();
                    assert_eq!(token.expose(), expected.expose(), "round {round}, {url}");
                    TokenValidator::new([key.clone()])
                        .verify(token.expose(), |aud| aud == *url, now)
                        .unwrap();
                }
            }
        }
    }

    #[test]
    fn signers_on_many_threads_agree_with_the_one_off_tokens() {
        let key = AccessKey::new("k");
        let signer = RestTokenSigner::new(&key, DEFAULT_REST_TOKEN_LIFETIME).unwrap();
        std::thread::scope(|scope| {
            for thread in 0..4u64 {
                let (signer, key) = (&signer, &key);
                scope.spawn(move || {
                    for i in 0..200u64 {
                        let url = format!("https://h/api/hubs/h/users/u{}/:send", i % 3);
                        let now = UNIX_EPOCH + Duration::from_secs(1_000 + thread * 1_000 + i);
                        let expected =
                            rest_bearer_token(key, &url, now, DEFAULT_REST_TOKEN_LIFETIME).unwrap();
                        assert_eq!(signer.sign(&url, now).unwrap(), expected);
                    }
                });
            }
        });
    }

    #[test]
    fn signer_rejects_bad_lifetime_and_empty_key() {
        let lifetime = Duration::from_secs(1);
        assert_eq!(
            RestTokenSigner::new(&AccessKey::new(""), lifetime).unwrap_err(),
            TokenError::EmptyKey
        );
        assert_eq!(
            RestTokenSigner::new(&AccessKey::new("k"), Duration::from_millis(999)).unwrap_err(),
            TokenError::InvalidLifetime
        );
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
