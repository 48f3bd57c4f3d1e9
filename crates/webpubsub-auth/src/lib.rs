#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod client_token;
mod connection_string;
mod credential;
mod endpoint;
mod jwt;
mod rest_token;
mod secret;
mod signature;
mod verify;

pub use client_token::{
    client_access_token, client_audience, ClientAccessToken, ClientAccessTokenOptions, TokenError,
    DEFAULT_CLIENT_TOKEN_LIFETIME,
};
pub use connection_string::{ConnectionString, ConnectionStringError};
#[cfg(feature = "azure_core")]
pub use credential::AzureCoreCredential;
pub use credential::{AccessToken, CredentialError, TokenCredential, WEBPUBSUB_SCOPE};
pub use endpoint::{Endpoint, EndpointError, Scheme};
pub use rest_token::{rest_bearer_token, RestTokenSigner, DEFAULT_REST_TOKEN_LIFETIME};
pub use secret::{AccessKey, Secret};
pub use signature::{
    event_signature, verify_event_signature, SignatureError, MAX_SIGNATURE_ENTRIES,
};
pub use verify::{
    unverified_expiry, Claims, JwtHeader, TokenPart, TokenValidator, VerifiedToken, VerifyError,
    DEFAULT_LEEWAY,
};
/// The rules and names this crate shares with the rest of the workspace, defined once in
/// `webpubsub-protocol`.
pub use webpubsub_protocol::{roles::Role, ClientProtocol, UnknownClientProtocol};
