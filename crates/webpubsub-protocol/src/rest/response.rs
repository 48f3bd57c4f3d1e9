//! Typed responses: exists flags, group member pages, generated tokens and service errors.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Maps the status of a HEAD "exists" operation (`ConnectionExists`, `GroupExists`, `UserExists`,
/// `CheckPermission`) to a flag: any 2xx is `true`, 404 is `false`, anything else is `None` (an
/// error the caller reports).
///
/// ```
/// use webpubsub_protocol::rest::exists_from_status;
///
/// assert_eq!(exists_from_status(200), Some(true));
/// assert_eq!(exists_from_status(404), Some(false));
/// assert_eq!(exists_from_status(401), None);
/// ```
pub fn exists_from_status(status: u16) -> Option<bool> {
    match status {
        200..=299 => Some(true),
        404 => Some(false),
        _ => None,
    }
}

/// One connection in a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupMember {
    /// The connection id.
    pub connection_id: String,
    /// The user id, when the connection has one.
    #[serde(default)]
    pub user_id: Option<String>,
}

/// A page of `ListConnectionsInGroup`.
///
/// ```
/// use webpubsub_protocol::rest::GroupMemberPage;
///
/// let page: GroupMemberPage = serde_json::from_str(
///     r#"{"value":[{"connectionId":"c1","userId":null}],"nextLink":"https://h/api/hubs/x/groups/g/connections?continuationToken=c1"}"#,
/// )?;
/// assert_eq!(page.value[0].connection_id, "c1");
/// assert!(page.next_link.is_some());
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupMemberPage {
    /// The connections on this page.
    pub value: Vec<GroupMember>,
    /// The absolute URL of the next page, without `api-version` (add it back).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_link: Option<String>,
}

/// The body of `GenerateClientToken`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientTokenResponse {
    /// The JWT.
    pub token: String,
}

impl fmt::Debug for ClientTokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientTokenResponse")
            .field("token", &"<redacted>")
            .finish()
    }
}

/// The service's error model (`ErrorDetail`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ErrorDetail {
    /// The error code, e.g. `Error.Connection.NotExisted`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// A human-readable message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// What the error is about (`Connection`, `filter`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Nested errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<Vec<ErrorDetail>>,
    /// A more specific code.
    #[serde(skip_serializing_if = "Option::is_none", alias = "innererror")]
    pub inner: Option<InnerError>,
}

/// A nested, more specific error code.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct InnerError {
    /// The code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// A deeper error.
    #[serde(skip_serializing_if = "Option::is_none", alias = "innererror")]
    pub inner: Option<Box<InnerError>>,
}

/// A response the service did not answer with success: status, code, message and the raw body.
///
/// Reads both body shapes the service uses (`{code, message, ...}` and `{"error": {...}}`), the
/// problem+json variant (`title`/`detail`), and the `x-ms-error-code` header, which wins over the
/// body's code.
///
/// ```
/// use webpubsub_protocol::rest::ServiceError;
///
/// let body = br#"{"code":"Error.Connection.NotExisted","message":"Connection `c` is not found.","target":"Connection"}"#;
/// let err = ServiceError::from_response(404, Some("Error.Connection.NotExisted"), body);
/// assert_eq!(err.status, 404);
/// assert_eq!(err.code.as_deref(), Some("Error.Connection.NotExisted"));
/// assert_eq!(err.message.as_deref(), Some("Connection `c` is not found."));
///
/// let wrapped = ServiceError::from_response(400, None, br#"{"error":{"code":"BadRequest","message":"bad"}}"#);
/// assert_eq!(wrapped.code.as_deref(), Some("BadRequest"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServiceError {
    /// The HTTP status.
    pub status: u16,
    /// The error code: `x-ms-error-code`, else the body's `code`.
    pub code: Option<String>,
    /// The message from the body (`message`, else problem+json `detail` or `title`).
    pub message: Option<String>,
    /// The parsed error detail, when the body had one.
    pub detail: Option<ErrorDetail>,
    /// The raw body (for a HEAD response, empty).
    pub raw_body: Vec<u8>,
}

#[derive(Deserialize)]
struct Envelope {
    error: ErrorDetail,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ProblemDetails {
    title: Option<String>,
    detail: Option<String>,
}

impl ServiceError {
    /// Builds the error from a response's status, `x-ms-error-code` header and body.
    pub fn from_response(status: u16, error_code_header: Option<&str>, body: &[u8]) -> Self {
        let detail = serde_json::from_slice::<Envelope>(body)
            .map(|e| e.error)
            .or_else(|_| serde_json::from_slice::<ErrorDetail>(body))
            .ok();
        let problem = serde_json::from_slice::<ProblemDetails>(body).unwrap_or_default();
        let code = error_code_header
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .or_else(|| detail.as_ref().and_then(|d| d.code.clone()));
        let message = detail
            .as_ref()
            .and_then(|d| d.message.clone())
            .or(problem.detail)
            .or(problem.title)
            .or_else(|| {
                let text = String::from_utf8_lossy(body);
                let text = text.trim();
                (!text.is_empty() && !text.starts_with('{'))
                    .then(|| text.chars().take(512).collect())
            });
        Self {
            status,
            code,
            message,
            detail,
            raw_body: body.to_vec(),
        }
    }
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the service answered {}", self.status)?;
        if let Some(code) = &self.code {
            write!(f, " ({code})")?;
        }
        if let Some(message) = &self.message {
            write!(f, ": {message}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ServiceError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_error_shape() {
        let problem = br#"{"code":"Error.BadRequest","message":"Invalid syntax","target":"filter","errors":{"filter":["x"]},"type":null,"title":"One or more validation errors occurred.","status":400}"#;
        let err = ServiceError::from_response(400, Some("Error.BadRequest"), problem);
        assert_eq!(err.message.as_deref(), Some("Invalid syntax"));
        assert_eq!(err.detail.unwrap().target.as_deref(), Some("filter"));

        let titled = ServiceError::from_response(400, None, br#"{"title":"Bad","status":400}"#);
        assert_eq!(titled.message.as_deref(), Some("Bad"));
        assert_eq!(titled.code, None);

        let nested = br#"{"error":{"code":"A","message":"m","details":[{"code":"B"}],"innererror":{"code":"C","innererror":{"code":"D"}}}}"#;
        let err = ServiceError::from_response(500, None, nested);
        let detail = err.detail.clone().unwrap();
        assert_eq!(detail.details.unwrap()[0].code.as_deref(), Some("B"));
        assert_eq!(
            detail.inner.unwrap().inner.unwrap().code.as_deref(),
            Some("D")
        );
        assert_eq!(err.to_string(), "the service answered 500 (A): m");

        let head = ServiceError::from_response(401, Some("Error.Unauthorized"), b"");
        assert_eq!(
            head.to_string(),
            "the service answered 401 (Error.Unauthorized)"
        );
        let text = ServiceError::from_response(502, None, b"Bad Gateway");
        assert_eq!(text.message.as_deref(), Some("Bad Gateway"));
        let junk = ServiceError::from_response(500, None, b"{not json");
        assert_eq!(junk.message, None);
        assert_eq!(junk.raw_body, b"{not json");
    }

    #[test]
    fn token_response_debug_is_redacted() {
        let r: ClientTokenResponse =
            serde_json::from_str(r#"{"token":"secret.jwt.here"}"#).unwrap();
        assert_eq!(r.token, "secret.jwt.here");
        assert!(!format!("{r:?}").contains("secret"));
    }
}
