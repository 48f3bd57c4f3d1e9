//! Verifying HS256 tokens: what the emulator does with client and REST tokens.

use std::fmt;
use std::time::{Duration, SystemTime};

use ring::hmac;
use serde_json::{Map, Value};
use thiserror::Error;

use crate::jwt::{decode_segment, unix_seconds};
use crate::secret::AccessKey;

/// The default clock-skew allowance for `exp` and `nbf`: 5 minutes, as the service uses.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(5 * 60);

/// The three parts of a compact JWT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenPart {
    /// The JOSE header.
    Header,
    /// The claims.
    Claims,
    /// The signature.
    Signature,
}

impl fmt::Display for TokenPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TokenPart::Header => "header",
            TokenPart::Claims => "claims",
            TokenPart::Signature => "signature",
        })
    }
}

/// Why a token was rejected. Messages never contain the token.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// Not three `.`-separated parts.
    #[error("the token is not a compact JWT (header.claims.signature)")]
    Malformed,
    /// A part is not base64url.
    #[error("the token's {0} is not valid base64url")]
    InvalidBase64(TokenPart),
    /// A part is not a JSON object.
    #[error("the token's {0} is not a JSON object")]
    InvalidJson(TokenPart),
    /// `alg` is missing or not `HS256` (`none` included).
    #[error("the token's algorithm {alg:?} is not accepted (only HS256)")]
    UnsupportedAlgorithm {
        /// The `alg` the token declares (truncated to 32 characters), empty when missing.
        alg: String,
    },
    /// The validator has no keys.
    #[error("no access key is configured to verify tokens with")]
    NoKeys,
    /// The signature matches none of the keys.
    #[error("the token's signature does not match any access key")]
    InvalidSignature,
    /// A registered claim has the wrong type.
    #[error("the token's `{claim}` claim has the wrong type")]
    InvalidClaim {
        /// The claim's name.
        claim: &'static str,
    },
    /// There is no `exp` claim and the validator requires one.
    #[error("the token has no expiry (exp)")]
    MissingExpiry,
    /// `exp` is in the past (beyond the leeway).
    #[error("the token has expired")]
    Expired,
    /// `nbf` is in the future (beyond the leeway).
    #[error("the token is not valid yet")]
    NotYetValid,
    /// No `aud` claim.
    #[error("the token has no audience (aud)")]
    MissingAudience,
    /// The audience matcher accepted none of the token's audiences.
    #[error("the token's audience does not match this endpoint")]
    InvalidAudience,
}

/// The JOSE header of a verified token.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct JwtHeader {
    /// `kid`, if present.
    pub key_id: Option<String>,
    /// Every header field, `alg` included.
    pub fields: Map<String, Value>,
}

/// The claims of a verified token. Dates are Unix seconds.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct Claims {
    /// `aud`: one entry for a string claim, several for an array.
    pub audiences: Vec<String>,
    /// `sub`: the user id.
    pub subject: Option<String>,
    /// `iat`.
    pub issued_at: Option<u64>,
    /// `exp`.
    pub expires_at: Option<u64>,
    /// `nbf`.
    pub not_before: Option<u64>,
    /// `role`, from a string or an array of strings.
    pub roles: Vec<String>,
    /// `webpubsub.group`, from a string or an array of strings.
    pub groups: Vec<String>,
    /// Every other claim, unchanged (the service passes these on in the `connect` event).
    pub other: Map<String, Value>,
}

/// A token whose signature, lifetime and audience were checked.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct VerifiedToken {
    /// The header.
    pub header: JwtHeader,
    /// The claims.
    pub claims: Claims,
}

/// Verifies HS256 tokens against one or more access keys (primary and secondary).
///
/// ```
/// use std::time::SystemTime;
/// use webpubsub_auth::{AccessKey, ClientAccessTokenOptions, ConnectionString, TokenValidator};
///
/// let cs: ConnectionString = "Endpoint=http://localhost:8080;AccessKey=k1".parse()?;
/// let token = cs.client_access_token("chat", &ClientAccessTokenOptions::default().user_id("bob"))?;
///
/// let validator = TokenValidator::new([AccessKey::new("k1"), AccessKey::new("k2")]);
/// let verified = validator.verify(
///     &token.token,
///     |aud| aud.eq_ignore_ascii_case("http://localhost:8080/client/hubs/chat"),
///     SystemTime::now(),
/// )?;
/// assert_eq!(verified.claims.subject.as_deref(), Some("bob"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct TokenValidator {
    keys: Vec<AccessKey>,
    leeway: Duration,
    require_expiry: bool,
}

impl TokenValidator {
    /// A validator for these keys, with [`DEFAULT_LEEWAY`] and `exp` required.
    pub fn new(keys: impl IntoIterator<Item = AccessKey>) -> Self {
        Self {
            keys: keys.into_iter().collect(),
            leeway: DEFAULT_LEEWAY,
            require_expiry: true,
        }
    }

    /// Sets the clock-skew allowance for `exp` and `nbf`.
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Whether a token without `exp` is rejected (default `true`).
    pub fn require_expiry(mut self, require: bool) -> Self {
        self.require_expiry = require;
        self
    }

    /// Verifies `token` at `now`; `audience` is asked about each `aud` entry and must accept one.
    ///
    /// Checks, in order: shape, header (only `alg: HS256`), signature against every key (constant
    /// time), claim types, `exp` and `nbf` with the leeway, then the audience.
    ///
    /// # Errors
    /// A [`VerifyError`] naming the first check that failed.
    pub fn verify(
        &self,
        token: &str,
        audience: impl Fn(&str) -> bool,
        now: SystemTime,
    ) -> Result<VerifiedToken, VerifyError> {
        let mut parts = token.trim().split('.');
        let (Some(header_b64), Some(claims_b64), Some(signature_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(VerifyError::Malformed);
        };

        let header = decode_object(header_b64, TokenPart::Header)?;
        match header.get("alg") {
            Some(Value::String(alg)) if alg == "HS256" => {}
            Some(Value::String(alg)) => {
                return Err(VerifyError::UnsupportedAlgorithm {
                    alg: alg.chars().take(32).collect(),
                })
            }
            _ => {
                return Err(VerifyError::UnsupportedAlgorithm { alg: String::new() });
            }
        }

        if self.keys.is_empty() {
            return Err(VerifyError::NoKeys);
        }
        let signature = decode_segment(signature_b64)
            .ok_or(VerifyError::InvalidBase64(TokenPart::Signature))?;
        let signing_input = &token.trim()[..header_b64.len() + 1 + claims_b64.len()];
        let mut matched = false;
        for key in &self.keys {
            // Every key is tried, so timing does not tell which one matched.
            matched |= hmac::verify(&key.hmac_key(), signing_input.as_bytes(), &signature).is_ok();
        }
        if !matched {
            return Err(VerifyError::InvalidSignature);
        }

        let claims = parse_claims(decode_object(claims_b64, TokenPart::Claims)?)?;
        let now = unix_seconds(now);
        let leeway = self.leeway.as_secs();
        match claims.expires_at {
            None if self.require_expiry => return Err(VerifyError::MissingExpiry),
            Some(exp) if now >= exp.saturating_add(leeway) => return Err(VerifyError::Expired),
            _ => {}
        }
        if let Some(nbf) = claims.not_before {
            if nbf > now.saturating_add(leeway) {
                return Err(VerifyError::NotYetValid);
            }
        }
        if claims.audiences.is_empty() {
            return Err(VerifyError::MissingAudience);
        }
        if !claims.audiences.iter().any(|aud| audience(aud)) {
            return Err(VerifyError::InvalidAudience);
        }

        let key_id = header.get("kid").and_then(Value::as_str).map(str::to_owned);
        Ok(VerifiedToken {
            header: JwtHeader {
                key_id,
                fields: header,
            },
            claims,
        })
    }
}

fn decode_object(segment: &str, part: TokenPart) -> Result<Map<String, Value>, VerifyError> {
    let bytes = decode_segment(segment).ok_or(VerifyError::InvalidBase64(part))?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(VerifyError::InvalidJson(part)),
    }
}

fn parse_claims(mut map: Map<String, Value>) -> Result<Claims, VerifyError> {
    Ok(Claims {
        audiences: take_strings(&mut map, "aud")?,
        subject: match map.remove("sub") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s),
            Some(_) => return Err(VerifyError::InvalidClaim { claim: "sub" }),
        },
        issued_at: take_date(&mut map, "iat")?,
        expires_at: take_date(&mut map, "exp")?,
        not_before: take_date(&mut map, "nbf")?,
        roles: take_strings(&mut map, "role")?,
        groups: take_strings(&mut map, "webpubsub.group")?,
        other: map,
    })
}

/// A claim that may be one string or an array of strings.
fn take_strings(
    map: &mut Map<String, Value>,
    claim: &'static str,
) -> Result<Vec<String>, VerifyError> {
    match map.remove(claim) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![s]),
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|item| match item {
                Value::String(s) => Ok(s),
                _ => Err(VerifyError::InvalidClaim { claim }),
            })
            .collect(),
        Some(_) => Err(VerifyError::InvalidClaim { claim }),
    }
}

/// A NumericDate: a non-negative number of seconds, fractions truncated.
fn take_date(
    map: &mut Map<String, Value>,
    claim: &'static str,
) -> Result<Option<u64>, VerifyError> {
    match map.remove(claim) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .or_else(|| {
                n.as_f64()
                    .filter(|f| *f >= 0.0 && f.is_finite())
                    .map(|f| f as u64)
            })
            .map(Some)
            .ok_or(VerifyError::InvalidClaim { claim }),
        Some(_) => Err(VerifyError::InvalidClaim { claim }),
    }
}

/// The `exp` of a JWT, read without checking its signature: for a token this process did not
/// sign but received from the service (`:generateToken`), to know when it expires. `None` when
/// the token is not a JWT or has no `exp`.
///
/// ```
/// use std::time::{Duration, SystemTime, UNIX_EPOCH};
/// use webpubsub_auth::{unverified_expiry, ClientAccessTokenOptions, ConnectionString};
///
/// let cs: ConnectionString = "Endpoint=https://h.example;AccessKey=k;Version=1.0;".parse()?;
/// let token = cs.client_access_token("chat", &ClientAccessTokenOptions::default())?;
/// assert_eq!(unverified_expiry(&token.token), Some(token.expires_at));
/// assert_eq!(unverified_expiry("not a jwt"), None);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn unverified_expiry(token: &str) -> Option<std::time::SystemTime> {
    let bytes = decode_segment(token.split('.').nth(1)?)?;
    let exp = serde_json::from_slice::<Value>(&bytes)
        .ok()?
        .get("exp")?
        .as_u64()?;
    std::time::SystemTime::UNIX_EPOCH.checked_add(std::time::Duration::from_secs(exp))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client_token::{client_access_token, ClientAccessTokenOptions};
    use crate::endpoint::Endpoint;
    use crate::jwt::encode;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    use serde_json::json;
    use std::time::UNIX_EPOCH;

    const NOW: u64 = 1_700_000_000;

    fn at(seconds: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(seconds)
    }

    fn signed(claims: Value, key: &str) -> String {
        encode(
            &serde_json::to_vec(&claims).unwrap(),
            &Map::new(),
            &AccessKey::new(key).hmac_key(),
        )
        .unwrap()
    }

    fn validator() -> TokenValidator {
        TokenValidator::new([AccessKey::new("primary"), AccessKey::new("secondary")])
    }

    fn verify(token: &str) -> Result<VerifiedToken, VerifyError> {
        validator().verify(token, |aud| aud == "aud", at(NOW))
    }

    fn b64(s: &str) -> String {
        URL_SAFE_NO_PAD.encode(s)
    }

    #[test]
    fn accepts_either_key_and_returns_typed_claims() {
        for key in ["primary", "secondary"] {
            let token = signed(
                json!({"aud": "aud", "exp": NOW + 10, "iat": NOW, "nbf": NOW, "sub": "u",
                       "role": "webpubsub.sendToGroup", "webpubsub.group": ["a", "b"], "custom": {"x": 1}}),
                key,
            );
            let claims = verify(&token).unwrap().claims;
            assert_eq!(claims.audiences, ["aud"]);
            assert_eq!(claims.subject.as_deref(), Some("u"));
            assert_eq!(claims.roles, ["webpubsub.sendToGroup"]);
            assert_eq!(claims.groups, ["a", "b"]);
            assert_eq!(
                (claims.issued_at, claims.expires_at, claims.not_before),
                (Some(NOW), Some(NOW + 10), Some(NOW))
            );
            assert_eq!(
                claims.other,
                json!({"custom": {"x": 1}}).as_object().unwrap().clone()
            );
        }
    }

    #[test]
    fn audience_may_be_an_array_and_the_matcher_decides() {
        let token = signed(json!({"aud": ["other", "aud"], "exp": NOW + 10}), "primary");
        assert!(verify(&token).is_ok());
        let token = signed(json!({"aud": "nope", "exp": NOW + 10}), "primary");
        assert_eq!(verify(&token).unwrap_err(), VerifyError::InvalidAudience);
        let token = signed(json!({"exp": NOW + 10}), "primary");
        assert_eq!(verify(&token).unwrap_err(), VerifyError::MissingAudience);
    }

    #[test]
    fn rejects_other_algorithms_including_none() {
        let claims = b64(r#"{"aud":"aud","exp":9999999999}"#);
        for (header, alg) in [
            (r#"{"alg":"none","typ":"JWT"}"#, "none"),
            (r#"{"alg":"HS512"}"#, "HS512"),
            (r#"{"alg":"RS256"}"#, "RS256"),
            (r#"{"alg":"hs256"}"#, "hs256"),
            (r#"{"typ":"JWT"}"#, ""),
            (r#"{"alg":256}"#, ""),
        ] {
            let token = format!("{}.{claims}.", b64(header));
            assert_eq!(
                verify(&token).unwrap_err(),
                VerifyError::UnsupportedAlgorithm { alg: alg.into() },
                "{header}"
            );
        }
    }

    #[test]
    fn rejects_malformed_tokens() {
        let good = signed(json!({"aud": "aud", "exp": NOW + 10}), "primary");
        let (h, rest) = good.split_once('.').unwrap();
        let (c, s) = rest.split_once('.').unwrap();
        let cases = [
            (String::new(), VerifyError::Malformed),
            ("a.b".into(), VerifyError::Malformed),
            (format!("{good}.x"), VerifyError::Malformed),
            (
                format!("!!.{c}.{s}"),
                VerifyError::InvalidBase64(TokenPart::Header),
            ),
            (
                format!("{}.{c}.{s}", b64("not json")),
                VerifyError::InvalidJson(TokenPart::Header),
            ),
            (
                format!("{}.{c}.{s}", b64("[1]")),
                VerifyError::InvalidJson(TokenPart::Header),
            ),
            (
                format!("{h}.{c}.!!"),
                VerifyError::InvalidBase64(TokenPart::Signature),
            ),
        ];
        for (token, expected) in cases {
            assert_eq!(verify(&token).unwrap_err(), expected, "{token}");
        }
        // Claims that are signed but not JSON: the signature passes, the claims do not.
        let key = AccessKey::new("primary");
        let input = format!("{h}.{}", b64("nope"));
        let tag = hmac::sign(&key.hmac_key(), input.as_bytes());
        let token = format!("{input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()));
        assert_eq!(
            verify(&token).unwrap_err(),
            VerifyError::InvalidJson(TokenPart::Claims)
        );
        let input = format!("{h}.%%");
        let tag = hmac::sign(&key.hmac_key(), input.as_bytes());
        let token = format!("{input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()));
        assert_eq!(
            verify(&token).unwrap_err(),
            VerifyError::InvalidBase64(TokenPart::Claims)
        );
    }

    #[test]
    fn rejects_wrong_key_and_tampering() {
        let token = signed(json!({"aud": "aud", "exp": NOW + 10}), "attacker");
        assert_eq!(verify(&token).unwrap_err(), VerifyError::InvalidSignature);
        let good = signed(
            json!({"aud": "aud", "exp": NOW + 10, "sub": "a"}),
            "primary",
        );
        let forged_claims = b64(&format!(
            r#"{{"aud":"aud","exp":{},"sub":"admin"}}"#,
            NOW + 10
        ));
        let mut parts: Vec<&str> = good.split('.').collect();
        parts[1] = &forged_claims;
        assert_eq!(
            verify(&parts.join(".")).unwrap_err(),
            VerifyError::InvalidSignature
        );
        let empty = TokenValidator::new([]);
        assert_eq!(
            empty.verify(&good, |_| true, at(NOW)).unwrap_err(),
            VerifyError::NoKeys
        );
    }

    #[test]
    fn lifetime_checks_use_the_leeway() {
        let v = validator().leeway(Duration::from_secs(30));
        let check = |claims: Value| v.verify(&signed(claims, "primary"), |_| true, at(NOW));
        assert!(check(json!({"aud": "a", "exp": NOW + 1})).is_ok());
        assert!(check(json!({"aud": "a", "exp": NOW - 29})).is_ok());
        assert_eq!(
            check(json!({"aud": "a", "exp": NOW - 30})).unwrap_err(),
            VerifyError::Expired
        );
        assert_eq!(
            check(json!({"aud": "a"})).unwrap_err(),
            VerifyError::MissingExpiry
        );
        assert!(check(json!({"aud": "a", "exp": NOW + 10, "nbf": NOW + 30})).is_ok());
        assert_eq!(
            check(json!({"aud": "a", "exp": NOW + 100, "nbf": NOW + 31})).unwrap_err(),
            VerifyError::NotYetValid
        );
        assert!(check(json!({"aud": "a", "exp": (NOW + 5) as f64 + 0.5})).is_ok());
        let lenient = validator().require_expiry(false);
        assert!(lenient
            .verify(&signed(json!({"aud": "a"}), "primary"), |_| true, at(NOW))
            .is_ok());
        assert_eq!(DEFAULT_LEEWAY, Duration::from_secs(300));
    }

    #[test]
    fn rejects_claims_of_the_wrong_type() {
        for (claims, claim) in [
            (json!({"aud": 1, "exp": NOW + 10}), "aud"),
            (json!({"aud": ["a", 1], "exp": NOW + 10}), "aud"),
            (json!({"aud": "a", "exp": "soon"}), "exp"),
            (json!({"aud": "a", "exp": -1}), "exp"),
            (json!({"aud": "a", "exp": NOW + 10, "iat": true}), "iat"),
            (json!({"aud": "a", "exp": NOW + 10, "sub": 5}), "sub"),
            (
                json!({"aud": "a", "exp": NOW + 10, "role": {"a": 1}}),
                "role",
            ),
            (
                json!({"aud": "a", "exp": NOW + 10, "webpubsub.group": [null]}),
                "webpubsub.group",
            ),
        ] {
            let token = signed(claims.clone(), "primary");
            assert_eq!(
                validator().verify(&token, |_| true, at(NOW)).unwrap_err(),
                VerifyError::InvalidClaim { claim },
                "{claims}"
            );
        }
    }

    #[test]
    fn verifies_minted_client_tokens_and_errors_never_show_the_token() {
        let endpoint = Endpoint::parse("http://localhost:8080").unwrap();
        let token = client_access_token(
            &endpoint,
            &AccessKey::new("primary"),
            "hub",
            &ClientAccessTokenOptions::default().user_id("u").group("g"),
            at(NOW),
        )
        .unwrap();
        let ok = validator()
            .verify(
                &token.token,
                |aud| aud == "http://localhost:8080/client/hubs/hub",
                at(NOW + 60),
            )
            .unwrap();
        assert_eq!(ok.claims.groups, ["g"]);
        let err = validator()
            .verify(&token.token, |_| false, at(NOW))
            .unwrap_err();
        assert!(!err.to_string().contains(&token.token));
        assert!(!format!("{err:?}").contains(&token.token));
        let expired = validator().verify(&token.token, |_| true, at(NOW + 3600 + 300));
        assert_eq!(expired.unwrap_err(), VerifyError::Expired);
    }
}
