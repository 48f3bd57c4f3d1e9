//! The way back: an incoming request routed by the operation table to its operation and parsed
//! into the same typed request the client renders (what the emulator serves).

use bytes::Bytes;
use thiserror::Error;

use super::operations::*;
use super::{Method, Operation, OperationId, OPERATIONS};
use crate::client_protocol::ClientProtocol;
use crate::encoding::{parse_query, percent_decode};
use crate::filter::Filter;
use crate::payload::{ContentType, Payload};
use crate::validate::{self, ValidationError, ValidationRule, MAX_MESSAGE_BYTES};

/// The path parameters of a routed request, percent-decoded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PathParams {
    /// `{hub}`.
    pub hub: Option<String>,
    /// `{group}`.
    pub group: Option<String>,
    /// `{userId}`.
    pub user_id: Option<String>,
    /// `{connectionId}`.
    pub connection_id: Option<String>,
    /// `{permission}`.
    pub permission: Option<String>,
}

impl PathParams {
    fn slot(&mut self, name: &str) -> Option<&mut Option<String>> {
        Some(match name {
            "hub" => &mut self.hub,
            "group" => &mut self.group,
            "userId" => &mut self.user_id,
            "connectionId" => &mut self.connection_id,
            "permission" => &mut self.permission,
            _ => return None,
        })
    }

    fn take(slot: &mut Option<String>) -> String {
        slot.take().unwrap_or_default()
    }
}

/// Why an incoming request is not a valid operation call.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum RouteError {
    /// No operation has this path (404).
    #[error("no operation at this path")]
    NotFound,
    /// An operation has this path, but not with this method (405).
    #[error("the path does not take this method")]
    MethodNotAllowed,
    /// A path segment is not valid percent-encoded UTF-8 (400).
    #[error("the path is not valid percent-encoded UTF-8")]
    BadPath,
    /// A parameter breaks a rule (400).
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// A query parameter or the body is malformed (400).
    #[error("{0}")]
    Malformed(String),
    /// The body's `Content-Type` is not one the operation takes (415).
    #[error("Content-Type must be application/json, text/plain or application/octet-stream")]
    UnsupportedMediaType,
    /// The body is larger than 1 MiB (413).
    #[error("the message is larger than 1 MiB")]
    PayloadTooLarge,
}

impl RouteError {
    /// The status the service answers with.
    pub fn status(&self) -> http::StatusCode {
        use http::StatusCode;
        match self {
            RouteError::NotFound => StatusCode::NOT_FOUND,
            RouteError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            RouteError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            RouteError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            RouteError::BadPath | RouteError::Invalid(_) | RouteError::Malformed(_) => {
                StatusCode::BAD_REQUEST
            }
        }
    }
}

/// Finds the operation for `method` and `path` (percent-encoded, without the query) in the
/// operation table. Literal segments compare ASCII case-insensitively; `GET /api/health` is
/// served as its `HEAD`.
///
/// ```
/// use webpubsub_protocol::rest::{route, Method, OperationId};
///
/// let (id, params) = route(&Method::POST, "/api/hubs/chat/groups/a%2Fb/:send")?;
/// assert_eq!(id, OperationId::SendToGroup);
/// assert_eq!(params.group.as_deref(), Some("a/b"));
/// # Ok::<(), webpubsub_protocol::rest::RouteError>(())
/// ```
///
/// # Errors
/// [`RouteError::NotFound`], [`RouteError::MethodNotAllowed`] or [`RouteError::BadPath`].
pub fn route(method: &Method, path: &str) -> Result<(OperationId, PathParams), RouteError> {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let mut path_matched = false;
    for spec in OPERATIONS {
        let template: Vec<&str> = spec.path.trim_start_matches('/').split('/').collect();
        if template.len() != segments.len() {
            continue;
        }
        let mut params = PathParams::default();
        let mut matched = true;
        for (pattern, segment) in template.iter().zip(&segments) {
            match pattern.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                Some(name) => {
                    if segment.is_empty() {
                        matched = false;
                        break;
                    }
                    let value = percent_decode(segment, false).ok_or(RouteError::BadPath)?;
                    if let Some(slot) = params.slot(name) {
                        *slot = Some(value);
                    }
                }
                None if pattern.eq_ignore_ascii_case(segment) => {}
                None => {
                    matched = false;
                    break;
                }
            }
        }
        if !matched {
            continue;
        }
        path_matched = true;
        let health_get = spec.id == OperationId::GetServiceStatus && method == Method::GET;
        if spec.method == method || health_get {
            return Ok((spec.id, params));
        }
    }
    Err(if path_matched {
        RouteError::MethodNotAllowed
    } else {
        RouteError::NotFound
    })
}

/// An incoming REST request, as a server sees it.
#[derive(Debug, Clone)]
pub struct IncomingRequest<'a> {
    /// The method.
    pub method: &'a Method,
    /// The path, percent-encoded.
    pub path: &'a str,
    /// The query, without `?`.
    pub query: Option<&'a str>,
    /// The `Content-Type` header.
    pub content_type: Option<&'a str>,
    /// The body.
    pub body: Bytes,
}

macro_rules! rest_requests {
    ($($variant:ident),* $(,)?) => {
        /// Any operation, parsed from an incoming request ([`RestRequest::parse`]).
        #[derive(Debug, Clone, PartialEq, Eq)]
        #[allow(missing_docs)]
        pub enum RestRequest {
            $($variant($variant),)*
        }

        impl RestRequest {
            /// Which operation this is.
            pub fn operation(&self) -> OperationId {
                match self {
                    $(RestRequest::$variant(_) => OperationId::$variant,)*
                }
            }

            /// [`Operation::validate`] of the request inside.
            ///
            /// # Errors
            /// A [`ValidationError`] naming the field and rule.
            pub fn validate(&self) -> Result<(), ValidationError> {
                match self {
                    $(RestRequest::$variant(request) => request.validate(),)*
                }
            }
        }
    };
}

rest_requests!(
    GetServiceStatus,
    AddConnectionsToGroups,
    CloseAllConnections,
    GenerateClientToken,
    RemoveConnectionsFromGroups,
    SendToAll,
    CloseConnection,
    ConnectionExists,
    SendToConnection,
    RemoveConnectionFromAllGroups,
    GroupExists,
    CloseGroupConnections,
    SendToGroup,
    ListConnectionsInGroup,
    RemoveConnectionFromGroup,
    AddConnectionToGroup,
    RevokePermission,
    CheckPermission,
    GrantPermission,
    UserExists,
    CloseUserConnections,
    SendToUser,
    RemoveUserFromAllGroups,
    RemoveUserFromGroup,
    AddUserToGroup,
);

/// The decoded query of an incoming request (keys compare case-insensitively).
struct Query(Vec<(String, String)>);

impl Query {
    fn one(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }

    fn owned(&self, key: &str) -> Option<String> {
        self.one(key).map(str::to_owned)
    }

    fn all(&self, key: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.clone())
            .collect()
    }

    fn number(&self, key: &str) -> Result<Option<u32>, RouteError> {
        match self.one(key) {
            None => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|_| RouteError::Malformed(format!("`{key}` must be a whole number"))),
        }
    }

    fn filter(&self) -> Result<Option<Filter>, RouteError> {
        parse_filter(self.one("filter"))
    }
}

fn parse_filter(text: Option<&str>) -> Result<Option<Filter>, RouteError> {
    match text {
        None => Ok(None),
        Some(text) => Filter::parse(text)
            .map(Some)
            .map_err(|e| RouteError::Malformed(format!("Invalid syntax for '{text}': {e}"))),
    }
}

/// A parsed request, with the hub and api-version it named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedRequest {
    /// The hub (`None` for the health check).
    pub hub: Option<String>,
    /// The `api-version` query value, when given.
    pub api_version: Option<String>,
    /// The typed request.
    pub request: RestRequest,
}

impl RestRequest {
    /// Routes and parses an incoming request into its typed form, checked with the same rules the
    /// client renders with: the inverse of [`super::Operation::render`].
    ///
    /// ```
    /// use webpubsub_protocol::rest::{IncomingRequest, Method, RestRequest};
    ///
    /// let parsed = RestRequest::parse(IncomingRequest {
    ///     method: &Method::POST,
    ///     path: "/api/hubs/chat/:send",
    ///     query: Some("excluded=c1&api-version=2024-12-01"),
    ///     content_type: Some("text/plain"),
    ///     body: "hi".into(),
    /// })?;
    /// assert_eq!(parsed.hub.as_deref(), Some("chat"));
    /// let RestRequest::SendToAll(send) = parsed.request else { unreachable!() };
    /// assert_eq!(send.excluded, ["c1"]);
    /// assert_eq!(send.message.as_text(), Some("hi"));
    /// # Ok::<(), webpubsub_protocol::rest::RouteError>(())
    /// ```
    ///
    /// # Errors
    /// A [`RouteError`] whose [`RouteError::status`] is the service's answer.
    pub fn parse(incoming: IncomingRequest<'_>) -> Result<ParsedRequest, RouteError> {
        let (id, mut params) = route(incoming.method, incoming.path)?;
        if let Some(hub) = &params.hub {
            validate::hub(hub)?;
        }
        let query = Query(parse_query(incoming.query.unwrap_or("")));
        let hub = params.hub.take();
        let group = PathParams::take(&mut params.group);
        let user_id = PathParams::take(&mut params.user_id);
        let connection_id = PathParams::take(&mut params.connection_id);
        let permission = params.permission.take();
        let excluded = query.all("excluded");
        let reason = query.owned("reason");
        let ttl = query.number("messageTtlSeconds")?;
        let message = || body_payload(&incoming);
        let permission = || -> Result<_, RouteError> {
            Ok((
                Permission::parse(permission.as_deref().unwrap_or_default())?,
                query.owned("targetName"),
            ))
        };
        let request = match id {
            OperationId::GetServiceStatus => RestRequest::GetServiceStatus(GetServiceStatus),
            OperationId::SendToAll => RestRequest::SendToAll(SendToAll {
                message: message()?,
                excluded,
                filter: query.filter()?,
                message_ttl_seconds: ttl,
            }),
            OperationId::SendToUser => RestRequest::SendToUser(SendToUser {
                user_id,
                message: message()?,
                filter: query.filter()?,
                message_ttl_seconds: ttl,
            }),
            OperationId::SendToGroup => RestRequest::SendToGroup(SendToGroup {
                group,
                message: message()?,
                excluded,
                filter: query.filter()?,
                message_ttl_seconds: ttl,
            }),
            OperationId::SendToConnection => RestRequest::SendToConnection(SendToConnection {
                connection_id,
                message: message()?,
                message_ttl_seconds: ttl,
            }),
            OperationId::CloseAllConnections => {
                RestRequest::CloseAllConnections(CloseAllConnections { excluded, reason })
            }
            OperationId::CloseGroupConnections => {
                RestRequest::CloseGroupConnections(CloseGroupConnections {
                    group,
                    excluded,
                    reason,
                })
            }
            OperationId::CloseUserConnections => {
                RestRequest::CloseUserConnections(CloseUserConnections {
                    user_id,
                    excluded,
                    reason,
                })
            }
            OperationId::CloseConnection => RestRequest::CloseConnection(CloseConnection {
                connection_id,
                reason,
            }),
            OperationId::ConnectionExists => {
                RestRequest::ConnectionExists(ConnectionExists { connection_id })
            }
            OperationId::GroupExists => RestRequest::GroupExists(GroupExists { group }),
            OperationId::UserExists => RestRequest::UserExists(UserExists { user_id }),
            OperationId::AddConnectionToGroup => {
                RestRequest::AddConnectionToGroup(AddConnectionToGroup {
                    group,
                    connection_id,
                })
            }
            OperationId::RemoveConnectionFromGroup => {
                RestRequest::RemoveConnectionFromGroup(RemoveConnectionFromGroup {
                    group,
                    connection_id,
                })
            }
            OperationId::RemoveConnectionFromAllGroups => {
                RestRequest::RemoveConnectionFromAllGroups(RemoveConnectionFromAllGroups {
                    connection_id,
                })
            }
            OperationId::AddUserToGroup => {
                RestRequest::AddUserToGroup(AddUserToGroup { user_id, group })
            }
            OperationId::RemoveUserFromGroup => {
                RestRequest::RemoveUserFromGroup(RemoveUserFromGroup { user_id, group })
            }
            OperationId::RemoveUserFromAllGroups => {
                RestRequest::RemoveUserFromAllGroups(RemoveUserFromAllGroups { user_id })
            }
            OperationId::AddConnectionsToGroups => RestRequest::AddConnectionsToGroups(
                AddConnectionsToGroups(groups_body(&incoming.body)?),
            ),
            OperationId::RemoveConnectionsFromGroups => RestRequest::RemoveConnectionsFromGroups(
                RemoveConnectionsFromGroups(groups_body(&incoming.body)?),
            ),
            OperationId::GrantPermission => {
                let (permission, target_name) = permission()?;
                RestRequest::GrantPermission(GrantPermission {
                    permission,
                    connection_id,
                    target_name,
                })
            }
            OperationId::RevokePermission => {
                let (permission, target_name) = permission()?;
                RestRequest::RevokePermission(RevokePermission {
                    permission,
                    connection_id,
                    target_name,
                })
            }
            OperationId::CheckPermission => {
                let (permission, target_name) = permission()?;
                RestRequest::CheckPermission(CheckPermission {
                    permission,
                    connection_id,
                    target_name,
                })
            }
            OperationId::ListConnectionsInGroup => {
                RestRequest::ListConnectionsInGroup(ListConnectionsInGroup {
                    group,
                    max_page_size: query.number("maxpagesize")?,
                    top: query.number("top")?,
                    continuation_token: query.owned("continuationToken"),
                })
            }
            OperationId::GenerateClientToken => {
                // Lenient on the way in: the Python SDK sends `SocketIO` too.
                let client_type = match query.one("clientType") {
                    None => ClientProtocol::Default,
                    Some(name) => name.parse().map_err(|_| {
                        ValidationError::new(
                            "clientType",
                            ValidationRule::OneOf(&["Default", "MQTT", "SocketIO"]),
                        )
                    })?,
                };
                RestRequest::GenerateClientToken(GenerateClientToken {
                    user_id: query.owned("userId").filter(|u| !u.is_empty()),
                    roles: query.all("role"),
                    minutes_to_expire: query.number("minutesToExpire")?.unwrap_or(60),
                    groups: query.all("group"),
                    client_type,
                })
            }
        };
        // The same rules the client renders with, from the one place they are written.
        request.validate()?;
        Ok(ParsedRequest {
            hub,
            api_version: query.owned("api-version"),
            request,
        })
    }
}

/// The body of a send: its `Content-Type` decides the payload.
fn body_payload(incoming: &IncomingRequest<'_>) -> Result<Payload, RouteError> {
    let content_type = incoming
        .content_type
        .filter(|c| ContentType::from_header(c).is_some())
        .ok_or(RouteError::UnsupportedMediaType)?;
    if incoming.body.len() > MAX_MESSAGE_BYTES {
        return Err(RouteError::PayloadTooLarge);
    }
    Payload::from_content_type(content_type, incoming.body.clone())
        .map_err(|e| RouteError::Malformed(format!("the body does not match its type: {e}")))
}

fn groups_body(body: &[u8]) -> Result<GroupsFilterBody, RouteError> {
    serde_json::from_slice(body).map_err(|e| RouteError::Malformed(format!("invalid body: {e}")))
}
