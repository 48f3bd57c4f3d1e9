//! Every REST operation as a method of [`WebPubSubServiceClient`], with its options.
//!
//! Every method has one shape: its arguments, then `Option<...Options>` last (`None` for the
//! defaults), and it returns `impl Future<Output = Result<T>> + Send`: the request is rendered
//! and checked when the method is called, and sent when the future is first polled.

use std::future::Future;

use futures_util::future::FutureExt as _;
use webpubsub_protocol::filter::Filter;
use webpubsub_protocol::rest::{
    exists_from_status, AddConnectionToGroup, AddConnectionsToGroups, AddUserToGroup,
    CheckPermission, CloseAllConnections, CloseConnection, CloseGroupConnections,
    CloseUserConnections, ConnectionExists, GetServiceStatus, GrantPermission, GroupExists,
    GroupsFilterBody, Operation, Permission, RemoveConnectionFromAllGroups,
    RemoveConnectionFromGroup, RemoveConnectionsFromGroups, RemoveUserFromAllGroups,
    RemoveUserFromGroup, RevokePermission, SendToAll, SendToConnection, SendToGroup, SendToUser,
    UserExists,
};
use webpubsub_protocol::Payload;

use crate::client::WebPubSubServiceClient;
use crate::error::Result;
use crate::pipeline::{expect_success, service_error};

/// Options of [`WebPubSubServiceClient::send_to_all`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SendToAllOptions {
    /// Connection ids that do not receive the message.
    pub excluded: Vec<String>,
    /// An OData filter choosing the receivers: built with [`Filter`]'s methods, or
    /// [`Filter::parse`]d from text (checked, and sent as written).
    pub filter: Option<Filter>,
    /// `messageTtlSeconds`, 0 to 300: drop the message if it has not reached a client within
    /// this many seconds. `None` or 0: no expiry.
    pub message_ttl_seconds: Option<u32>,
}

/// Options of [`WebPubSubServiceClient::send_to_user`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SendToUserOptions {
    /// An OData filter choosing among the user's connections.
    pub filter: Option<Filter>,
    /// `messageTtlSeconds`, 0 to 300.
    pub message_ttl_seconds: Option<u32>,
}

/// Options of [`WebPubSubServiceClient::send_to_group`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SendToGroupOptions {
    /// Connection ids that do not receive the message.
    pub excluded: Vec<String>,
    /// An OData filter choosing among the group's connections.
    pub filter: Option<Filter>,
    /// `messageTtlSeconds`, 0 to 300.
    pub message_ttl_seconds: Option<u32>,
}

/// Options of [`WebPubSubServiceClient::send_to_connection`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SendToConnectionOptions {
    /// `messageTtlSeconds`, 0 to 300.
    pub message_ttl_seconds: Option<u32>,
}

/// Options of [`WebPubSubServiceClient::close_all_connections`],
/// [`WebPubSubServiceClient::close_group_connections`] and
/// [`WebPubSubServiceClient::close_user_connections`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CloseConnectionsOptions {
    /// Connection ids to keep open.
    pub excluded: Vec<String>,
    /// The reason given to the clients.
    pub reason: Option<String>,
}

/// Options of [`WebPubSubServiceClient::close_connection`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CloseConnectionOptions {
    /// The reason given to the client.
    pub reason: Option<String>,
}

/// Options of the permission operations ([`WebPubSubServiceClient::grant_permission`],
/// [`WebPubSubServiceClient::revoke_permission`], [`WebPubSubServiceClient::has_permission`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PermissionOptions {
    /// `targetName`: the group the permission is about. `None` sends no `targetName`.
    pub target_name: Option<String>,
}

/// Options of [`WebPubSubServiceClient::add_connections_to_groups`] and
/// [`WebPubSubServiceClient::remove_connections_from_groups`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupsFilterOptions {
    /// The OData filter choosing the connections (optional in the spec).
    pub filter: Option<Filter>,
}

/// Options structs with no fields yet: every method takes one, so options can be added without
/// breaking callers (`#[non_exhaustive]`: build them with `Default`).
macro_rules! empty_options {
    ($($name:ident => $method:literal;)*) => {$(
        #[doc = concat!("Options of [`WebPubSubServiceClient::", $method, "`] (none yet; build with `Default`).")]
        #[derive(Debug, Clone, Default, PartialEq, Eq)]
        #[non_exhaustive]
        pub struct $name {}
    )*};
}

empty_options! {
    ConnectionExistsOptions => "connection_exists";
    GroupExistsOptions => "group_exists";
    UserExistsOptions => "user_exists";
    ServiceStatusOptions => "service_status";
    AddConnectionToGroupOptions => "add_connection_to_group";
    RemoveConnectionFromGroupOptions => "remove_connection_from_group";
    RemoveConnectionFromAllGroupsOptions => "remove_connection_from_all_groups";
    AddUserToGroupOptions => "add_user_to_group";
    RemoveUserFromGroupOptions => "remove_user_from_group";
    RemoveUserFromAllGroupsOptions => "remove_user_from_all_groups";
}

impl WebPubSubServiceClient {
    /// Renders `operation` now and returns the call, which succeeds on the operation's declared
    /// status (the operation table's).
    ///
    /// The methods return this future directly instead of being `async fn`s: an `async fn` keeps
    /// its arguments and the operation in its state beside the request for the whole call.
    fn run(&self, operation: impl Operation) -> impl Future<Output = Result<()>> + Send + '_ {
        self.call(&operation)
            .map(|response| response.and_then(expect_success).map(drop))
    }

    /// A `HEAD` "exists" check: 2xx true, 404 false, anything else an error.
    fn exists(&self, operation: impl Operation) -> impl Future<Output = Result<bool>> + Send + '_ {
        self.call(&operation).map(|answer| {
            let response = answer?.response;
            exists_from_status(response.status().as_u16()).ok_or_else(|| service_error(&response))
        })
    }

    /// Sends a message to every connection of the hub (`POST /:send`, 202).
    ///
    /// ```no_run
    /// # async fn demo(client: webpubsub::WebPubSubServiceClient) -> Result<(), webpubsub::Error> {
    /// use webpubsub::{Filter, Payload, SendToAllOptions};
    ///
    /// client.send_to_all(Payload::text("hi"), None).await?;
    /// client
    ///     .send_to_all(
    ///         Payload::json(&serde_json::json!({"kind": "alert"}))?,
    ///         Some(SendToAllOptions { filter: Some(Filter::in_groups("admins")), ..Default::default() }),
    ///     )
    ///     .await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// Invalid input (TTL, excluded ids, message over 1 MiB), service, transport or timeout errors.
    pub fn send_to_all(
        &self,
        message: Payload,
        options: Option<SendToAllOptions>,
    ) -> impl Future<Output = Result<()>> + Send + '_ {
        let options = options.unwrap_or_default();
        self.run(SendToAll {
            message,
            excluded: options.excluded,
            filter: options.filter,
            message_ttl_seconds: options.message_ttl_seconds,
        })
    }

    /// Sends a message to every connection of a user (`POST /users/{userId}/:send`, 202).
    ///
    /// # Errors
    /// As [`WebPubSubServiceClient::send_to_all`].
    pub fn send_to_user(
        &self,
        user_id: &str,
        message: Payload,
        options: Option<SendToUserOptions>,
    ) -> impl Future<Output = Result<()>> + Send + '_ {
        let options = options.unwrap_or_default();
        self.run(SendToUser {
            user_id: user_id.to_owned(),
            message,
            filter: options.filter,
            message_ttl_seconds: options.message_ttl_seconds,
        })
    }

    /// Sends a message to every connection in a group (`POST /groups/{group}/:send`, 202).
    ///
    /// # Errors
    /// As [`WebPubSubServiceClient::send_to_all`], plus an invalid group name.
    pub fn send_to_group(
        &self,
        group: &str,
        message: Payload,
        options: Option<SendToGroupOptions>,
    ) -> impl Future<Output = Result<()>> + Send + '_ {
        let options = options.unwrap_or_default();
        self.run(SendToGroup {
            group: group.to_owned(),
            message,
            excluded: options.excluded,
            filter: options.filter,
            message_ttl_seconds: options.message_ttl_seconds,
        })
    }

    /// Sends a message to one connection (`POST /connections/{id}/:send`, 202).
    ///
    /// # Errors
    /// As [`WebPubSubServiceClient::send_to_all`].
    pub fn send_to_connection(
        &self,
        connection_id: &str,
        message: Payload,
        options: Option<SendToConnectionOptions>,
    ) -> impl Future<Output = Result<()>> + Send + '_ {
        let options = options.unwrap_or_default();
        self.run(SendToConnection {
            connection_id: connection_id.to_owned(),
            message,
            message_ttl_seconds: options.message_ttl_seconds,
        })
    }

    /// Closes every connection of the hub (`POST /:closeConnections`, 204).
    ///
    /// # Errors
    /// Service, transport or timeout errors.
    pub fn close_all_connections(
        &self,
        options: Option<CloseConnectionsOptions>,
    ) -> impl Future<Output = Result<()>> + Send + '_ {
        let options = options.unwrap_or_default();
        self.run(CloseAllConnections {
            excluded: options.excluded,
            reason: options.reason,
        })
    }

    /// Closes every connection in a group (`POST /groups/{group}/:closeConnections`, 204).
    ///
    /// # Errors
    /// Invalid group, service, transport or timeout errors.
    pub fn close_group_connections(
        &self,
        group: &str,
        options: Option<CloseConnectionsOptions>,
    ) -> impl Future<Output = Result<()>> + Send + '_ {
        let options = options.unwrap_or_default();
        self.run(CloseGroupConnections {
            group: group.to_owned(),
            excluded: options.excluded,
            reason: options.reason,
        })
    }

    /// Closes every connection of a user (`POST /users/{userId}/:closeConnections`, 204).
    ///
    /// # Errors
    /// Service, transport or timeout errors.
    pub fn close_user_connections(
        &self,
        user_id: &str,
        options: Option<CloseConnectionsOptions>,
    ) -> impl Future<Output = Result<()>> + Send + '_ {
        let options = options.unwrap_or_default();
        self.run(CloseUserConnections {
            user_id: user_id.to_owned(),
            excluded: options.excluded,
            reason: options.reason,
        })
    }

    /// Closes one connection (`DELETE /connections/{id}`, 204).
    ///
    /// # Errors
    /// Service, transport or timeout errors.
    pub fn close_connection(
        &self,
        connection_id: &str,
        options: Option<CloseConnectionOptions>,
    ) -> impl Future<Output = Result<()>> + Send + '_ {
        self.run(CloseConnection {
            connection_id: connection_id.to_owned(),
            reason: options.unwrap_or_default().reason,
        })
    }

    /// Whether a connection exists (`HEAD /connections/{id}`: 200 true, 404 false).
    ///
    /// # Errors
    /// Any other status, transport or timeout errors.
    pub fn connection_exists(
        &self,
        connection_id: &str,
        _options: Option<ConnectionExistsOptions>,
    ) -> impl Future<Output = Result<bool>> + Send + '_ {
        self.exists(ConnectionExists {
            connection_id: connection_id.to_owned(),
        })
    }

    /// Whether a group has at least one connection (`HEAD /groups/{group}`).
    ///
    /// # Errors
    /// As [`WebPubSubServiceClient::connection_exists`].
    pub fn group_exists(
        &self,
        group: &str,
        _options: Option<GroupExistsOptions>,
    ) -> impl Future<Output = Result<bool>> + Send + '_ {
        self.exists(GroupExists {
            group: group.to_owned(),
        })
    }

    /// Whether a user has at least one connection (`HEAD /users/{userId}`).
    ///
    /// # Errors
    /// As [`WebPubSubServiceClient::connection_exists`].
    pub fn user_exists(
        &self,
        user_id: &str,
        _options: Option<UserExistsOptions>,
    ) -> impl Future<Output = Result<bool>> + Send + '_ {
        self.exists(UserExists {
            user_id: user_id.to_owned(),
        })
    }

    /// Checks the service's health (`HEAD /api/health`): `Ok(())` when it answers 200.
    ///
    /// # Errors
    /// Any other status, transport or timeout errors.
    pub fn service_status(
        &self,
        _options: Option<ServiceStatusOptions>,
    ) -> impl Future<Output = Result<()>> + Send + '_ {
        self.run(GetServiceStatus)
    }

    /// Adds a connection to a group (`PUT /groups/{group}/connections/{id}`, 200; 404 when the
    /// connection does not exist).
    ///
    /// # Errors
    /// [`crate::Error::is_not_found`] for an unknown connection; service, transport or timeout
    /// errors.
    pub fn add_connection_to_group(
        &self,
        group: &str,
        connection_id: &str,
        _options: Option<AddConnectionToGroupOptions>,
    ) -> impl Future<Output = Result<()>> + Send + '_ {
        self.run(AddConnectionToGroup {
            group: group.to_owned(),
            connection_id: connection_id.to_owned(),
        })
    }

    /// Removes a connection from a group (`DELETE /groups/{group}/connections/{id}`, 204).
    ///
    /// # Errors
    /// Service, transport or timeout errors.
    pub fn remove_connection_from_group(
        &self,
        group: &str,
        connection_id: &str,
        _options: Option<RemoveConnectionFromGroupOptions>,
    ) -> impl Future<Output = Result<()>> + Send + '_ {
        self.run(RemoveConnectionFromGroup {
            group: group.to_owned(),
            connection_id: connection_id.to_owned(),
        })
    }

    /// Removes a connection from every group (`DELETE /connections/{id}/groups`, 204).
    ///
    /// # Errors
    /// Service, transport or timeout errors.
    pub fn remove_connection_from_all_groups(
        &self,
        connection_id: &str,
        _options: Option<RemoveConnectionFromAllGroupsOptions>,
    ) -> impl Future<Output = Result<()>> + Send + '_ {
        self.run(RemoveConnectionFromAllGroups {
            connection_id: connection_id.to_owned(),
        })
    }

    /// Adds the user's current connections to a group (`PUT /users/{u}/groups/{g}`, 200).
    /// Connections the user opens later are not added. The service answers 404
    /// (`Warning.User.NotExisted`) for a user with no connection.
    ///
    /// # Errors
    /// [`crate::Error::is_not_found`] for a user with no connection; service, transport or
    /// timeout errors.
    pub fn add_user_to_group(
        &self,
        group: &str,
        user_id: &str,
        _options: Option<AddUserToGroupOptions>,
    ) -> impl Future<Output = Result<()>> + Send + '_ {
        self.run(AddUserToGroup {
            user_id: user_id.to_owned(),
            group: group.to_owned(),
        })
    }

    /// Removes a user from a group (`DELETE /users/{u}/groups/{g}`, 204).
    ///
    /// # Errors
    /// Service, transport or timeout errors.
    pub fn remove_user_from_group(
        &self,
        group: &str,
        user_id: &str,
        _options: Option<RemoveUserFromGroupOptions>,
    ) -> impl Future<Output = Result<()>> + Send + '_ {
        self.run(RemoveUserFromGroup {
            user_id: user_id.to_owned(),
            group: group.to_owned(),
        })
    }

    /// Removes a user from every group (`DELETE /users/{u}/groups`, 204).
    ///
    /// # Errors
    /// Service, transport or timeout errors.
    pub fn remove_user_from_all_groups(
        &self,
        user_id: &str,
        _options: Option<RemoveUserFromAllGroupsOptions>,
    ) -> impl Future<Output = Result<()>> + Send + '_ {
        self.run(RemoveUserFromAllGroups {
            user_id: user_id.to_owned(),
        })
    }

    /// Adds the connections matching the filter (all connections without one) to `groups`
    /// (`POST /:addToGroups`, 200).
    ///
    /// ```no_run
    /// # async fn demo(client: webpubsub::WebPubSubServiceClient) -> Result<(), webpubsub::Error> {
    /// use webpubsub::{Filter, GroupsFilterOptions};
    ///
    /// let listeners = Filter::starts_with(Filter::user_id(), "listener-");
    /// let options = GroupsFilterOptions { filter: Some(listeners) };
    /// client.add_connections_to_groups(&["news", "sports"], Some(options)).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// Invalid groups; service, transport or timeout errors.
    pub fn add_connections_to_groups<S: AsRef<str>>(
        &self,
        groups: &[S],
        options: Option<GroupsFilterOptions>,
    ) -> impl Future<Output = Result<()>> + Send + '_ {
        self.run(AddConnectionsToGroups(groups_filter(groups, options)))
    }

    /// Removes the connections matching the filter (all without one) from `groups`
    /// (`POST /:removeFromGroups`, 200).
    ///
    /// # Errors
    /// As [`WebPubSubServiceClient::add_connections_to_groups`].
    pub fn remove_connections_from_groups<S: AsRef<str>>(
        &self,
        groups: &[S],
        options: Option<GroupsFilterOptions>,
    ) -> impl Future<Output = Result<()>> + Send + '_ {
        self.run(RemoveConnectionsFromGroups(groups_filter(groups, options)))
    }

    /// Grants a connection a permission (`PUT /permissions/{p}/connections/{id}`, 200).
    ///
    /// # Errors
    /// Service, transport or timeout errors.
    pub fn grant_permission(
        &self,
        permission: Permission,
        connection_id: &str,
        options: Option<PermissionOptions>,
    ) -> impl Future<Output = Result<()>> + Send + '_ {
        self.run(GrantPermission {
            permission,
            connection_id: connection_id.to_owned(),
            target_name: options.unwrap_or_default().target_name,
        })
    }

    /// Revokes a permission (`DELETE /permissions/{p}/connections/{id}`, 204).
    ///
    /// # Errors
    /// Service, transport or timeout errors.
    pub fn revoke_permission(
        &self,
        permission: Permission,
        connection_id: &str,
        options: Option<PermissionOptions>,
    ) -> impl Future<Output = Result<()>> + Send + '_ {
        self.run(RevokePermission {
            permission,
            connection_id: connection_id.to_owned(),
            target_name: options.unwrap_or_default().target_name,
        })
    }

    /// Whether a connection has a permission (`HEAD /permissions/{p}/connections/{id}`: 200
    /// true, 404 false). An unknown connection has none: `false`.
    ///
    /// # Errors
    /// Any status but 2xx and 404, transport or timeout errors.
    pub fn has_permission(
        &self,
        permission: Permission,
        connection_id: &str,
        options: Option<PermissionOptions>,
    ) -> impl Future<Output = Result<bool>> + Send + '_ {
        self.exists(CheckPermission {
            permission,
            connection_id: connection_id.to_owned(),
            target_name: options.unwrap_or_default().target_name,
        })
    }
}

fn groups_filter<S: AsRef<str>>(
    groups: &[S],
    options: Option<GroupsFilterOptions>,
) -> GroupsFilterBody {
    GroupsFilterBody {
        groups: groups.iter().map(|g| g.as_ref().to_owned()).collect(),
        filter: options.unwrap_or_default().filter,
    }
}
