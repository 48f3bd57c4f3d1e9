//! Every REST operation as a method of [`WebPubSubServiceClient`], with its options.

use std::future::Future;

use futures_util::future::{Either, FutureExt as _};
use webpubsub_protocol::{
    exists_from_status, AddConnectionToGroup, AddConnectionsToGroups, AddUserToGroup,
    CheckPermission, CloseAllConnections, CloseConnection, CloseGroupConnections,
    CloseUserConnections, ConnectionExists, Filter, GetServiceStatus, GrantPermission, GroupExists,
    GroupsFilterBody, Message, Permission, RemoveConnectionFromAllGroups,
    RemoveConnectionFromGroup, RemoveConnectionsFromGroups, RemoveUserFromAllGroups,
    RemoveUserFromGroup, RevokePermission, SendToAll, SendToConnection, SendToGroup, SendToUser,
    UserExists,
};

use crate::client::WebPubSubServiceClient;
use crate::error::{Error, Result};
use crate::pipeline::{expect_success, service_error};

/// Options of [`WebPubSubServiceClient::send_to_all`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SendToAllOptions {
    /// Connection ids that do not receive the message.
    pub excluded: Vec<String>,
    /// An OData filter choosing the receivers; build it with [`Filter`] (`filter.to_string()`).
    pub filter: Option<String>,
    /// Drop the message if a client has not received it within this many seconds (1-300).
    pub message_ttl_seconds: Option<u32>,
}

/// Options of [`WebPubSubServiceClient::send_to_user`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SendToUserOptions {
    /// An OData filter choosing among the user's connections.
    pub filter: Option<String>,
    /// Message TTL in seconds (0-300).
    pub message_ttl_seconds: Option<u32>,
}

/// Options of [`WebPubSubServiceClient::send_to_group`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SendToGroupOptions {
    /// Connection ids that do not receive the message.
    pub excluded: Vec<String>,
    /// An OData filter choosing among the group's connections.
    pub filter: Option<String>,
    /// Message TTL in seconds (0-300).
    pub message_ttl_seconds: Option<u32>,
}

/// Options of [`WebPubSubServiceClient::send_to_connection`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SendToConnectionOptions {
    /// Message TTL in seconds (0-300).
    pub message_ttl_seconds: Option<u32>,
}

/// Options of the close operations.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CloseConnectionsOptions {
    /// Connection ids to keep open (ignored by `close_connection`).
    pub excluded: Vec<String>,
    /// The reason given to the clients.
    pub reason: Option<String>,
}

/// Options of the permission operations.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PermissionOptions {
    /// The group the permission is for; `None` for all groups.
    pub target_name: Option<String>,
}

/// Checks a filter string with the OData parser before anything is sent.
fn check_filter(filter: &Option<String>) -> Result<()> {
    match filter {
        Some(text) => Filter::parse(text).map(drop).map_err(Error::invalid_input),
        None => Ok(()),
    }
}

impl WebPubSubServiceClient {
    /// Renders `operation` now and returns the call, which succeeds on any 2xx.
    ///
    /// The sends return this future directly instead of being `async fn`s: an `async fn` keeps
    /// its arguments and the operation in its state beside the request for the whole call, and
    /// the sends are the calls an application makes thousands of times a second.
    fn run(
        &self,
        operation: Result<impl webpubsub_protocol::Operation>,
    ) -> impl Future<Output = Result<()>> + Send + '_ {
        let call = match operation {
            Ok(operation) => Either::Left(self.call(&operation)),
            Err(e) => Either::Right(std::future::ready(Err(e))),
        };
        call.map(|response| response.and_then(expect_success).map(drop))
    }

    async fn exists(&self, operation: &impl webpubsub_protocol::Operation) -> Result<bool> {
        let response = self.call(operation).await?;
        exists_from_status(response.status().as_u16()).ok_or_else(|| service_error(&response))
    }

    /// Sends a message to every connection of the hub (`POST /:send`, 202).
    ///
    /// ```no_run
    /// # async fn demo(client: webpubsub::WebPubSubServiceClient) -> Result<(), webpubsub::Error> {
    /// use webpubsub::{Filter, Message, SendToAllOptions};
    ///
    /// client.send_to_all(Message::text("hi"), None).await?;
    /// client
    ///     .send_to_all(
    ///         Message::json(&serde_json::json!({"kind": "alert"}))?,
    ///         Some(SendToAllOptions { filter: Some(Filter::in_groups("admins").to_string()), ..Default::default() }),
    ///     )
    ///     .await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// Invalid input (TTL, filter, message over 1 MiB), service, transport or timeout errors.
    pub fn send_to_all(
        &self,
        message: Message,
        options: Option<SendToAllOptions>,
    ) -> impl Future<Output = Result<()>> + Send + '_ {
        let options = options.unwrap_or_default();
        self.run(check_filter(&options.filter).map(|()| SendToAll {
            message,
            excluded: options.excluded,
            filter: options.filter,
            message_ttl_seconds: options.message_ttl_seconds,
        }))
    }

    /// Sends a message to every connection of a user (`POST /users/{userId}/:send`, 202).
    ///
    /// # Errors
    /// As [`WebPubSubServiceClient::send_to_all`].
    pub fn send_to_user(
        &self,
        user_id: &str,
        message: Message,
        options: Option<SendToUserOptions>,
    ) -> impl Future<Output = Result<()>> + Send + '_ {
        let options = options.unwrap_or_default();
        self.run(check_filter(&options.filter).map(|()| SendToUser {
            user_id: user_id.to_owned(),
            message,
            filter: options.filter,
            message_ttl_seconds: options.message_ttl_seconds,
        }))
    }

    /// Sends a message to every connection in a group (`POST /groups/{group}/:send`, 202).
    ///
    /// # Errors
    /// As [`WebPubSubServiceClient::send_to_all`], plus an invalid group name.
    pub fn send_to_group(
        &self,
        group: &str,
        message: Message,
        options: Option<SendToGroupOptions>,
    ) -> impl Future<Output = Result<()>> + Send + '_ {
        let options = options.unwrap_or_default();
        self.run(check_filter(&options.filter).map(|()| SendToGroup {
            group: group.to_owned(),
            message,
            excluded: options.excluded,
            filter: options.filter,
            message_ttl_seconds: options.message_ttl_seconds,
        }))
    }

    /// Sends a message to one connection (`POST /connections/{id}/:send`, 202).
    ///
    /// # Errors
    /// As [`WebPubSubServiceClient::send_to_all`].
    pub fn send_to_connection(
        &self,
        connection_id: &str,
        message: Message,
        options: Option<SendToConnectionOptions>,
    ) -> impl Future<Output = Result<()>> + Send + '_ {
        let options = options.unwrap_or_default();
        self.run(Ok(SendToConnection {
            connection_id: connection_id.to_owned(),
            message,
            message_ttl_seconds: options.message_ttl_seconds,
        }))
    }

    /// Closes every connection of the hub (`POST /:closeConnections`, 204).
    ///
    /// # Errors
    /// Service, transport or timeout errors.
    pub async fn close_all_connections(
        &self,
        options: Option<CloseConnectionsOptions>,
    ) -> Result<()> {
        let options = options.unwrap_or_default();
        self.run(Ok(CloseAllConnections {
            excluded: options.excluded,
            reason: options.reason,
        }))
        .await
    }

    /// Closes every connection in a group (`POST /groups/{group}/:closeConnections`, 204).
    ///
    /// # Errors
    /// Invalid group, service, transport or timeout errors.
    pub async fn close_group_connections(
        &self,
        group: &str,
        options: Option<CloseConnectionsOptions>,
    ) -> Result<()> {
        let options = options.unwrap_or_default();
        self.run(Ok(CloseGroupConnections {
            group: group.to_owned(),
            excluded: options.excluded,
            reason: options.reason,
        }))
        .await
    }

    /// Closes every connection of a user (`POST /users/{userId}/:closeConnections`, 204).
    ///
    /// # Errors
    /// Service, transport or timeout errors.
    pub async fn close_user_connections(
        &self,
        user_id: &str,
        options: Option<CloseConnectionsOptions>,
    ) -> Result<()> {
        let options = options.unwrap_or_default();
        self.run(Ok(CloseUserConnections {
            user_id: user_id.to_owned(),
            excluded: options.excluded,
            reason: options.reason,
        }))
        .await
    }

    /// Closes one connection (`DELETE /connections/{id}`, 204).
    ///
    /// # Errors
    /// Service, transport or timeout errors.
    pub async fn close_connection(&self, connection_id: &str, reason: Option<&str>) -> Result<()> {
        self.run(Ok(CloseConnection {
            connection_id: connection_id.to_owned(),
            reason: reason.map(str::to_owned),
        }))
        .await
    }

    /// Whether a connection exists (`HEAD /connections/{id}`: 200 true, 404 false).
    ///
    /// # Errors
    /// Any other status, transport or timeout errors.
    pub async fn connection_exists(&self, connection_id: &str) -> Result<bool> {
        self.exists(&ConnectionExists {
            connection_id: connection_id.to_owned(),
        })
        .await
    }

    /// Whether a group has at least one connection (`HEAD /groups/{group}`).
    ///
    /// # Errors
    /// As [`WebPubSubServiceClient::connection_exists`].
    pub async fn group_exists(&self, group: &str) -> Result<bool> {
        self.exists(&GroupExists {
            group: group.to_owned(),
        })
        .await
    }

    /// Whether a user has at least one connection (`HEAD /users/{userId}`).
    ///
    /// # Errors
    /// As [`WebPubSubServiceClient::connection_exists`].
    pub async fn user_exists(&self, user_id: &str) -> Result<bool> {
        self.exists(&UserExists {
            user_id: user_id.to_owned(),
        })
        .await
    }

    /// Checks the service's health (`HEAD /api/health`): `Ok(())` when it answers 200.
    ///
    /// # Errors
    /// Any other status, transport or timeout errors.
    pub async fn service_status(&self) -> Result<()> {
        self.run(Ok(GetServiceStatus)).await
    }

    /// Adds a connection to a group (`PUT /groups/{group}/connections/{id}`, 200; 404 when the
    /// connection does not exist).
    ///
    /// # Errors
    /// [`Error::is_not_found`] for an unknown connection; service, transport or timeout errors.
    pub async fn add_connection_to_group(&self, group: &str, connection_id: &str) -> Result<()> {
        self.run(Ok(AddConnectionToGroup {
            group: group.to_owned(),
            connection_id: connection_id.to_owned(),
        }))
        .await
    }

    /// Removes a connection from a group (`DELETE /groups/{group}/connections/{id}`, 204).
    ///
    /// # Errors
    /// Service, transport or timeout errors.
    pub async fn remove_connection_from_group(
        &self,
        group: &str,
        connection_id: &str,
    ) -> Result<()> {
        self.run(Ok(RemoveConnectionFromGroup {
            group: group.to_owned(),
            connection_id: connection_id.to_owned(),
        }))
        .await
    }

    /// Removes a connection from every group (`DELETE /connections/{id}/groups`, 204).
    ///
    /// # Errors
    /// Service, transport or timeout errors.
    pub async fn remove_connection_from_all_groups(&self, connection_id: &str) -> Result<()> {
        self.run(Ok(RemoveConnectionFromAllGroups {
            connection_id: connection_id.to_owned(),
        }))
        .await
    }

    /// Adds every connection of a user, now and later, to a group (`PUT /users/{u}/groups/{g}`, 200).
    ///
    /// # Errors
    /// Service, transport or timeout errors.
    pub async fn add_user_to_group(&self, group: &str, user_id: &str) -> Result<()> {
        self.run(Ok(AddUserToGroup {
            user_id: user_id.to_owned(),
            group: group.to_owned(),
        }))
        .await
    }

    /// Removes a user from a group (`DELETE /users/{u}/groups/{g}`, 204).
    ///
    /// # Errors
    /// Service, transport or timeout errors.
    pub async fn remove_user_from_group(&self, group: &str, user_id: &str) -> Result<()> {
        self.run(Ok(RemoveUserFromGroup {
            user_id: user_id.to_owned(),
            group: group.to_owned(),
        }))
        .await
    }

    /// Removes a user from every group (`DELETE /users/{u}/groups`, 204).
    ///
    /// # Errors
    /// Service, transport or timeout errors.
    pub async fn remove_user_from_all_groups(&self, user_id: &str) -> Result<()> {
        self.run(Ok(RemoveUserFromAllGroups {
            user_id: user_id.to_owned(),
        }))
        .await
    }

    /// Adds the connections matching `filter` to `groups` (`POST /:addToGroups`, 200).
    ///
    /// ```no_run
    /// # async fn demo(client: webpubsub::WebPubSubServiceClient) -> Result<(), webpubsub::Error> {
    /// use webpubsub::Filter;
    ///
    /// let listeners = Filter::starts_with(Filter::user_id(), "listener-");
    /// client.add_connections_to_groups(&["news", "sports"], &listeners.to_string()).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// Invalid groups or filter; service, transport or timeout errors.
    pub async fn add_connections_to_groups<S: AsRef<str>>(
        &self,
        groups: &[S],
        filter: &str,
    ) -> Result<()> {
        let body = groups_filter(groups, filter)?;
        self.run(Ok(AddConnectionsToGroups(body))).await
    }

    /// Removes the connections matching `filter` from `groups` (`POST /:removeFromGroups`, 200).
    ///
    /// # Errors
    /// As [`WebPubSubServiceClient::add_connections_to_groups`].
    pub async fn remove_connections_from_groups<S: AsRef<str>>(
        &self,
        groups: &[S],
        filter: &str,
    ) -> Result<()> {
        let body = groups_filter(groups, filter)?;
        self.run(Ok(RemoveConnectionsFromGroups(body))).await
    }

    /// Grants a connection a permission (`PUT /permissions/{p}/connections/{id}`, 200).
    ///
    /// # Errors
    /// Service, transport or timeout errors.
    pub async fn grant_permission(
        &self,
        permission: Permission,
        connection_id: &str,
        options: Option<PermissionOptions>,
    ) -> Result<()> {
        let target_name = options.unwrap_or_default().target_name;
        self.run(Ok(GrantPermission {
            permission,
            connection_id: connection_id.to_owned(),
            target_name,
        }))
        .await
    }

    /// Revokes a permission (`DELETE /permissions/{p}/connections/{id}`, 204).
    ///
    /// # Errors
    /// Service, transport or timeout errors.
    pub async fn revoke_permission(
        &self,
        permission: Permission,
        connection_id: &str,
        options: Option<PermissionOptions>,
    ) -> Result<()> {
        let target_name = options.unwrap_or_default().target_name;
        self.run(Ok(RevokePermission {
            permission,
            connection_id: connection_id.to_owned(),
            target_name,
        }))
        .await
    }

    /// Whether a connection has a permission (`HEAD /permissions/{p}/connections/{id}`).
    ///
    /// # Errors
    /// Any status but 200 and 404, transport or timeout errors.
    pub async fn has_permission(
        &self,
        permission: Permission,
        connection_id: &str,
        options: Option<PermissionOptions>,
    ) -> Result<bool> {
        let target_name = options.unwrap_or_default().target_name;
        self.exists(&CheckPermission {
            permission,
            connection_id: connection_id.to_owned(),
            target_name,
        })
        .await
    }
}

fn groups_filter<S: AsRef<str>>(groups: &[S], filter: &str) -> Result<GroupsFilterBody> {
    let filter = Some(filter.to_owned());
    check_filter(&filter)?;
    Ok(GroupsFilterBody {
        groups: groups.iter().map(|g| g.as_ref().to_owned()).collect(),
        filter,
    })
}
