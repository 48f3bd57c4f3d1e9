//! Secret values: [`Secret`] for tokens and [`AccessKey`] for the service's HMAC keys.
//!
//! Both print a redaction in `Debug` and `Display`, compare in constant time and are zeroed when
//! dropped, so they can be logged, put in error messages or kept in long-lived structs without
//! leaking what they hold.

use std::fmt;

use ring::hmac;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

pub(crate) const REDACTED: &str = "<redacted>";

/// A secret string, such as a bearer token, that never shows its value in `Debug` or `Display`.
///
/// Read the value with [`Secret::expose`] at the one place that needs it.
///
/// ```
/// use webpubsub_auth::Secret;
///
/// let token = Secret::new("eyJhbGciOi...");
/// assert_eq!(format!("{token:?}"), "Secret(<redacted>)");
/// assert_eq!(token.expose(), "eyJhbGciOi...");
/// ```
#[derive(Clone)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(Zeroizing::new(value.into()))
    }

    /// Returns the secret value. Do not log what this returns.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Hands the value over to something that must own it, such as an HTTP header, without a
    /// copy. The returned string is no longer wiped when dropped. Do not log it.
    ///
    /// ```
    /// use webpubsub_auth::Secret;
    ///
    /// let owned: String = Secret::new("Bearer abc").into_exposed();
    /// assert_eq!(owned, "Bearer abc");
    /// ```
    pub fn into_exposed(mut self) -> String {
        std::mem::take(&mut *self.0)
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self::new(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self::new(value)
    }
}

impl PartialEq for Secret {
    /// Constant-time comparison of the two values.
    fn eq(&self, other: &Self) -> bool {
        self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
    }
}

impl Eq for Secret {}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({REDACTED})")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

/// A Web PubSub access key: the `AccessKey` of a connection string.
///
/// The service signs and verifies with HMAC-SHA256 keyed by the key string's UTF-8 bytes, as given
/// (it is *not* base64-decoded). `AccessKey` never prints its value, compares in constant time and
/// is zeroed on drop.
///
/// ```
/// use webpubsub_auth::AccessKey;
///
/// let key = AccessKey::new("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ABCDEFGH");
/// assert_eq!(format!("{key:?}"), "AccessKey(<redacted>)");
/// assert_eq!(key.to_string(), "<redacted>");
/// assert_eq!(key, AccessKey::new("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ABCDEFGH"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct AccessKey(Secret);

impl AccessKey {
    /// The well-known key of local development emulators. Never use it against a real service.
    pub const DEVELOPMENT: &'static str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ABCDEFGH";

    /// Wraps a key string.
    pub fn new(key: impl Into<String>) -> Self {
        Self(Secret::new(key))
    }

    /// Returns the key string. Do not log what this returns.
    pub fn expose(&self) -> &str {
        self.0.expose()
    }

    /// The HMAC-SHA256 key the service derives from this access key.
    pub(crate) fn hmac_key(&self) -> hmac::Key {
        hmac::Key::new(hmac::HMAC_SHA256, self.expose().as_bytes())
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.expose().is_empty()
    }
}

impl fmt::Debug for AccessKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccessKey({REDACTED})")
    }
}

impl fmt::Display for AccessKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl From<String> for AccessKey {
    fn from(value: String) -> Self {
        Self::new(value)
    }
}

impl From<&str> for AccessKey {
    fn from(value: &str) -> Self {
        Self::new(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_and_key_are_redacted_everywhere() {
        let secret = Secret::new("s3cr3t-value");
        let key = AccessKey::new("k3y-value");
        for text in [
            format!("{secret:?}"),
            format!("{secret}"),
            format!("{secret:#?}"),
            format!("{key:?}"),
            format!("{key}"),
            format!("{key:#?}"),
        ] {
            assert!(!text.contains("s3cr3t") && !text.contains("k3y"), "{text}");
            assert!(text.contains(REDACTED), "{text}");
        }
    }

    #[test]
    fn equality_compares_values() {
        assert_eq!(Secret::new("a"), Secret::new("a"));
        assert_ne!(Secret::new("a"), Secret::new("b"));
        assert_ne!(Secret::new("a"), Secret::new("aa"));
        assert_eq!(AccessKey::new("abc"), AccessKey::from("abc".to_string()));
        assert_ne!(AccessKey::new("abc"), AccessKey::new("abd"));
    }
}
