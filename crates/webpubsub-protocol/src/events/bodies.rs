//! The JSON bodies of system events and of their answers.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use super::mqtt::{
    MqttConnectProperties, MqttConnectResponseProperties, MqttDisconnectedProperties,
    MqttUserProperty,
};

/// A client certificate presented at connect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientCertificate {
    /// The thumbprint.
    #[serde(default)]
    pub thumbprint: String,
    /// The PEM content.
    #[serde(default)]
    pub content: String,
}

/// The body of a `connect` event.
///
/// ```
/// use webpubsub_protocol::events::ConnectEventRequest;
///
/// let body = r#"{"claims":{"sub":["user1"]},"query":{"id":["aaa"]},"headers":{"User-Agent":["x"]},
///               "subprotocols":["json.webpubsub.azure.v1"],"clientCertificates":[]}"#;
/// let connect: ConnectEventRequest = serde_json::from_str(body)?;
/// assert_eq!(connect.claims["sub"], ["user1"]);
/// assert_eq!(connect.subprotocols, ["json.webpubsub.azure.v1"]);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectEventRequest {
    /// The token's claims, each as a list of strings.
    #[serde(default, deserialize_with = "string_or_list_map")]
    pub claims: BTreeMap<String, Vec<String>>,
    /// The connect URL's query (without `access_token`).
    #[serde(default, alias = "queries", deserialize_with = "string_or_list_map")]
    pub query: BTreeMap<String, Vec<String>>,
    /// The upgrade request's headers (without `Authorization`).
    #[serde(default, deserialize_with = "string_or_list_map")]
    pub headers: BTreeMap<String, Vec<String>>,
    /// The subprotocols the client offered.
    #[serde(default)]
    pub subprotocols: Vec<String>,
    /// Client certificates.
    #[serde(default)]
    pub client_certificates: Vec<ClientCertificate>,
    /// The MQTT CONNECT packet's fields (MQTT clients only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mqtt: Option<MqttConnectProperties>,
}

/// The answer accepting a `connect`: overrides for the connection (`None`: keep what the token
/// says). Empty, it is sent as `204`; otherwise as a `200` JSON body.
///
/// ```
/// use webpubsub_protocol::events::ConnectEventResponse;
///
/// let response = ConnectEventResponse::default().with_user_id("alice").with_groups(["room"]);
/// assert_eq!(serde_json::to_string(&response)?, r#"{"userId":"alice","groups":["room"]}"#);
/// assert!(ConnectEventResponse::default().is_empty());
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectEventResponse {
    /// The user id to use instead of the token's `sub`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Groups to join.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<String>>,
    /// Roles to grant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    /// The subprotocol to answer the upgrade with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subprotocol: Option<String>,
    /// MQTT CONNACK properties (MQTT clients only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mqtt: Option<MqttConnectResponseProperties>,
}

impl ConnectEventResponse {
    /// Use this user id instead of the token's.
    pub fn with_user_id(mut self, user_id: impl Into<String>) -> Self {
        self.user_id = Some(user_id.into());
        self
    }

    /// Join these groups.
    pub fn with_groups<S: Into<String>>(mut self, groups: impl IntoIterator<Item = S>) -> Self {
        self.groups = Some(groups.into_iter().map(Into::into).collect());
        self
    }

    /// Grant these roles.
    pub fn with_roles<S: Into<String>>(mut self, roles: impl IntoIterator<Item = S>) -> Self {
        self.roles = Some(roles.into_iter().map(Into::into).collect());
        self
    }

    /// Answer the upgrade with this subprotocol (one the client offered).
    pub fn with_subprotocol(mut self, subprotocol: impl Into<String>) -> Self {
        self.subprotocol = Some(subprotocol.into());
        self
    }

    /// Send these MQTT 5 user properties in the CONNACK.
    pub fn with_mqtt_user_properties(
        mut self,
        user_properties: impl IntoIterator<Item = MqttUserProperty>,
    ) -> Self {
        self.mqtt = Some(MqttConnectResponseProperties {
            user_properties: user_properties.into_iter().collect(),
        });
        self
    }

    /// No overrides at all (answered `204`).
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }
}

/// The body of a `disconnected` event.
///
/// ```
/// use webpubsub_protocol::events::DisconnectedEventRequest;
///
/// let body = r#"{"reason":"bye","mqtt":{"disconnectPacket":{"code":0},"initiatedByClient":true}}"#;
/// let event: DisconnectedEventRequest = serde_json::from_str(body)?;
/// assert_eq!(event.reason.as_deref(), Some("bye"));
/// assert!(event.mqtt.is_some_and(|m| m.initiated_by_client && m.disconnect_packet.code == 0));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DisconnectedEventRequest {
    /// Why the connection ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The MQTT DISCONNECT packet and who ended the session (MQTT clients only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mqtt: Option<MqttDisconnectedProperties>,
}

/// The body of a group `joined` or `left` event.
///
/// ```
/// use webpubsub_protocol::events::GroupEventRequest;
///
/// let event: GroupEventRequest = serde_json::from_str(r#"{"group":"room"}"#)?;
/// assert_eq!(event.group, "room");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct GroupEventRequest {
    /// The group.
    pub group: String,
}

/// Values that may be one string or an array of strings (the service sends arrays).
fn string_or_list_map<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<BTreeMap<String, Vec<String>>, D::Error> {
    let raw = Option::<BTreeMap<String, Value>>::deserialize(deserializer)?.unwrap_or_default();
    Ok(raw
        .into_iter()
        .map(|(key, value)| {
            let values = match value {
                Value::Array(items) => items
                    .into_iter()
                    .map(|v| match v {
                        Value::String(s) => s,
                        other => other.to_string(),
                    })
                    .collect(),
                Value::String(s) => vec![s],
                Value::Null => Vec::new(),
                other => vec![other.to_string()],
            };
            (key, values)
        })
        .collect())
}
