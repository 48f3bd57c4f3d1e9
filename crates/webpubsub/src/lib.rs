#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod client;
mod error;
mod group;
mod list;
mod operations;
mod options;
mod pipeline;
mod retry;

pub use client::WebPubSubServiceClient;
pub use error::{Error, ErrorKind, Result};
pub use group::GroupClient;
pub use list::{GroupMembers, ListConnectionsOptions, Page};
pub use operations::{
    AddConnectionToGroupOptions, AddUserToGroupOptions, CloseConnectionOptions,
    CloseConnectionsOptions, ConnectionExistsOptions, GroupExistsOptions, GroupsFilterOptions,
    PermissionOptions, RemoveConnectionFromAllGroupsOptions, RemoveConnectionFromGroupOptions,
    RemoveUserFromAllGroupsOptions, RemoveUserFromGroupOptions, SendToAllOptions,
    SendToConnectionOptions, SendToGroupOptions, SendToUserOptions, ServiceStatusOptions,
    UserExistsOptions,
};
pub use options::{Credential, WebPubSubServiceClientOptions};
pub use retry::{NonIdempotentRetry, RetryOptions, RETRYABLE_STATUSES};

#[cfg(feature = "azure_core")]
#[cfg_attr(docsrs, doc(cfg(feature = "azure_core")))]
pub use webpubsub_auth::AzureCoreCredential;
pub use webpubsub_auth::{
    AccessKey, AccessToken, ClientAccessToken, ClientAccessTokenOptions, ClientProtocol,
    ConnectionString, CredentialError, Endpoint, Role, Secret, TokenCredential, WEBPUBSUB_SCOPE,
};
pub use webpubsub_protocol::filter::Filter;
pub use webpubsub_protocol::rest::{GroupMember, Permission, API_VERSION};
pub use webpubsub_protocol::{ContentType, Payload};
pub use webpubsub_transport::HttpClient;

/// The lower layers, for what the re-exports above do not cover.
pub use webpubsub_auth as auth;
/// The wire formats (REST operations, frames, events, filters, rules).
pub use webpubsub_protocol as protocol;
/// The HTTP transport trait and its hyper client.
pub use webpubsub_transport as transport;
