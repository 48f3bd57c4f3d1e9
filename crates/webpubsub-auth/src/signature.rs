//! The `ce-signature` header of upstream CloudEvents requests.
//!
//! The service signs every event it sends to an application server with
//! `sha256=<lowercase hex HMAC-SHA256(access key, connectionId)>`, one entry per key (primary,
//! secondary), joined by `,`. The real service may also send several `ce-signature` header lines;
//! join them with `,` before verifying.

use std::fmt::Write as _;

use ring::hmac;
use thiserror::Error;

use crate::secret::AccessKey;

const PREFIX: &str = "sha256=";

/// Why a `ce-signature` header was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// The header is missing or empty.
    #[error("the ce-signature header is missing or empty")]
    Missing,
    /// No entry has the form `sha256=<64 hex digits>`.
    #[error("the ce-signature header has no entry of the form sha256=<64 hex digits>")]
    Malformed,
    /// No key is configured.
    #[error("no access key is configured to verify ce-signature with")]
    NoKeys,
    /// No entry matches any key.
    #[error("the ce-signature header matches none of the access keys")]
    Mismatch,
    /// More entries than [`MAX_SIGNATURE_ENTRIES`]: the service sends one per access key.
    #[error("the ce-signature header has more than {MAX_SIGNATURE_ENTRIES} entries")]
    TooManyEntries,
}

/// The most `ce-signature` entries accepted. The service sends one per access key (a primary and
/// a secondary), so a header with thousands is an attack on the verifier, refused before any
/// HMAC is computed.
pub const MAX_SIGNATURE_ENTRIES: usize = 16;

/// The `ce-signature` value for `connection_id`: one `sha256=` entry per key, joined by `,`.
///
/// ```
/// use webpubsub_auth::{event_signature, AccessKey};
///
/// let header = event_signature("conn1", &[AccessKey::new("primary"), AccessKey::new("secondary")]);
/// assert_eq!(header.split(',').count(), 2);
/// assert!(header.starts_with("sha256="));
/// ```
pub fn event_signature(connection_id: &str, keys: &[AccessKey]) -> String {
    let mut header = String::with_capacity(keys.len() * (PREFIX.len() + 65));
    for (index, key) in keys.iter().enumerate() {
        if index > 0 {
            header.push(',');
        }
        header.push_str(PREFIX);
        let tag = hmac::sign(&key.hmac_key(), connection_id.as_bytes());
        for byte in tag.as_ref() {
            // Writing to a String cannot fail.
            let _ = write!(header, "{byte:02x}");
        }
    }
    header
}

/// Verifies a `ce-signature` header: accepted when any entry matches any key.
///
/// Entries are trimmed; the `sha256=` prefix and the hex digits are case-insensitive; entries of
/// another form are ignored; more than [`MAX_SIGNATURE_ENTRIES`] entries are refused before any
/// HMAC is computed. Comparisons are constant-time (ring's `hmac::verify`).
///
/// ```
/// use webpubsub_auth::{event_signature, verify_event_signature, AccessKey, SignatureError};
///
/// let keys = [AccessKey::new("new-key"), AccessKey::new("old-key")];
/// let sent = event_signature("conn1", &[AccessKey::new("old-key")]);
/// assert_eq!(verify_event_signature(&sent, "conn1", &keys), Ok(()));
/// assert_eq!(verify_event_signature(&sent, "conn2", &keys), Err(SignatureError::Mismatch));
/// ```
///
/// # Errors
/// A [`SignatureError`] saying why the header was rejected.
pub fn verify_event_signature(
    header: &str,
    connection_id: &str,
    keys: &[AccessKey],
) -> Result<(), SignatureError> {
    if header.trim().is_empty() {
        return Err(SignatureError::Missing);
    }
    if keys.is_empty() {
        return Err(SignatureError::NoKeys);
    }
    if header.split(',').nth(MAX_SIGNATURE_ENTRIES).is_some() {
        return Err(SignatureError::TooManyEntries);
    }
    let hmac_keys: Vec<hmac::Key> = keys.iter().map(AccessKey::hmac_key).collect();
    let mut well_formed = false;
    let mut matched = false;
    for entry in header.split(',') {
        let Some(tag) = parse_entry(entry.trim()) else {
            continue;
        };
        well_formed = true;
        for key in &hmac_keys {
            matched |= hmac::verify(key, connection_id.as_bytes(), &tag).is_ok();
        }
    }
    match (well_formed, matched) {
        (_, true) => Ok(()),
        (false, false) => Err(SignatureError::Malformed),
        (true, false) => Err(SignatureError::Mismatch),
    }
}

fn parse_entry(entry: &str) -> Option<[u8; 32]> {
    let (prefix, hex) = entry.split_at_checked(PREFIX.len())?;
    if !prefix.eq_ignore_ascii_case(PREFIX) || hex.len() != 64 {
        return None;
    }
    let mut tag = [0u8; 32];
    for (byte, pair) in tag.iter_mut().zip(hex.as_bytes().chunks_exact(2)) {
        let high = (pair[0] as char).to_digit(16)?;
        let low = (pair[1] as char).to_digit(16)?;
        *byte = (high * 16 + low) as u8;
    }
    Some(tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_with_too_many_entries_is_refused_before_any_hmac() {
        let keys = keys();
        let good = event_signature("conn", &keys);
        let mut many = vec!["sha256=00".to_owned(); MAX_SIGNATURE_ENTRIES - 2];
        many.push(good.clone());
        assert_eq!(
            verify_event_signature(&many.join(","), "conn", &keys),
            Ok(())
        );
        let flood = format!("{},{good}", vec!["sha256=00"; 5000].join(","));
        assert_eq!(
            verify_event_signature(&flood, "conn", &keys),
            Err(SignatureError::TooManyEntries)
        );
    }

    // Independently computed with Python:
    // hmac.new(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ABCDEFGH", b"connectionId", hashlib.sha256).hexdigest()
    const DEV_KEY_SIGNATURE: &str =
        "sha256=1ac4850f4aac2924c9264b2260ba1e9fca7903b68f5d60d626caec1f5d71180f";

    fn keys() -> Vec<AccessKey> {
        vec![AccessKey::new("primary"), AccessKey::new("secondary")]
    }

    #[test]
    fn signs_one_entry_per_key_lowercase_hex() {
        let header = event_signature("conn", &keys());
        let entries: Vec<&str> = header.split(',').collect();
        assert_eq!(entries.len(), 2);
        for entry in entries {
            let hex = entry.strip_prefix("sha256=").unwrap();
            assert_eq!(hex.len(), 64);
            assert!(hex
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)));
        }
        assert_eq!(event_signature("conn", &[]), "");
    }

    #[test]
    fn matches_a_known_vector() {
        let key = [AccessKey::new(AccessKey::DEVELOPMENT)];
        assert_eq!(event_signature("connectionId", &key), DEV_KEY_SIGNATURE);
        assert_eq!(
            verify_event_signature(DEV_KEY_SIGNATURE, "connectionId", &key),
            Ok(())
        );
    }

    #[test]
    fn verifies_any_entry_against_any_key() {
        let primary_only = event_signature("conn", &keys()[..1]);
        let secondary_only = event_signature("conn", &keys()[1..]);
        assert_eq!(
            verify_event_signature(&primary_only, "conn", &keys()),
            Ok(())
        );
        assert_eq!(
            verify_event_signature(&secondary_only, "conn", &keys()),
            Ok(())
        );
        let both = event_signature("conn", &keys());
        assert_eq!(verify_event_signature(&both, "conn", &keys()[1..]), Ok(()));
        // Two header lines joined, extra spaces, upper-case prefix and hex.
        let mixed = format!(
            " SHA256={} , {}",
            &primary_only[7..].to_uppercase(),
            "sha256=bogus"
        );
        assert_eq!(verify_event_signature(&mixed, "conn", &keys()), Ok(()));
    }

    #[test]
    fn rejections_say_why() {
        let k = keys();
        assert_eq!(
            verify_event_signature("", "c", &k),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify_event_signature("  ", "c", &k),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify_event_signature("sha256=bogus", "c", &k),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify_event_signature("md5=abc,sha256=", "c", &k),
            Err(SignatureError::Malformed)
        );
        let bad_hex = format!("sha256={}", "g".repeat(64));
        assert_eq!(
            verify_event_signature(&bad_hex, "c", &k),
            Err(SignatureError::Malformed)
        );
        let forged = event_signature("c", &[AccessKey::new("attacker")]);
        assert_eq!(
            verify_event_signature(&forged, "c", &k),
            Err(SignatureError::Mismatch)
        );
        let other_connection = event_signature("other", &k);
        assert_eq!(
            verify_event_signature(&other_connection, "c", &k),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_event_signature(&forged, "c", &[]),
            Err(SignatureError::NoKeys)
        );
        assert_eq!(
            verify_event_signature("sha256=é", "c", &k),
            Err(SignatureError::Malformed)
        );
    }
}
