//! `client.group("name")`: the operations on one group.

use webpubsub_protocol::Message;

use crate::client::WebPubSubServiceClient;
use crate::error::Result;
use crate::list::{GroupMembers, ListConnectionsOptions};
use crate::operations::{CloseConnectionsOptions, SendToGroupOptions};

/// One group of a hub, from [`WebPubSubServiceClient::group`].
///
/// ```no_run
/// # async fn demo(client: webpubsub::WebPubSubServiceClient) -> Result<(), webpubsub::Error> {
/// let room = client.group("room-1");
/// room.add_user("alice").await?;
/// room.send(webpubsub::Message::text("welcome"), None).await?;
/// assert!(room.exists().await?);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct GroupClient<'c> {
    client: &'c WebPubSubServiceClient,
    group: String,
}

impl WebPubSubServiceClient {
    /// The operations on one group.
    pub fn group(&self, group: impl Into<String>) -> GroupClient<'_> {
        GroupClient {
            client: self,
            group: group.into(),
        }
    }
}

impl GroupClient<'_> {
    /// The group's name.
    pub fn name(&self) -> &str {
        &self.group
    }

    /// See [`WebPubSubServiceClient::send_to_group`].
    ///
    /// # Errors
    /// As that method.
    pub async fn send(&self, message: Message, options: Option<SendToGroupOptions>) -> Result<()> {
        self.client
            .send_to_group(&self.group, message, options)
            .await
    }

    /// See [`WebPubSubServiceClient::add_connection_to_group`].
    ///
    /// # Errors
    /// As that method.
    pub async fn add_connection(&self, connection_id: &str) -> Result<()> {
        self.client
            .add_connection_to_group(&self.group, connection_id)
            .await
    }

    /// See [`WebPubSubServiceClient::remove_connection_from_group`].
    ///
    /// # Errors
    /// As that method.
    pub async fn remove_connection(&self, connection_id: &str) -> Result<()> {
        self.client
            .remove_connection_from_group(&self.group, connection_id)
            .await
    }

    /// See [`WebPubSubServiceClient::add_user_to_group`].
    ///
    /// # Errors
    /// As that method.
    pub async fn add_user(&self, user_id: &str) -> Result<()> {
        self.client.add_user_to_group(&self.group, user_id).await
    }

    /// See [`WebPubSubServiceClient::remove_user_from_group`].
    ///
    /// # Errors
    /// As that method.
    pub async fn remove_user(&self, user_id: &str) -> Result<()> {
        self.client
            .remove_user_from_group(&self.group, user_id)
            .await
    }

    /// See [`WebPubSubServiceClient::close_group_connections`].
    ///
    /// # Errors
    /// As that method.
    pub async fn close_connections(&self, options: Option<CloseConnectionsOptions>) -> Result<()> {
        self.client
            .close_group_connections(&self.group, options)
            .await
    }

    /// See [`WebPubSubServiceClient::group_exists`].
    ///
    /// # Errors
    /// As that method.
    pub async fn exists(&self) -> Result<bool> {
        self.client.group_exists(&self.group).await
    }

    /// See [`WebPubSubServiceClient::list_connections_in_group`].
    pub fn list_connections(&self, options: Option<ListConnectionsOptions>) -> GroupMembers {
        self.client.list_connections_in_group(&self.group, options)
    }
}
