//! `client.group("name")`: the operations on one group.

use std::future::Future;

use webpubsub_protocol::Payload;

use crate::client::WebPubSubServiceClient;
use crate::error::Result;
use crate::list::{GroupMembers, ListConnectionsOptions};
use crate::operations::{
    AddConnectionToGroupOptions, AddUserToGroupOptions, CloseConnectionsOptions,
    GroupExistsOptions, RemoveConnectionFromGroupOptions, RemoveUserFromGroupOptions,
    SendToGroupOptions,
};

/// One group of a hub, from [`WebPubSubServiceClient::group`]. It owns a clone of the client
/// (one reference count), so it can move into a spawned task.
///
/// ```no_run
/// # async fn demo(client: webpubsub::WebPubSubServiceClient) -> Result<(), webpubsub::Error> {
/// let room = client.group("room-1");
/// tokio::spawn(async move {
///     room.send(webpubsub::Payload::text("welcome"), None).await
/// });
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct GroupClient {
    client: WebPubSubServiceClient,
    group: String,
}

impl WebPubSubServiceClient {
    /// The operations on one group.
    pub fn group(&self, group: impl Into<String>) -> GroupClient {
        GroupClient {
            client: self.clone(),
            group: group.into(),
        }
    }
}

impl GroupClient {
    /// The group's name.
    pub fn name(&self) -> &str {
        &self.group
    }

    /// The client this group belongs to.
    pub fn client(&self) -> &WebPubSubServiceClient {
        &self.client
    }

    /// See [`WebPubSubServiceClient::send_to_group`].
    pub fn send(
        &self,
        message: Payload,
        options: Option<SendToGroupOptions>,
    ) -> impl Future<Output = Result<()>> + Send + '_ {
        self.client.send_to_group(&self.group, message, options)
    }

    /// See [`WebPubSubServiceClient::add_connection_to_group`].
    pub fn add_connection(
        &self,
        connection_id: &str,
        options: Option<AddConnectionToGroupOptions>,
    ) -> impl Future<Output = Result<()>> + Send + '_ {
        self.client
            .add_connection_to_group(&self.group, connection_id, options)
    }

    /// See [`WebPubSubServiceClient::remove_connection_from_group`].
    pub fn remove_connection(
        &self,
        connection_id: &str,
        options: Option<RemoveConnectionFromGroupOptions>,
    ) -> impl Future<Output = Result<()>> + Send + '_ {
        self.client
            .remove_connection_from_group(&self.group, connection_id, options)
    }

    /// See [`WebPubSubServiceClient::add_user_to_group`].
    pub fn add_user(
        &self,
        user_id: &str,
        options: Option<AddUserToGroupOptions>,
    ) -> impl Future<Output = Result<()>> + Send + '_ {
        self.client.add_user_to_group(&self.group, user_id, options)
    }

    /// See [`WebPubSubServiceClient::remove_user_from_group`].
    pub fn remove_user(
        &self,
        user_id: &str,
        options: Option<RemoveUserFromGroupOptions>,
    ) -> impl Future<Output = Result<()>> + Send + '_ {
        self.client
            .remove_user_from_group(&self.group, user_id, options)
    }

    /// See [`WebPubSubServiceClient::close_group_connections`].
    pub fn close_connections(
        &self,
        options: Option<CloseConnectionsOptions>,
    ) -> impl Future<Output = Result<()>> + Send + '_ {
        self.client.close_group_connections(&self.group, options)
    }

    /// See [`WebPubSubServiceClient::group_exists`].
    pub fn exists(
        &self,
        options: Option<GroupExistsOptions>,
    ) -> impl Future<Output = Result<bool>> + Send + '_ {
        self.client.group_exists(&self.group, options)
    }

    /// See [`WebPubSubServiceClient::list_connections_in_group`].
    pub fn list_connections(&self, options: Option<ListConnectionsOptions>) -> GroupMembers {
        self.client.list_connections_in_group(&self.group, options)
    }
}
