#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod client;
mod deadline;
mod error;
mod group;
mod list;
mod operations;
mod options;
mod pipeline;
mod retry;

pub use client::{ClientAccessTokenOptions, WebPubSubServiceClient};
pub use error::{Error, ErrorKind, Result};
pub use group::GroupClient;
pub use list::{GroupMembers, ListConnectionsOptions};
pub use operations::{
    CloseConnectionsOptions, PermissionOptions, SendToAllOptions, SendToConnectionOptions,
    SendToGroupOptions, SendToUserOptions,
};
pub use options::{Credential, WebPubSubServiceClientOptions};
pub use retry::{NonIdempotentRetry, RetryOptions, RETRYABLE_STATUSES};

#[cfg(feature = "azure_core")]
#[cfg_attr(docsrs, doc(cfg(feature = "azure_core")))]
pub use webpubsub_auth::AzureCoreCredential;
pub use webpubsub_auth::{
    AccessKey, AccessToken, ClientAccessToken, ClientProtocol, ConnectionString, CredentialError,
    Endpoint, Role, Secret, TokenCredential, WEBPUBSUB_SCOPE,
};
pub use webpubsub_protocol::{ContentType, Filter, GroupMember, Message, Permission, API_VERSION};
pub use webpubsub_transport::HttpClient;

/// The lower layers, for what the re-exports above do not cover.
pub mod layers {
    pub use webpubsub_auth as auth;
    pub use webpubsub_protocol as protocol;
    pub use webpubsub_transport as transport;
}
