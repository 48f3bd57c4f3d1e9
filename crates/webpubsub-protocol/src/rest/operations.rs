//! One typed request per REST operation.
//!
//! Every struct is plain data with public fields and `Default` where that makes sense, so callers
//! write `SendToGroup { group: "g".into(), message, ..Default::default() }`.

use serde::Serialize;

use super::{HttpRequestParts, Operation, OperationId, RequestBuilder, Target};
use crate::client_protocol::ClientProtocol;
use crate::filter::Filter;
use crate::payload::Payload;
pub use crate::roles::Permission;
use crate::validate::{self, ValidationError, ValidationRule, MAX_PAGE_SIZE};

fn check_ttl(ttl: Option<u32>) -> Result<(), ValidationError> {
    ttl.map_or(Ok(()), validate::message_ttl)
}

fn check_ids(field: &'static str, ids: &[String]) -> Result<(), ValidationError> {
    ids.iter().try_for_each(|id| validate::non_empty(field, id))
}

/// What the four `:send` operations share: path segments, message, `excluded`, `filter`, TTL.
struct SendParts<'a> {
    id: OperationId,
    /// `(literal segment, parameter)` pairs after `/api/hubs/{hub}`.
    path: Option<(&'static str, &'a str)>,
    message: &'a Payload,
    excluded: &'a [String],
    filter: Option<&'a Filter>,
    message_ttl_seconds: Option<u32>,
}

/// The rules the four `:send` operations share: 1 MiB, TTL 0-300, non-empty excluded ids.
fn validate_send(
    message: &Payload,
    excluded: &[String],
    message_ttl_seconds: Option<u32>,
) -> Result<(), ValidationError> {
    message.validate()?;
    check_ttl(message_ttl_seconds)?;
    check_ids("excluded", excluded)
}

fn render_send(
    parts: SendParts<'_>,
    target: Target<'_>,
) -> Result<HttpRequestParts, ValidationError> {
    let filter = parts.filter.map(Filter::to_string);
    let mut request = RequestBuilder::hub(parts.id, target)?;
    if let Some((segment, value)) = parts.path {
        request = request.literal(segment).param(value);
    }
    Ok(request
        .literal(":send")
        .query_all("excluded", parts.excluded)
        .query_opt("filter", filter.as_deref())
        .query_opt("messageTtlSeconds", parts.message_ttl_seconds)
        .body(
            parts.message.content_type().as_str(),
            parts.message.clone().into_body(),
        )
        .finish())
}

/// `POST /api/hubs/{hub}/:send`: send to every connection of the hub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendToAll {
    /// The message.
    pub message: Payload,
    /// Connection ids that do not receive the message.
    pub excluded: Vec<String>,
    /// An OData filter choosing the receivers.
    pub filter: Option<Filter>,
    /// `messageTtlSeconds`: 0 to 300; 0 or `None` for no expiry.
    pub message_ttl_seconds: Option<u32>,
}

impl Operation for SendToAll {
    const ID: OperationId = OperationId::SendToAll;
    fn validate(&self) -> Result<(), ValidationError> {
        validate_send(&self.message, &self.excluded, self.message_ttl_seconds)
    }

    fn render(&self, target: Target<'_>) -> Result<HttpRequestParts, ValidationError> {
        self.validate()?;
        let parts = SendParts {
            id: Self::ID,
            path: None,
            message: &self.message,
            excluded: &self.excluded,
            filter: self.filter.as_ref(),
            message_ttl_seconds: self.message_ttl_seconds,
        };
        render_send(parts, target)
    }
}

/// `POST /api/hubs/{hub}/users/{userId}/:send`: send to every connection of a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendToUser {
    /// The user.
    pub user_id: String,
    /// The message.
    pub message: Payload,
    /// An OData filter choosing among the user's connections.
    pub filter: Option<Filter>,
    /// `messageTtlSeconds`: 0 to 300.
    pub message_ttl_seconds: Option<u32>,
}

impl Operation for SendToUser {
    const ID: OperationId = OperationId::SendToUser;
    fn validate(&self) -> Result<(), ValidationError> {
        validate::user_id(&self.user_id)?;
        validate_send(&self.message, &[], self.message_ttl_seconds)
    }

    fn render(&self, target: Target<'_>) -> Result<HttpRequestParts, ValidationError> {
        self.validate()?;
        let parts = SendParts {
            id: Self::ID,
            path: Some(("users", &self.user_id)),
            message: &self.message,
            excluded: &[],
            filter: self.filter.as_ref(),
            message_ttl_seconds: self.message_ttl_seconds,
        };
        render_send(parts, target)
    }
}

/// `POST /api/hubs/{hub}/groups/{group}/:send`: send to every connection in a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendToGroup {
    /// The group.
    pub group: String,
    /// The message.
    pub message: Payload,
    /// Connection ids that do not receive the message.
    pub excluded: Vec<String>,
    /// An OData filter choosing among the group's connections.
    pub filter: Option<Filter>,
    /// `messageTtlSeconds`: 0 to 300.
    pub message_ttl_seconds: Option<u32>,
}

impl Operation for SendToGroup {
    const ID: OperationId = OperationId::SendToGroup;
    fn validate(&self) -> Result<(), ValidationError> {
        validate::group(&self.group)?;
        validate_send(&self.message, &self.excluded, self.message_ttl_seconds)
    }

    fn render(&self, target: Target<'_>) -> Result<HttpRequestParts, ValidationError> {
        self.validate()?;
        let parts = SendParts {
            id: Self::ID,
            path: Some(("groups", &self.group)),
            message: &self.message,
            excluded: &self.excluded,
            filter: self.filter.as_ref(),
            message_ttl_seconds: self.message_ttl_seconds,
        };
        render_send(parts, target)
    }
}

/// `POST /api/hubs/{hub}/connections/{connectionId}/:send`: send to one connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendToConnection {
    /// The connection.
    pub connection_id: String,
    /// The message.
    pub message: Payload,
    /// `messageTtlSeconds`: 0 to 300.
    pub message_ttl_seconds: Option<u32>,
}

impl Operation for SendToConnection {
    const ID: OperationId = OperationId::SendToConnection;
    fn validate(&self) -> Result<(), ValidationError> {
        validate::connection_id(&self.connection_id)?;
        validate_send(&self.message, &[], self.message_ttl_seconds)
    }

    fn render(&self, target: Target<'_>) -> Result<HttpRequestParts, ValidationError> {
        self.validate()?;
        let parts = SendParts {
            id: Self::ID,
            path: Some(("connections", &self.connection_id)),
            message: &self.message,
            excluded: &[],
            filter: None,
            message_ttl_seconds: self.message_ttl_seconds,
        };
        render_send(parts, target)
    }
}

/// What the three `:closeConnections` operations share: an optional `(segment, parameter)` after
/// the hub, `excluded` and `reason`.
fn render_close(
    id: OperationId,
    scope: Option<(&'static str, &str)>,
    excluded: &[String],
    reason: Option<&str>,
    target: Target<'_>,
) -> Result<HttpRequestParts, ValidationError> {
    let mut request = RequestBuilder::hub(id, target)?;
    if let Some((segment, value)) = scope {
        request = request.literal(segment).param(value);
    }
    Ok(request
        .literal(":closeConnections")
        .query_all("excluded", excluded)
        .query_opt("reason", reason)
        .finish())
}

/// `POST /api/hubs/{hub}/:closeConnections`: close every connection of the hub.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CloseAllConnections {
    /// Connection ids to keep open.
    pub excluded: Vec<String>,
    /// The reason given to the clients.
    pub reason: Option<String>,
}

impl Operation for CloseAllConnections {
    const ID: OperationId = OperationId::CloseAllConnections;
    fn validate(&self) -> Result<(), ValidationError> {
        check_ids("excluded", &self.excluded)
    }

    fn render(&self, target: Target<'_>) -> Result<HttpRequestParts, ValidationError> {
        self.validate()?;
        render_close(
            Self::ID,
            None,
            &self.excluded,
            self.reason.as_deref(),
            target,
        )
    }
}

/// `POST /api/hubs/{hub}/groups/{group}/:closeConnections`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CloseGroupConnections {
    /// The group.
    pub group: String,
    /// Connection ids to keep open.
    pub excluded: Vec<String>,
    /// The reason given to the clients.
    pub reason: Option<String>,
}

impl Operation for CloseGroupConnections {
    const ID: OperationId = OperationId::CloseGroupConnections;
    fn validate(&self) -> Result<(), ValidationError> {
        validate::group(&self.group)?;
        check_ids("excluded", &self.excluded)
    }

    fn render(&self, target: Target<'_>) -> Result<HttpRequestParts, ValidationError> {
        self.validate()?;
        let scope = Some(("groups", self.group.as_str()));
        render_close(
            Self::ID,
            scope,
            &self.excluded,
            self.reason.as_deref(),
            target,
        )
    }
}

/// `POST /api/hubs/{hub}/users/{userId}/:closeConnections`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CloseUserConnections {
    /// The user.
    pub user_id: String,
    /// Connection ids to keep open.
    pub excluded: Vec<String>,
    /// The reason given to the clients.
    pub reason: Option<String>,
}

impl Operation for CloseUserConnections {
    const ID: OperationId = OperationId::CloseUserConnections;
    fn validate(&self) -> Result<(), ValidationError> {
        validate::user_id(&self.user_id)?;
        check_ids("excluded", &self.excluded)
    }

    fn render(&self, target: Target<'_>) -> Result<HttpRequestParts, ValidationError> {
        self.validate()?;
        let scope = Some(("users", self.user_id.as_str()));
        render_close(
            Self::ID,
            scope,
            &self.excluded,
            self.reason.as_deref(),
            target,
        )
    }
}

/// `DELETE /api/hubs/{hub}/connections/{connectionId}`: close one connection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CloseConnection {
    /// The connection.
    pub connection_id: String,
    /// The reason given to the client.
    pub reason: Option<String>,
}

impl Operation for CloseConnection {
    const ID: OperationId = OperationId::CloseConnection;
    fn validate(&self) -> Result<(), ValidationError> {
        validate::connection_id(&self.connection_id)
    }

    fn render(&self, target: Target<'_>) -> Result<HttpRequestParts, ValidationError> {
        self.validate()?;
        Ok(RequestBuilder::hub(Self::ID, target)?
            .literal("connections")
            .param(&self.connection_id)
            .query_opt("reason", self.reason.as_deref())
            .finish())
    }
}

/// A request made only of path parameters: `(field, wire name, segment before it, validator)`.
macro_rules! path_op {
    ($(#[$meta:meta])* $name:ident, [$($field:ident: $wire:literal after $segment:literal => $validate:expr),+] $(, tail $tail:literal)?) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq, Eq)]
        pub struct $name {
            $(
                #[doc = concat!("The `", $wire, "` path parameter.")]
                pub $field: String,
            )+
        }

        impl Operation for $name {
            const ID: OperationId = OperationId::$name;
            fn validate(&self) -> Result<(), ValidationError> {
                $( ($validate)(&self.$field)?; )+
                Ok(())
            }

            fn render(&self, target: Target<'_>) -> Result<HttpRequestParts, ValidationError> {
                self.validate()?;
                Ok(RequestBuilder::hub(Self::ID, target)?
                    $( .literal($segment).param(&self.$field) )+
                    $( .literal($tail) )?
                    .finish())
            }
        }
    };
}

path_op!(
    /// `HEAD /api/hubs/{hub}/connections/{connectionId}`: 200 exists, 404 not.
    ConnectionExists, [connection_id: "connectionId" after "connections" => validate::connection_id]
);
path_op!(
    /// `HEAD /api/hubs/{hub}/groups/{group}`: 200 when the group has a connection, 404 not.
    GroupExists, [group: "group" after "groups" => validate::group]
);
path_op!(
    /// `HEAD /api/hubs/{hub}/users/{userId}`: 200 when the user has a connection, 404 not.
    UserExists, [user_id: "userId" after "users" => validate::user_id]
);
path_op!(
    /// `PUT /api/hubs/{hub}/groups/{group}/connections/{connectionId}`.
    AddConnectionToGroup,
    [group: "group" after "groups" => validate::group, connection_id: "connectionId" after "connections" => validate::connection_id]
);
path_op!(
    /// `DELETE /api/hubs/{hub}/groups/{group}/connections/{connectionId}`.
    RemoveConnectionFromGroup,
    [group: "group" after "groups" => validate::group, connection_id: "connectionId" after "connections" => validate::connection_id]
);
path_op!(
    /// `PUT /api/hubs/{hub}/users/{userId}/groups/{group}`.
    AddUserToGroup,
    [user_id: "userId" after "users" => validate::user_id, group: "group" after "groups" => validate::group]
);
path_op!(
    /// `DELETE /api/hubs/{hub}/users/{userId}/groups/{group}`.
    RemoveUserFromGroup,
    [user_id: "userId" after "users" => validate::user_id, group: "group" after "groups" => validate::group]
);
path_op!(
    /// `DELETE /api/hubs/{hub}/connections/{connectionId}/groups`.
    RemoveConnectionFromAllGroups,
    [connection_id: "connectionId" after "connections" => validate::connection_id], tail "groups"
);
path_op!(
    /// `DELETE /api/hubs/{hub}/users/{userId}/groups`.
    RemoveUserFromAllGroups,
    [user_id: "userId" after "users" => validate::user_id], tail "groups"
);

/// `HEAD /api/health`: 200 when the service is healthy. Has no hub.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GetServiceStatus;

impl Operation for GetServiceStatus {
    const ID: OperationId = OperationId::GetServiceStatus;
    fn validate(&self) -> Result<(), ValidationError> {
        Ok(())
    }

    fn render(&self, target: Target<'_>) -> Result<HttpRequestParts, ValidationError> {
        self.validate()?;
        Ok(RequestBuilder::root(Self::ID, target, "/api/health").finish())
    }
}

/// The JSON body of `:addToGroups` and `:removeFromGroups`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct GroupsFilterBody {
    /// The groups.
    pub groups: Vec<String>,
    /// The OData filter choosing the connections.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub filter: Option<Filter>,
}

/// At least one group, each valid; `field` is the spec's body parameter name.
fn validate_groups_filter(
    field: &'static str,
    body: &GroupsFilterBody,
) -> Result<(), ValidationError> {
    if body.groups.is_empty() {
        return Err(ValidationError::new(field, ValidationRule::NonEmpty));
    }
    body.groups
        .iter()
        .try_for_each(|g| validate::group_named(field, g))
}

fn render_groups_filter(
    id: OperationId,
    action: &str,
    field: &'static str,
    body: &GroupsFilterBody,
    target: Target<'_>,
) -> Result<HttpRequestParts, ValidationError> {
    let json =
        serde_json::to_vec(body).map_err(|_| ValidationError::new(field, ValidationRule::Json))?;
    Ok(RequestBuilder::hub(id, target)?
        .literal(action)
        .body("application/json", json.into())
        .finish())
}

/// `POST /api/hubs/{hub}/:addToGroups`: add the connections matching `filter` to `groups`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddConnectionsToGroups(pub GroupsFilterBody);

impl Operation for AddConnectionsToGroups {
    const ID: OperationId = OperationId::AddConnectionsToGroups;
    fn validate(&self) -> Result<(), ValidationError> {
        validate_groups_filter("groupsToAdd", &self.0)
    }

    fn render(&self, target: Target<'_>) -> Result<HttpRequestParts, ValidationError> {
        self.validate()?;
        render_groups_filter(Self::ID, ":addToGroups", "groupsToAdd", &self.0, target)
    }
}

/// `POST /api/hubs/{hub}/:removeFromGroups`: remove the connections matching `filter` from `groups`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RemoveConnectionsFromGroups(pub GroupsFilterBody);

impl Operation for RemoveConnectionsFromGroups {
    const ID: OperationId = OperationId::RemoveConnectionsFromGroups;
    fn validate(&self) -> Result<(), ValidationError> {
        validate_groups_filter("groupsToRemove", &self.0)
    }

    fn render(&self, target: Target<'_>) -> Result<HttpRequestParts, ValidationError> {
        self.validate()?;
        render_groups_filter(
            Self::ID,
            ":removeFromGroups",
            "groupsToRemove",
            &self.0,
            target,
        )
    }
}

macro_rules! permission_op {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name {
            /// The permission.
            pub permission: Permission,
            /// The connection.
            pub connection_id: String,
            /// `targetName`: the group the permission is for; `None` for all groups.
            pub target_name: Option<String>,
        }

        impl Operation for $name {
            const ID: OperationId = OperationId::$name;
            fn validate(&self) -> Result<(), ValidationError> {
                validate::connection_id(&self.connection_id)?;
                match &self.target_name {
                    Some(group) => validate::group_named("targetName", group),
                    None => Ok(()),
                }
            }

            fn render(&self, target: Target<'_>) -> Result<HttpRequestParts, ValidationError> {
                self.validate()?;
                Ok(RequestBuilder::hub(Self::ID, target)?
                    .literal("permissions")
                    .param(self.permission.as_str())
                    .literal("connections")
                    .param(&self.connection_id)
                    .query_opt("targetName", self.target_name.as_deref())
                    .finish())
            }
        }
    };
}

permission_op!(
    /// `PUT /api/hubs/{hub}/permissions/{permission}/connections/{connectionId}`.
    GrantPermission
);
permission_op!(
    /// `DELETE /api/hubs/{hub}/permissions/{permission}/connections/{connectionId}`.
    RevokePermission
);
permission_op!(
    /// `HEAD /api/hubs/{hub}/permissions/{permission}/connections/{connectionId}`: 200 has, 404 not.
    CheckPermission
);

/// `GET /api/hubs/{hub}/groups/{group}/connections`: one page of a group's connections.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListConnectionsInGroup {
    /// The group.
    pub group: String,
    /// `maxpagesize`: 1 to 200.
    pub max_page_size: Option<u32>,
    /// `top`: the most connections to return over all pages (at least 1).
    pub top: Option<u32>,
    /// `continuationToken` from the previous page (normally follow `nextLink` instead).
    pub continuation_token: Option<String>,
}

impl Operation for ListConnectionsInGroup {
    const ID: OperationId = OperationId::ListConnectionsInGroup;
    fn validate(&self) -> Result<(), ValidationError> {
        validate::group(&self.group)?;
        if let Some(size) = self.max_page_size {
            validate::range("maxpagesize", size.into(), 1, MAX_PAGE_SIZE.into())?;
        }
        match self.top {
            Some(top) => validate::range("top", top.into(), 1, i32::MAX as u64),
            None => Ok(()),
        }
    }

    fn render(&self, target: Target<'_>) -> Result<HttpRequestParts, ValidationError> {
        self.validate()?;
        Ok(RequestBuilder::hub(Self::ID, target)?
            .literal("groups")
            .param(&self.group)
            .literal("connections")
            .query_opt("maxpagesize", self.max_page_size)
            .query_opt("top", self.top)
            .query_opt("continuationToken", self.continuation_token.as_deref())
            .finish())
    }
}

/// `POST /api/hubs/{hub}/:generateToken`: the service mints a client token (Entra ID callers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerateClientToken {
    /// `userId`.
    pub user_id: Option<String>,
    /// `role`, repeated.
    pub roles: Vec<String>,
    /// `minutesToExpire`: at least 1 (service default 60).
    pub minutes_to_expire: u32,
    /// `group`, repeated: groups joined on connect.
    pub groups: Vec<String>,
    /// `clientType`: `Default` or `MQTT` (2024-12-01 has no Socket.IO value).
    pub client_type: ClientProtocol,
}

impl Default for GenerateClientToken {
    fn default() -> Self {
        Self {
            user_id: None,
            roles: Vec::new(),
            minutes_to_expire: 60,
            groups: Vec::new(),
            client_type: ClientProtocol::Default,
        }
    }
}

impl Operation for GenerateClientToken {
    const ID: OperationId = OperationId::GenerateClientToken;
    fn validate(&self) -> Result<(), ValidationError> {
        validate::range(
            "minutesToExpire",
            self.minutes_to_expire.into(),
            1,
            i32::MAX as u64,
        )?;
        check_ids("role", &self.roles)?;
        self.groups
            .iter()
            .try_for_each(|g| validate::group_named("group", g))
    }

    fn render(&self, target: Target<'_>) -> Result<HttpRequestParts, ValidationError> {
        self.validate()?;
        if self.client_type == ClientProtocol::SocketIo {
            // api-version 2024-12-01 knows `Default` and `MQTT` only.
            return Err(ValidationError::new(
                "clientType",
                ValidationRule::OneOf(&["Default", "MQTT"]),
            ));
        }
        Ok(RequestBuilder::hub(Self::ID, target)?
            .literal(":generateToken")
            .query_opt("userId", self.user_id.as_deref().filter(|u| !u.is_empty()))
            .query_all("role", &self.roles)
            .query("minutesToExpire", self.minutes_to_expire)
            .query_all("group", &self.groups)
            .query("clientType", self.client_type.client_type())
            .finish())
    }
}
