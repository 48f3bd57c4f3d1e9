//! The data-plane REST API, api-version `2024-12-01`: one typed request per operation, rendered to
//! method, URL, content type and body, and the typed responses.

mod message;
mod operations;
mod response;

use std::fmt;

pub use message::{ContentType, Message};
pub use operations::*;
pub use response::{
    exists_from_status, ClientTokenResponse, ErrorDetail, GroupMember, GroupMemberPage, InnerError,
    ServiceError,
};

use crate::encoding::percent_encode_into;
use crate::validate::{validate_hub, ValidationError};

/// The api-version this crate models.
pub const API_VERSION: &str = "2024-12-01";

/// An HTTP method (this crate has no `http` dependency).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// GET
    Get,
    /// HEAD
    Head,
    /// POST
    Post,
    /// PUT
    Put,
    /// DELETE
    Delete,
}

impl Method {
    /// The method name.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
        }
    }

    /// Whether repeating the request has the same effect as sending it once (GET, HEAD, PUT, DELETE).
    pub fn is_idempotent(self) -> bool {
        !matches!(self, Method::Post)
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a request goes: the service endpoint (e.g. `https://contoso.webpubsub.azure.com`, no
/// trailing slash), the hub and the api-version.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// The endpoint URL without a trailing slash.
    pub endpoint: &'a str,
    /// The hub (validated when rendering).
    pub hub: &'a str,
    /// The api-version query value.
    pub api_version: &'a str,
}

impl<'a> Target<'a> {
    /// A target with the default [`API_VERSION`].
    pub fn new(endpoint: &'a str, hub: &'a str) -> Self {
        Self {
            endpoint: endpoint.trim_end_matches('/'),
            hub,
            api_version: API_VERSION,
        }
    }
}

/// A rendered request: everything but authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequestParts {
    /// Which operation this is.
    pub operation: OperationId,
    /// The method.
    pub method: Method,
    /// The full URL: endpoint, path (each parameter segment percent-encoded) and query
    /// (repeated keys for arrays, `api-version` last).
    pub url: String,
    /// The `Content-Type`, when there is a body.
    pub content_type: Option<&'static str>,
    /// The body (empty when none).
    pub body: bytes::Bytes,
    /// Where the path starts in `url` (the endpoint's length).
    path_start: usize,
}

impl HttpRequestParts {
    /// A body-less request for `url`, whose path starts at byte `path_start` (after the endpoint).
    pub fn new(operation: OperationId, method: Method, url: String, path_start: usize) -> Self {
        Self {
            operation,
            method,
            path_start: path_start.min(url.len()),
            url,
            content_type: None,
            body: bytes::Bytes::new(),
        }
    }

    /// The path, percent-encoded, e.g. `/api/hubs/chat/groups/a%2Fb/:send`.
    pub fn path(&self) -> &str {
        let rest = &self.url[self.path_start..];
        rest.split_once('?').map_or(rest, |(path, _)| path)
    }

    /// The query pairs, decoded, in order.
    pub fn query(&self) -> Vec<(String, String)> {
        self.url
            .split_once('?')
            .map(|(_, q)| crate::parse_query(q))
            .unwrap_or_default()
    }
}

/// A query parameter's value, written straight into the URL (no intermediate string).
pub(crate) trait QueryValue {
    fn write_to(&self, url: &mut String);
}

impl QueryValue for &str {
    /// Text is percent-encoded.
    fn write_to(&self, url: &mut String) {
        percent_encode_into(url, self);
    }
}

impl QueryValue for u32 {
    /// Digits need no encoding.
    fn write_to(&self, url: &mut String) {
        // Writing to a String cannot fail.
        let _ = fmt::Write::write_fmt(url, format_args!("{self}"));
    }
}

/// Builds [`HttpRequestParts`] straight into its URL; each operation is a few calls on this.
#[derive(Debug)]
pub(crate) struct RequestBuilder<'t> {
    target: Target<'t>,
    parts: HttpRequestParts,
    has_query: bool,
}

impl<'t> RequestBuilder<'t> {
    /// A request under `/api/hubs/{hub}`.
    pub(crate) fn hub(
        operation: OperationId,
        method: Method,
        target: Target<'t>,
    ) -> Result<Self, ValidationError> {
        validate_hub(target.hub)?;
        Ok(Self::root(operation, method, target, "/api/hubs").param(target.hub))
    }

    /// A request at an absolute service path.
    pub(crate) fn root(
        operation: OperationId,
        method: Method,
        target: Target<'t>,
        path: &str,
    ) -> Self {
        let mut url = String::with_capacity(target.endpoint.len() + 96);
        url.push_str(target.endpoint);
        url.push_str(path);
        Self {
            parts: HttpRequestParts::new(operation, method, url, target.endpoint.len()),
            target,
            has_query: false,
        }
    }

    /// A literal segment such as `groups` or `:send` (not encoded).
    pub(crate) fn literal(mut self, segment: &str) -> Self {
        debug_assert!(!self.has_query, "path segments come before the query");
        self.parts.url.push('/');
        self.parts.url.push_str(segment);
        self
    }

    /// A parameter segment, percent-encoded.
    pub(crate) fn param(mut self, value: &str) -> Self {
        debug_assert!(!self.has_query, "path segments come before the query");
        self.parts.url.push('/');
        percent_encode_into(&mut self.parts.url, value);
        self
    }

    pub(crate) fn query(mut self, key: &str, value: impl QueryValue) -> Self {
        self.parts.url.push(if self.has_query { '&' } else { '?' });
        self.has_query = true;
        // Keys are this crate's literals (`api-version`, `excluded`, ...): nothing to escape.
        self.parts.url.push_str(key);
        self.parts.url.push('=');
        value.write_to(&mut self.parts.url);
        self
    }

    pub(crate) fn query_opt(self, key: &str, value: Option<impl QueryValue>) -> Self {
        match value {
            Some(value) => self.query(key, value),
            None => self,
        }
    }

    pub(crate) fn query_all<S: AsRef<str>>(mut self, key: &str, values: &[S]) -> Self {
        for value in values {
            self = self.query(key, value.as_ref());
        }
        self
    }

    pub(crate) fn body(mut self, content_type: &'static str, body: bytes::Bytes) -> Self {
        self.parts.content_type = Some(content_type);
        self.parts.body = body;
        self
    }

    pub(crate) fn finish(self) -> HttpRequestParts {
        let api_version = self.target.api_version;
        self.query("api-version", api_version).parts
    }
}

/// A typed REST request.
pub trait Operation {
    /// Which operation this is.
    const ID: OperationId;

    /// Validates the request and renders it for `target`.
    ///
    /// # Errors
    /// A [`ValidationError`] naming the field and rule, before anything is sent.
    fn render(&self, target: Target<'_>) -> Result<HttpRequestParts, ValidationError>;
}

macro_rules! operation_ids {
    ($($variant:ident => $id:literal, $method:ident, $path:literal;)*) => {
        /// Every operation of api-version 2024-12-01, by its spec `operationId`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum OperationId {
            $(
                #[doc = concat!("`", $id, "`: `", stringify!($method), " ", $path, "`")]
                $variant,
            )*
        }

        impl OperationId {
            /// All 25 operations.
            pub const ALL: &'static [OperationId] = &[$(OperationId::$variant),*];

            /// The spec's `operationId`.
            pub fn as_str(self) -> &'static str {
                match self { $(OperationId::$variant => $id),* }
            }

            /// The method.
            pub fn method(self) -> Method {
                match self { $(OperationId::$variant => Method::$method),* }
            }

            /// The spec's path template.
            pub fn path_template(self) -> &'static str {
                match self { $(OperationId::$variant => $path),* }
            }
        }
    };
}

operation_ids! {
    GetServiceStatus => "HealthApi_GetServiceStatus", Head, "/api/health";
    AddConnectionsToGroups => "WebPubSub_AddConnectionsToGroups", Post, "/api/hubs/{hub}/:addToGroups";
    CloseAllConnections => "WebPubSub_CloseAllConnections", Post, "/api/hubs/{hub}/:closeConnections";
    GenerateClientToken => "WebPubSub_GenerateClientToken", Post, "/api/hubs/{hub}/:generateToken";
    RemoveConnectionsFromGroups => "WebPubSub_RemoveConnectionsFromGroups", Post, "/api/hubs/{hub}/:removeFromGroups";
    SendToAll => "WebPubSub_SendToAll", Post, "/api/hubs/{hub}/:send";
    CloseConnection => "WebPubSub_CloseConnection", Delete, "/api/hubs/{hub}/connections/{connectionId}";
    ConnectionExists => "WebPubSub_ConnectionExists", Head, "/api/hubs/{hub}/connections/{connectionId}";
    SendToConnection => "WebPubSub_SendToConnection", Post, "/api/hubs/{hub}/connections/{connectionId}/:send";
    RemoveConnectionFromAllGroups => "WebPubSub_RemoveConnectionFromAllGroups", Delete, "/api/hubs/{hub}/connections/{connectionId}/groups";
    GroupExists => "WebPubSub_GroupExists", Head, "/api/hubs/{hub}/groups/{group}";
    CloseGroupConnections => "WebPubSub_CloseGroupConnections", Post, "/api/hubs/{hub}/groups/{group}/:closeConnections";
    SendToGroup => "WebPubSub_SendToGroup", Post, "/api/hubs/{hub}/groups/{group}/:send";
    ListConnectionsInGroup => "WebPubSub_ListConnectionsInGroup", Get, "/api/hubs/{hub}/groups/{group}/connections";
    RemoveConnectionFromGroup => "WebPubSub_RemoveConnectionFromGroup", Delete, "/api/hubs/{hub}/groups/{group}/connections/{connectionId}";
    AddConnectionToGroup => "WebPubSub_AddConnectionToGroup", Put, "/api/hubs/{hub}/groups/{group}/connections/{connectionId}";
    RevokePermission => "WebPubSub_RevokePermission", Delete, "/api/hubs/{hub}/permissions/{permission}/connections/{connectionId}";
    CheckPermission => "WebPubSub_CheckPermission", Head, "/api/hubs/{hub}/permissions/{permission}/connections/{connectionId}";
    GrantPermission => "WebPubSub_GrantPermission", Put, "/api/hubs/{hub}/permissions/{permission}/connections/{connectionId}";
    UserExists => "WebPubSub_UserExists", Head, "/api/hubs/{hub}/users/{userId}";
    CloseUserConnections => "WebPubSub_CloseUserConnections", Post, "/api/hubs/{hub}/users/{userId}/:closeConnections";
    SendToUser => "WebPubSub_SendToUser", Post, "/api/hubs/{hub}/users/{userId}/:send";
    RemoveUserFromAllGroups => "WebPubSub_RemoveUserFromAllGroups", Delete, "/api/hubs/{hub}/users/{userId}/groups";
    RemoveUserFromGroup => "WebPubSub_RemoveUserFromGroup", Delete, "/api/hubs/{hub}/users/{userId}/groups/{group}";
    AddUserToGroup => "WebPubSub_AddUserToGroup", Put, "/api/hubs/{hub}/users/{userId}/groups/{group}";
}

impl OperationId {
    /// The success status the spec declares (202 sends, 204 closes and removes, 200 otherwise).
    pub fn success_status(self) -> u16 {
        use OperationId::*;
        match self {
            SendToAll | SendToConnection | SendToGroup | SendToUser => 202,
            CloseAllConnections
            | CloseConnection
            | CloseGroupConnections
            | CloseUserConnections
            | RemoveConnectionFromAllGroups
            | RemoveConnectionFromGroup
            | RevokePermission
            | RemoveUserFromAllGroups
            | RemoveUserFromGroup => 204,
            _ => 200,
        }
    }
}

impl fmt::Display for OperationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
