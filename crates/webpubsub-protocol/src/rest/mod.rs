//! The data-plane REST API, api-version `2024-12-01`: the operation table (method, path template,
//! success status), one typed request per operation rendered to method, path and query, content
//! type and body, the way back (routing an incoming request to its operation and typed
//! parameters), and the typed responses.
//!
//! A request is rendered without its origin: [`HttpRequestParts::path_and_query`] starts at the
//! service root (`/api/...`), and the caller joins it to the endpoint (the token audience) or to a
//! reverse proxy (where the request goes). Nothing is ever cut out of a full URL.

mod operations;
mod parse;
mod response;

use std::fmt;

pub use http::{Method, StatusCode};
pub use operations::*;
pub use parse::{route, IncomingRequest, ParsedRequest, PathParams, RestRequest, RouteError};
pub use response::{
    exists_from_status, ClientTokenResponse, ErrorDetail, GroupMember, GroupMemberPage, InnerError,
    ServiceError,
};

use crate::encoding::percent_encode_into;
use crate::validate::{self, ValidationError};

/// The api-version this crate models.
pub const API_VERSION: &str = "2024-12-01";

/// Where a request goes: the hub and the api-version. The origin (endpoint or proxy) is joined by
/// the caller.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// The hub (validated when rendering).
    pub hub: &'a str,
    /// The api-version query value.
    pub api_version: &'a str,
}

impl<'a> Target<'a> {
    /// A target with the default [`API_VERSION`].
    pub fn new(hub: &'a str) -> Self {
        Self {
            hub,
            api_version: API_VERSION,
        }
    }
}

/// A rendered request: everything but the origin and authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequestParts {
    /// Which operation this is.
    pub operation: OperationId,
    /// The method.
    pub method: Method,
    /// The path from the service root (each parameter segment percent-encoded) and the query
    /// (repeated keys for arrays, `api-version` last), e.g.
    /// `/api/hubs/chat/groups/a%2Fb/:send?api-version=2024-12-01`.
    pub path_and_query: String,
    /// The `Content-Type`, when there is a body.
    pub content_type: Option<&'static str>,
    /// The body (empty when none).
    pub body: bytes::Bytes,
}

impl HttpRequestParts {
    /// The path, percent-encoded, e.g. `/api/hubs/chat/groups/a%2Fb/:send`.
    pub fn path(&self) -> &str {
        let all = self.path_and_query.as_str();
        all.split_once('?').map_or(all, |(path, _)| path)
    }

    /// The raw query, without `?`.
    pub fn query(&self) -> Option<&str> {
        self.path_and_query.split_once('?').map(|(_, q)| q)
    }

    /// The query pairs, decoded, in order.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        self.query()
            .map(crate::encoding::parse_query)
            .unwrap_or_default()
    }

    /// The full URL at `origin` (an endpoint or proxy URL without a trailing slash, path prefix
    /// included): `origin` followed by [`HttpRequestParts::path_and_query`].
    pub fn url(&self, origin: &str) -> String {
        let origin = origin.trim_end_matches('/');
        let mut url = String::with_capacity(origin.len() + self.path_and_query.len());
        url.push_str(origin);
        url.push_str(&self.path_and_query);
        url
    }
}

/// A query parameter's value, written straight into the URL (no intermediate string).
pub(crate) trait QueryValue {
    fn write_to(&self, out: &mut String);
}

impl QueryValue for &str {
    /// Text is percent-encoded.
    fn write_to(&self, out: &mut String) {
        percent_encode_into(out, self);
    }
}

impl QueryValue for u32 {
    /// Digits need no encoding.
    fn write_to(&self, out: &mut String) {
        fmt::Write::write_fmt(out, format_args!("{self}"))
            .expect("writing to a String cannot fail");
    }
}

/// Builds [`HttpRequestParts`] straight into its path; each operation is a few calls on this.
#[derive(Debug)]
pub(crate) struct RequestBuilder<'t> {
    target: Target<'t>,
    parts: HttpRequestParts,
    has_query: bool,
}

impl<'t> RequestBuilder<'t> {
    /// A request under `/api/hubs/{hub}`.
    pub(crate) fn hub(operation: OperationId, target: Target<'t>) -> Result<Self, ValidationError> {
        validate::hub(target.hub)?;
        Ok(Self::root(operation, target, "/api/hubs").param(target.hub))
    }

    /// A request at an absolute service path; the method is the operation's.
    pub(crate) fn root(operation: OperationId, target: Target<'t>, path: &str) -> Self {
        let mut path_and_query = String::with_capacity(96);
        path_and_query.push_str(path);
        Self {
            parts: HttpRequestParts {
                operation,
                method: operation.method(),
                path_and_query,
                content_type: None,
                body: bytes::Bytes::new(),
            },
            target,
            has_query: false,
        }
    }

    /// A literal segment such as `groups` or `:send` (not encoded).
    pub(crate) fn literal(mut self, segment: &str) -> Self {
        debug_assert!(!self.has_query, "path segments come before the query");
        self.parts.path_and_query.push('/');
        self.parts.path_and_query.push_str(segment);
        self
    }

    /// A parameter segment, percent-encoded.
    pub(crate) fn param(mut self, value: &str) -> Self {
        debug_assert!(!self.has_query, "path segments come before the query");
        self.parts.path_and_query.push('/');
        percent_encode_into(&mut self.parts.path_and_query, value);
        self
    }

    pub(crate) fn query(mut self, key: &str, value: impl QueryValue) -> Self {
        self.parts
            .path_and_query
            .push(if self.has_query { '&' } else { '?' });
        self.has_query = true;
        // Keys are this crate's literals (`api-version`, `excluded`, ...): nothing to escape.
        self.parts.path_and_query.push_str(key);
        self.parts.path_and_query.push('=');
        value.write_to(&mut self.parts.path_and_query);
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

    /// Checks the request against the service's rules: what [`Operation::render`] checks before
    /// anything is sent, and what a server checks after parsing one
    /// ([`RestRequest::parse`]).
    ///
    /// # Errors
    /// A [`ValidationError`] naming the field and rule.
    fn validate(&self) -> Result<(), ValidationError>;

    /// Validates the request and renders it for `target`.
    ///
    /// # Errors
    /// A [`ValidationError`] naming the field and rule, before anything is sent.
    fn render(&self, target: Target<'_>) -> Result<HttpRequestParts, ValidationError>;
}

/// One row of the operation table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperationSpec {
    /// The operation.
    pub id: OperationId,
    /// The spec's `operationId`, e.g. `WebPubSub_SendToAll`.
    pub name: &'static str,
    /// The method.
    pub method: Method,
    /// The spec's path template, e.g. `/api/hubs/{hub}/groups/{group}/:send`.
    pub path: &'static str,
    /// The success status the spec declares (202 sends, 204 closes and removes, 200 otherwise).
    pub success: StatusCode,
}

macro_rules! operation_table {
    ($($variant:ident => $id:literal, $method:ident, $path:literal, $status:ident;)*) => {
        /// Every operation of api-version 2024-12-01, by its spec `operationId`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum OperationId {
            $(
                #[doc = concat!("`", $id, "`: `", stringify!($method), " ", $path, "` -> ", stringify!($status))]
                $variant,
            )*
        }

        /// The operation table: the one place the REST surface is written down. Rendering,
        /// routing, the success check and the spec test read it.
        pub const OPERATIONS: &[OperationSpec] = &[$(
            OperationSpec {
                id: OperationId::$variant,
                name: $id,
                method: Method::$method,
                path: $path,
                success: StatusCode::$status,
            },
        )*];
    };
}

operation_table! {
    GetServiceStatus => "HealthApi_GetServiceStatus", HEAD, "/api/health", OK;
    AddConnectionsToGroups => "WebPubSub_AddConnectionsToGroups", POST, "/api/hubs/{hub}/:addToGroups", OK;
    CloseAllConnections => "WebPubSub_CloseAllConnections", POST, "/api/hubs/{hub}/:closeConnections", NO_CONTENT;
    GenerateClientToken => "WebPubSub_GenerateClientToken", POST, "/api/hubs/{hub}/:generateToken", OK;
    RemoveConnectionsFromGroups => "WebPubSub_RemoveConnectionsFromGroups", POST, "/api/hubs/{hub}/:removeFromGroups", OK;
    SendToAll => "WebPubSub_SendToAll", POST, "/api/hubs/{hub}/:send", ACCEPTED;
    CloseConnection => "WebPubSub_CloseConnection", DELETE, "/api/hubs/{hub}/connections/{connectionId}", NO_CONTENT;
    ConnectionExists => "WebPubSub_ConnectionExists", HEAD, "/api/hubs/{hub}/connections/{connectionId}", OK;
    SendToConnection => "WebPubSub_SendToConnection", POST, "/api/hubs/{hub}/connections/{connectionId}/:send", ACCEPTED;
    RemoveConnectionFromAllGroups => "WebPubSub_RemoveConnectionFromAllGroups", DELETE, "/api/hubs/{hub}/connections/{connectionId}/groups", NO_CONTENT;
    GroupExists => "WebPubSub_GroupExists", HEAD, "/api/hubs/{hub}/groups/{group}", OK;
    CloseGroupConnections => "WebPubSub_CloseGroupConnections", POST, "/api/hubs/{hub}/groups/{group}/:closeConnections", NO_CONTENT;
    SendToGroup => "WebPubSub_SendToGroup", POST, "/api/hubs/{hub}/groups/{group}/:send", ACCEPTED;
    ListConnectionsInGroup => "WebPubSub_ListConnectionsInGroup", GET, "/api/hubs/{hub}/groups/{group}/connections", OK;
    RemoveConnectionFromGroup => "WebPubSub_RemoveConnectionFromGroup", DELETE, "/api/hubs/{hub}/groups/{group}/connections/{connectionId}", NO_CONTENT;
    AddConnectionToGroup => "WebPubSub_AddConnectionToGroup", PUT, "/api/hubs/{hub}/groups/{group}/connections/{connectionId}", OK;
    RevokePermission => "WebPubSub_RevokePermission", DELETE, "/api/hubs/{hub}/permissions/{permission}/connections/{connectionId}", NO_CONTENT;
    CheckPermission => "WebPubSub_CheckPermission", HEAD, "/api/hubs/{hub}/permissions/{permission}/connections/{connectionId}", OK;
    GrantPermission => "WebPubSub_GrantPermission", PUT, "/api/hubs/{hub}/permissions/{permission}/connections/{connectionId}", OK;
    UserExists => "WebPubSub_UserExists", HEAD, "/api/hubs/{hub}/users/{userId}", OK;
    CloseUserConnections => "WebPubSub_CloseUserConnections", POST, "/api/hubs/{hub}/users/{userId}/:closeConnections", NO_CONTENT;
    SendToUser => "WebPubSub_SendToUser", POST, "/api/hubs/{hub}/users/{userId}/:send", ACCEPTED;
    RemoveUserFromAllGroups => "WebPubSub_RemoveUserFromAllGroups", DELETE, "/api/hubs/{hub}/users/{userId}/groups", NO_CONTENT;
    RemoveUserFromGroup => "WebPubSub_RemoveUserFromGroup", DELETE, "/api/hubs/{hub}/users/{userId}/groups/{group}", NO_CONTENT;
    AddUserToGroup => "WebPubSub_AddUserToGroup", PUT, "/api/hubs/{hub}/users/{userId}/groups/{group}", OK;
}

impl OperationId {
    /// All 25 operations, in table order.
    pub fn all() -> impl Iterator<Item = OperationId> {
        OPERATIONS.iter().map(|spec| spec.id)
    }

    /// This operation's row of [`OPERATIONS`].
    pub fn spec(self) -> &'static OperationSpec {
        // The table lists the variants in declaration order.
        &OPERATIONS[self as usize]
    }

    /// The spec's `operationId`.
    pub fn as_str(self) -> &'static str {
        self.spec().name
    }

    /// The method.
    pub fn method(self) -> Method {
        self.spec().method.clone()
    }

    /// The spec's path template.
    pub fn path_template(self) -> &'static str {
        self.spec().path
    }

    /// The success status the spec declares.
    pub fn success_status(self) -> StatusCode {
        self.spec().success
    }

    /// Whether `status` is this operation's success: the declared status, or for the `HEAD`
    /// "exists" checks any 2xx (404 there is an answer, not an error; see
    /// [`exists_from_status`]).
    pub fn is_success(self, status: StatusCode) -> bool {
        status == self.success_status() || (self.method() == Method::HEAD && status.is_success())
    }
}

impl fmt::Display for OperationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_in_declaration_order() {
        for (index, spec) in OPERATIONS.iter().enumerate() {
            assert_eq!(spec.id as usize, index, "{}", spec.name);
            assert_eq!(spec.id.spec(), spec);
        }
        assert_eq!(OPERATIONS.len(), 25);
    }
}
