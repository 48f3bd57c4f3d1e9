//! The service's rules for names, ids and parameters, in one place: every crate (the token
//! minter, the service client, the emulator, the client SDK) checks with these functions.

use std::fmt;

use thiserror::Error;

/// The largest message the service accepts: 1 MiB.
pub const MAX_MESSAGE_BYTES: usize = 1024 * 1024;
/// The largest `messageTtlSeconds`.
pub const MAX_MESSAGE_TTL_SECONDS: u32 = 300;
/// The largest `maxpagesize`.
pub const MAX_PAGE_SIZE: u32 = 200;
/// The longest group name, in characters.
pub const MAX_GROUP_LENGTH: usize = 1024;

/// The rule a value broke.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ValidationRule {
    /// The value must not be empty.
    NonEmpty,
    /// The value must not be only whitespace.
    NotBlank,
    /// The hub-name pattern `^[A-Za-z][A-Za-z0-9_`,.[\]]{0,127}$`.
    HubPattern,
    /// At most this many characters.
    MaxChars(usize),
    /// At most this many bytes.
    MaxBytes(usize),
    /// An integer in this inclusive range.
    Range {
        /// Smallest allowed value.
        min: u64,
        /// Largest allowed value.
        max: u64,
    },
    /// One of these values.
    OneOf(&'static [&'static str]),
    /// Valid JSON.
    Json,
    /// No line break (`\n`): the spec's `.` in `^(?!\s+$).+$` does not match one.
    SingleLine,
    /// The event-name pattern `^[A-Za-z][A-Za-z0-9_.-]{0,127}$`.
    EventNamePattern,
}

impl fmt::Display for ValidationRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValidationRule::NonEmpty => f.write_str("must not be empty"),
            ValidationRule::NotBlank => f.write_str("must not be only whitespace"),
            ValidationRule::HubPattern => f.write_str(
                "must start with a letter and have 1 to 128 letters, digits or _ ` , . [ ]",
            ),
            ValidationRule::MaxChars(n) => write!(f, "must have at most {n} characters"),
            ValidationRule::MaxBytes(n) => write!(f, "must be at most {n} bytes"),
            ValidationRule::Range { min, max } => write!(f, "must be from {min} to {max}"),
            ValidationRule::OneOf(values) => write!(f, "must be one of {}", values.join(", ")),
            ValidationRule::Json => f.write_str("must be valid JSON"),
            ValidationRule::SingleLine => f.write_str("must not contain a line break"),
            ValidationRule::EventNamePattern => {
                f.write_str("must start with a letter and have 1 to 128 letters, digits or _ . -")
            }
        }
    }
}

/// A value broke one of the service's rules.
///
/// ```
/// use webpubsub_protocol::validate::{self, ValidationRule};
///
/// let err = validate::group("   ").unwrap_err();
/// assert_eq!(err.field(), "group");
/// assert_eq!(err.rule(), &ValidationRule::NotBlank);
/// assert_eq!(err.to_string(), "invalid group: must not be only whitespace");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid {field}: {rule}")]
pub struct ValidationError {
    field: &'static str,
    rule: ValidationRule,
}

impl ValidationError {
    /// An error for `field` breaking `rule`.
    pub fn new(field: &'static str, rule: ValidationRule) -> Self {
        Self { field, rule }
    }

    /// The field or parameter, as the REST API names it (`hub`, `group`, `messageTtlSeconds`, ...).
    pub fn field(&self) -> &'static str {
        self.field
    }

    /// The rule it broke.
    pub fn rule(&self) -> &ValidationRule {
        &self.rule
    }
}

/// Checks a hub name: `^[A-Za-z][A-Za-z0-9_`,.[\]]{0,127}$`.
///
/// # Errors
/// A [`ValidationError`] for field `hub`.
pub fn hub(hub: &str) -> Result<(), ValidationError> {
    let mut chars = hub.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && hub.len() <= 128
        && chars
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '`' | ',' | '.' | '[' | ']'));
    if valid {
        Ok(())
    } else {
        Err(ValidationError::new("hub", ValidationRule::HubPattern))
    }
}

/// Checks a user event name: a letter, then up to 127 letters, digits, `_`, `.` or `-` (the
/// service's rule; the system event names `connect`, `connected` and `disconnected` fit it too).
///
/// ```
/// use webpubsub_protocol::validate;
///
/// assert!(validate::event_name("chat.message-v2").is_ok());
/// assert!(validate::event_name("1st").is_err());
/// assert!(validate::event_name("a b").is_err());
/// ```
///
/// # Errors
/// A [`ValidationError`] for field `event`.
pub fn event_name(name: &str) -> Result<(), ValidationError> {
    let mut chars = name.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.len() <= 128
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if valid {
        Ok(())
    } else {
        Err(ValidationError::new(
            "event",
            ValidationRule::EventNamePattern,
        ))
    }
}

/// Checks a group name: 1 to 1024 characters, not only whitespace, no line break (the spec's
/// `^(?!\s+$).+$`, `maxLength` 1024).
///
/// # Errors
/// A [`ValidationError`] for field `group`.
pub fn group(group: &str) -> Result<(), ValidationError> {
    group_named("group", group)
}

/// [`group`] for a field with another name (`groupsToAdd`, `targetName`, ...).
///
/// # Errors
/// A [`ValidationError`] for `field`.
pub fn group_named(field: &'static str, group: &str) -> Result<(), ValidationError> {
    if group.is_empty() {
        Err(ValidationError::new(field, ValidationRule::NonEmpty))
    } else if group.trim().is_empty() {
        Err(ValidationError::new(field, ValidationRule::NotBlank))
    } else if group.contains('\n') {
        Err(ValidationError::new(field, ValidationRule::SingleLine))
    } else if group.chars().count() > MAX_GROUP_LENGTH {
        Err(ValidationError::new(
            field,
            ValidationRule::MaxChars(MAX_GROUP_LENGTH),
        ))
    } else {
        Ok(())
    }
}

/// Checks a user id: not empty.
///
/// # Errors
/// A [`ValidationError`] for field `userId`.
pub fn user_id(user_id: &str) -> Result<(), ValidationError> {
    non_empty("userId", user_id)
}

/// Checks a connection id: not empty.
///
/// # Errors
/// A [`ValidationError`] for field `connectionId`.
pub fn connection_id(connection_id: &str) -> Result<(), ValidationError> {
    non_empty("connectionId", connection_id)
}

/// Checks that a value named `field` is not empty.
///
/// # Errors
/// A [`ValidationError`] for `field`.
pub fn non_empty(field: &'static str, value: &str) -> Result<(), ValidationError> {
    if value.is_empty() {
        Err(ValidationError::new(field, ValidationRule::NonEmpty))
    } else {
        Ok(())
    }
}

pub(crate) fn range(
    field: &'static str,
    value: u64,
    min: u64,
    max: u64,
) -> Result<(), ValidationError> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(ValidationError::new(
            field,
            ValidationRule::Range { min, max },
        ))
    }
}

/// Checks `messageTtlSeconds`: 0 to 300 (0 means no expiry).
///
/// # Errors
/// A [`ValidationError`] for field `messageTtlSeconds`.
pub fn message_ttl(seconds: u32) -> Result<(), ValidationError> {
    range(
        "messageTtlSeconds",
        seconds.into(),
        0,
        MAX_MESSAGE_TTL_SECONDS.into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hub_rule() {
        for ok in ["a", "Hub1", "h_`,.[]", &format!("h{}", "x".repeat(127))] {
            assert_eq!(hub(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "1a",
            "_a",
            "a-b",
            "a/b",
            "a b",
            "hé",
            &format!("h{}", "x".repeat(128)),
        ] {
            assert_eq!(
                hub(bad).unwrap_err().rule(),
                &ValidationRule::HubPattern,
                "{bad}"
            );
        }
    }

    #[test]
    fn group_rule() {
        assert_eq!(group("g/1 #?é"), Ok(()));
        assert_eq!(group(&"é".repeat(1024)), Ok(()));
        assert_eq!(group("").unwrap_err().rule(), &ValidationRule::NonEmpty);
        assert_eq!(
            group(" \t\n").unwrap_err().rule(),
            &ValidationRule::NotBlank
        );
        assert_eq!(
            group("a\nb").unwrap_err().rule(),
            &ValidationRule::SingleLine
        );
        assert_eq!(group("a\rb\tc"), Ok(()));
        assert_eq!(
            group(&"x".repeat(1025)).unwrap_err().rule(),
            &ValidationRule::MaxChars(1024)
        );
    }

    #[test]
    fn ranges_and_messages() {
        assert_eq!(message_ttl(0), Ok(()));
        assert_eq!(message_ttl(300), Ok(()));
        let err = message_ttl(301).unwrap_err();
        assert_eq!(err.field(), "messageTtlSeconds");
        assert_eq!(
            err.to_string(),
            "invalid messageTtlSeconds: must be from 0 to 300"
        );
        assert_eq!(
            non_empty("connectionId", "").unwrap_err().to_string(),
            "invalid connectionId: must not be empty"
        );
        assert_eq!(
            ValidationError::new(
                "permission",
                ValidationRule::OneOf(&["sendToGroup", "joinLeaveGroup"])
            )
            .to_string(),
            "invalid permission: must be one of sendToGroup, joinLeaveGroup"
        );
    }
}
