//! The one place that encodes and signs HS256 JSON Web Tokens.
//!
//! Crypto lives here and in [`crate::signature`] only, so switching the HMAC provider is local.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::hmac;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::secret::AccessKey;

/// base64url of `{"alg":"HS256","typ":"JWT"}`, the header of every token without extra fields.
const DEFAULT_HEADER: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";

/// Header fields the caller may not set: they are what makes the token an HS256 JWT.
pub(crate) const RESERVED_HEADER_FIELDS: [&str; 2] = ["alg", "typ"];

/// Seconds since the Unix epoch, as JWT `NumericDate`s are written.
pub(crate) fn unix_seconds(time: std::time::SystemTime) -> u64 {
    time.duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Encodes `claims` and signs them with HS256 under `key`.
///
/// `extra_header` fields (e.g. `kid`) follow `alg` and `typ`; callers have already rejected the
/// reserved ones.
pub(crate) fn encode<C: Serialize>(
    claims: &C,
    extra_header: &Map<String, Value>,
    key: &AccessKey,
) -> Result<String, serde_json::Error> {
    let claims = serde_json::to_vec(claims)?;
    let mut token = String::with_capacity(64 + claims.len() * 4 / 3 + 48);
    if extra_header.is_empty() {
        token.push_str(DEFAULT_HEADER);
    } else {
        let mut header = Map::with_capacity(2 + extra_header.len());
        header.insert("alg".into(), Value::from("HS256"));
        header.insert("typ".into(), Value::from("JWT"));
        for (name, value) in extra_header {
            header.insert(name.clone(), value.clone());
        }
        URL_SAFE_NO_PAD.encode_string(serde_json::to_vec(&header)?, &mut token);
    }
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(&claims, &mut token);
    let tag = hmac::sign(&key.hmac_key(), token.as_bytes());
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(tag.as_ref(), &mut token);
    Ok(token)
}

/// Decodes a base64url segment, tolerating `=` padding some encoders add.
pub(crate) fn decode_segment(segment: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(segment.trim_end_matches('=')).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_header_is_hs256_jwt() {
        let decoded = decode_segment(DEFAULT_HEADER).unwrap();
        assert_eq!(decoded, br#"{"alg":"HS256","typ":"JWT"}"#);
    }

    #[test]
    fn matches_the_rfc7515_style_reference_signature() {
        // Independently computed: HMAC-SHA256 with key "secret" over the signing input below.
        #[derive(Serialize)]
        struct Claims {
            sub: &'static str,
        }
        let token = encode(&Claims { sub: "x" }, &Map::new(), &AccessKey::new("secret")).unwrap();
        let (signing_input, signature) = token.rsplit_once('.').unwrap();
        assert_eq!(signing_input, format!("{DEFAULT_HEADER}.eyJzdWIiOiJ4In0"));
        let expected = hmac::sign(
            &hmac::Key::new(hmac::HMAC_SHA256, b"secret"),
            signing_input.as_bytes(),
        );
        assert_eq!(decode_segment(signature).unwrap(), expected.as_ref());
    }

    #[test]
    fn extra_header_fields_follow_alg_and_typ() {
        let mut extra = Map::new();
        extra.insert("kid".into(), Value::from("1234567890"));
        let token = encode(&serde_json::json!({}), &extra, &AccessKey::new("k")).unwrap();
        let header = decode_segment(token.split('.').next().unwrap()).unwrap();
        let header: Value = serde_json::from_slice(&header).unwrap();
        assert_eq!(
            header,
            serde_json::json!({"alg": "HS256", "typ": "JWT", "kid": "1234567890"})
        );
    }
}
