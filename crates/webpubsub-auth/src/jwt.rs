//! The one place that encodes and signs HS256 JSON Web Tokens.
//!
//! Crypto lives here and in [`crate::signature`] only, so switching the HMAC provider is local.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::hmac;
use serde_json::{Map, Value};

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

/// Writes a JSON claims object field by field, without an intermediate value tree.
///
/// Field names are trusted literals; string values are escaped.
#[derive(Debug)]
pub(crate) struct ClaimsWriter {
    json: Vec<u8>,
}

impl ClaimsWriter {
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Self::reusing(Vec::with_capacity(capacity))
    }

    /// Writes into `buffer` (cleared), keeping its allocation.
    pub(crate) fn reusing(mut buffer: Vec<u8>) -> Self {
        buffer.clear();
        buffer.push(b'{');
        Self { json: buffer }
    }

    fn key(&mut self, name: &str) {
        if self.json.len() > 1 {
            self.json.push(b',');
        }
        self.json.push(b'"');
        self.json.extend_from_slice(name.as_bytes());
        self.json.extend_from_slice(b"\":");
    }

    pub(crate) fn string(&mut self, name: &str, value: &str) {
        self.string_parts(name, &[value]);
    }

    /// A string field whose value is the concatenation of `parts`.
    pub(crate) fn string_parts(&mut self, name: &str, parts: &[&str]) {
        self.key(name);
        self.json.push(b'"');
        for part in parts {
            write_json_string_content(&mut self.json, part);
        }
        self.json.push(b'"');
    }

    pub(crate) fn number(&mut self, name: &str, value: u64) {
        self.key(name);
        let mut digits = [0u8; 20];
        let mut n = value;
        let mut start = digits.len();
        loop {
            start -= 1;
            digits[start] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.json.extend_from_slice(&digits[start..]);
    }

    pub(crate) fn strings<'a>(&mut self, name: &str, values: impl IntoIterator<Item = &'a str>) {
        self.key(name);
        self.json.push(b'[');
        for (index, value) in values.into_iter().enumerate() {
            if index > 0 {
                self.json.push(b',');
            }
            write_json_string(&mut self.json, value);
        }
        self.json.push(b']');
    }

    pub(crate) fn reserve(&mut self, additional: usize) {
        self.json.reserve(additional);
    }

    /// Bytes written so far.
    pub(crate) fn written(&self) -> usize {
        self.json.len()
    }

    pub(crate) fn finish(mut self) -> Vec<u8> {
        self.json.push(b'}');
        self.json
    }
}

/// Appends `value` as a JSON string.
fn write_json_string(out: &mut Vec<u8>, value: &str) {
    out.push(b'"');
    write_json_string_content(out, value);
    out.push(b'"');
}

/// Appends `value` escaped for the inside of a JSON string: a fast path for text with nothing to
/// escape, serde_json's escaper otherwise.
fn write_json_string_content(out: &mut Vec<u8>, value: &str) {
    if value.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.extend_from_slice(value.as_bytes());
    } else {
        let start = out.len();
        // Serialising a &str into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, value);
        // Drop the quotes serde_json wrote around the value.
        out.remove(start);
        out.pop();
    }
}

/// Signs already-encoded JSON `claims` with HS256 under `key` (see `AccessKey::hmac_key`).
///
/// `extra_header` fields (e.g. `kid`) follow `alg` and `typ`; callers have already rejected the
/// reserved ones.
pub(crate) fn encode(
    claims: &[u8],
    extra_header: &Map<String, Value>,
    key: &hmac::Key,
) -> Result<String, serde_json::Error> {
    let header_json;
    let header_b64 = if extra_header.is_empty() {
        None
    } else {
        let mut header = Map::with_capacity(2 + extra_header.len());
        header.insert("alg".into(), Value::from("HS256"));
        header.insert("typ".into(), Value::from("JWT"));
        for (name, value) in extra_header {
            header.insert(name.clone(), value.clone());
        }
        header_json = serde_json::to_vec(&header)?;
        Some(header_json.as_slice())
    };
    let header_len = header_b64.map_or(DEFAULT_HEADER.len(), |h| encoded_len(h.len()));
    let mut token = Vec::with_capacity(header_len + encoded_len(claims.len()) + 45);
    match header_b64 {
        None => token.extend_from_slice(DEFAULT_HEADER.as_bytes()),
        Some(header) => append_base64(&mut token, header),
    }
    token.push(b'.');
    append_base64(&mut token, claims);
    let tag = hmac::sign(key, &token);
    token.push(b'.');
    append_base64(&mut token, tag.as_ref());
    // base64url output and the fixed header are ASCII.
    Ok(String::from_utf8(token).expect("a JWT is ASCII"))
}

/// The hashed start of HS256 tokens (default header) whose claims begin with the same bytes,
/// such as the REST tokens for one URL: `{"aud":"<url>","iat":` precedes the only fields that
/// change. Signing such a token hashes only what follows; the token is the one [`encode`] makes.
#[derive(Clone)]
pub(crate) struct SignedPrefix {
    /// The claims bytes this was made for.
    claims_prefix: Vec<u8>,
    /// How many of them are encoded in `token_start`: a multiple of 3, so the base64 of the
    /// rest continues on a group boundary.
    cut: usize,
    /// `header.` and the base64url of `claims_prefix[..cut]`.
    token_start: Vec<u8>,
    /// The HMAC over `token_start`, ready to take the rest.
    context: hmac::Context,
}

impl SignedPrefix {
    pub(crate) fn new(key: &hmac::Key, claims_prefix: &[u8]) -> Self {
        let cut = claims_prefix.len() / 3 * 3;
        let mut token_start = Vec::with_capacity(DEFAULT_HEADER.len() + 1 + encoded_len(cut));
        token_start.extend_from_slice(DEFAULT_HEADER.as_bytes());
        token_start.push(b'.');
        append_base64(&mut token_start, &claims_prefix[..cut]);
        let mut context = hmac::Context::with_key(key);
        context.update(&token_start);
        Self {
            claims_prefix: claims_prefix.to_vec(),
            cut,
            token_start,
            context,
        }
    }

    /// Appends the token for `claims` to `out` if they begin with this prefix; `false` (and
    /// nothing appended) otherwise.
    pub(crate) fn encode_into(&self, claims: &[u8], out: &mut Vec<u8>) -> bool {
        if !claims.starts_with(&self.claims_prefix) {
            return false;
        }
        let rest = &claims[self.cut..];
        out.reserve(self.token_start.len() + encoded_len(rest.len()) + 44);
        out.extend_from_slice(&self.token_start);
        let rest_start = out.len();
        append_base64(out, rest);
        let mut context = self.context.clone();
        context.update(&out[rest_start..]);
        let tag = context.sign();
        out.push(b'.');
        append_base64(out, tag.as_ref());
        true
    }
}

/// The unpadded base64 length of `n` bytes.
fn encoded_len(n: usize) -> usize {
    n / 3 * 4 + [0, 2, 3][n % 3]
}

/// Appends unpadded base64url of `input`, written straight into `out`'s spare capacity.
fn append_base64(out: &mut Vec<u8>, input: &[u8]) {
    let start = out.len();
    out.resize(start + encoded_len(input.len()), 0);
    // The slice is exactly the encoded length, so this cannot fail.
    let written = URL_SAFE_NO_PAD
        .encode_slice(input, &mut out[start..])
        .unwrap_or(0);
    out.truncate(start + written);
}

/// Decodes a base64url segment, tolerating `=` padding some encoders add.
pub(crate) fn decode_segment(segment: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(segment.trim_end_matches('=')).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::AccessKey;

    #[test]
    fn base64_appends_match_the_engine() {
        for n in 0..10 {
            let input: Vec<u8> = (0..n as u8).map(|b| b.wrapping_mul(97)).collect();
            let mut out = b"x".to_vec();
            append_base64(&mut out, &input);
            assert_eq!(
                out,
                format!("x{}", URL_SAFE_NO_PAD.encode(&input)).into_bytes()
            );
            assert_eq!(encoded_len(n), URL_SAFE_NO_PAD.encode(&input).len());
        }
    }

    #[test]
    fn default_header_is_hs256_jwt() {
        let decoded = decode_segment(DEFAULT_HEADER).unwrap();
        assert_eq!(decoded, br#"{"alg":"HS256","typ":"JWT"}"#);
    }

    #[test]
    fn matches_the_rfc7515_style_reference_signature() {
        // Independently computed: HMAC-SHA256 with key "secret" over the signing input below.
        let mut claims = ClaimsWriter::with_capacity(16);
        claims.string("sub", "x");
        let token = encode(
            &claims.finish(),
            &Map::new(),
            &AccessKey::new("secret").hmac_key(),
        )
        .unwrap();
        let (signing_input, signature) = token.rsplit_once('.').unwrap();
        assert_eq!(signing_input, format!("{DEFAULT_HEADER}.eyJzdWIiOiJ4In0"));
        let expected = hmac::sign(
            &hmac::Key::new(hmac::HMAC_SHA256, b"secret"),
            signing_input.as_bytes(),
        );
        assert_eq!(decode_segment(signature).unwrap(), expected.as_ref());
    }

    #[test]
    fn claims_writer_matches_serde_json() {
        let awkward = "quote\" backslash\\ newline\n tab\t nul\u{0} é 漢 \u{7f}";
        let mut claims = ClaimsWriter::with_capacity(8);
        claims.string("aud", awkward);
        claims.string_parts("parts", &["a\"", "", "b\\"]);
        claims.number("iat", 0);
        claims.number("exp", u64::MAX);
        claims.strings("role", ["a", awkward]);
        claims.strings("none", []);
        let json: Value = serde_json::from_slice(&claims.finish()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"aud": awkward, "parts": "a\"b\\", "iat": 0, "exp": u64::MAX, "role": ["a", awkward], "none": []})
        );
        assert_eq!(ClaimsWriter::with_capacity(0).finish(), b"{}");
    }

    #[test]
    fn extra_header_fields_follow_alg_and_typ() {
        let mut extra = Map::new();
        extra.insert("kid".into(), Value::from("1234567890"));
        let token = encode(b"{}", &extra, &AccessKey::new("k").hmac_key()).unwrap();
        let header = decode_segment(token.split('.').next().unwrap()).unwrap();
        let header: Value = serde_json::from_slice(&header).unwrap();
        assert_eq!(
            header,
            serde_json::json!({"alg": "HS256", "typ": "JWT", "kid": "1234567890"})
        );
    }
}
