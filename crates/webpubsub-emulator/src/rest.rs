//! The REST API of api-version 2024-12-01 (any api-version is accepted), with the service's
//! status codes and error bodies.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::{HeaderMap, Method};
use serde_json::json;
use webpubsub_auth::{client_access_token, AccessKey, ClientAccessTokenOptions, Endpoint, Role};
use webpubsub_protocol::encoding::percent_encode;
use webpubsub_protocol::frames::MessageSource;
use webpubsub_protocol::rest::{
    GenerateClientToken, GroupsFilterBody, IncomingRequest, ListConnectionsInGroup, RestRequest,
    RouteError,
};

use crate::reply::{error, json_reply, status, Reply};
use crate::state::{Publish, Scope, State};
use crate::tokens::Verifier;

/// What a REST handler needs.
pub(crate) struct RestContext {
    pub(crate) state: Arc<State>,
    pub(crate) verifier: Verifier,
    pub(crate) key: AccessKey,
}

/// A failed REST call, turned into the service's error reply at the edge.
pub(crate) struct RestError {
    status: u16,
    code: &'static str,
    message: String,
}

impl RestError {
    fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    fn into_reply(self) -> Reply {
        error(self.status, self.code, self.message)
    }
}

fn bad_request(message: impl Into<String>) -> RestError {
    RestError::new(400, "Error.BadRequest", message)
}

/// A parsed REST request.
pub(crate) struct HttpCall<'a> {
    pub(crate) method: &'a Method,
    pub(crate) host: &'a str,
    pub(crate) path: &'a str,
    pub(crate) query: Option<&'a str>,
    pub(crate) headers: &'a HeaderMap,
    pub(crate) body: Bytes,
}

/// Handles `/api/...`.
pub(crate) fn handle(ctx: &RestContext, request: HttpCall<'_>) -> Reply {
    // Container health probes carry no token.
    if request.path == "/api/health" && matches!(*request.method, Method::HEAD | Method::GET) {
        return status(200);
    }
    let bearer = request
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        });
    let path_and_query = match request.query {
        Some(q) => format!("{}?{q}", request.path),
        None => request.path.to_owned(),
    };
    let Some(token) = bearer else {
        return error(
            401,
            "Error.Unauthorized",
            "an Authorization: Bearer token is required",
        );
    };
    if let Err(e) = ctx.verifier.rest(token, request.host, &path_and_query) {
        return error(401, "Error.Unauthorized", e.to_string());
    }
    let content_type = request
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok());
    let parsed = RestRequest::parse(IncomingRequest {
        method: request.method,
        path: request.path,
        query: request.query,
        content_type,
        body: request.body.clone(),
    });
    match parsed {
        Ok(parsed) => {
            let hub = parsed.hub.unwrap_or_default();
            serve(ctx, request.host, &hub, parsed.request).unwrap_or_else(RestError::into_reply)
        }
        Err(e) => route_error(&e).into_reply(),
    }
}

/// The service's answer to a request the operation table refused.
fn route_error(e: &RouteError) -> RestError {
    let code = match e {
        RouteError::NotFound | RouteError::MethodNotAllowed => "Error.NotFound",
        RouteError::UnsupportedMediaType => "Error.UnsupportedMediaType",
        RouteError::PayloadTooLarge => "Error.PayloadTooLarge",
        _ => "Error.BadRequest",
    };
    RestError::new(e.status().as_u16(), code, e.to_string())
}

/// Serves one parsed operation.
fn serve(
    ctx: &RestContext,
    host: &str,
    hub: &str,
    request: RestRequest,
) -> Result<Reply, RestError> {
    let state = &ctx.state;
    let reason = |reason: Option<String>| reason.unwrap_or_else(|| "ClosedByAppServer".to_owned());
    let group_source = |group: &str| MessageSource::Group {
        group: group.to_owned(),
        from_user_id: None,
    };
    match request {
        RestRequest::GetServiceStatus(_) => Ok(status(200)),
        RestRequest::SendToAll(send) => Ok(deliver(
            state,
            hub,
            Publish {
                scope: Scope::All,
                excluded: &send.excluded,
                filter: send.filter.as_ref(),
                source: &MessageSource::Server,
                message: &send.message,
                ttl_seconds: send.message_ttl_seconds,
            },
        )),
        RestRequest::SendToUser(send) => Ok(deliver(
            state,
            hub,
            Publish {
                scope: Scope::User(&send.user_id),
                excluded: &[],
                filter: send.filter.as_ref(),
                source: &MessageSource::Server,
                message: &send.message,
                ttl_seconds: send.message_ttl_seconds,
            },
        )),
        RestRequest::SendToGroup(send) => Ok(deliver(
            state,
            hub,
            Publish {
                scope: Scope::Group(&send.group),
                excluded: &send.excluded,
                filter: send.filter.as_ref(),
                source: &group_source(&send.group),
                message: &send.message,
                ttl_seconds: send.message_ttl_seconds,
            },
        )),
        RestRequest::SendToConnection(send) => Ok(deliver(
            state,
            hub,
            Publish {
                scope: Scope::Connection(&send.connection_id),
                excluded: &[],
                filter: None,
                source: &MessageSource::Server,
                message: &send.message,
                ttl_seconds: send.message_ttl_seconds,
            },
        )),
        RestRequest::CloseAllConnections(close) => Ok(close_scope(
            state,
            hub,
            Scope::All,
            &close.excluded,
            &reason(close.reason),
        )),
        RestRequest::CloseGroupConnections(close) => Ok(close_scope(
            state,
            hub,
            Scope::Group(&close.group),
            &close.excluded,
            &reason(close.reason),
        )),
        RestRequest::CloseUserConnections(close) => Ok(close_scope(
            state,
            hub,
            Scope::User(&close.user_id),
            &close.excluded,
            &reason(close.reason),
        )),
        RestRequest::CloseConnection(close) => Ok(close_scope(
            state,
            hub,
            Scope::Connection(&close.connection_id),
            &[],
            &reason(close.reason),
        )),
        RestRequest::ConnectionExists(e) => {
            Ok(exists(state.connection_exists(hub, &e.connection_id)))
        }
        RestRequest::GroupExists(e) => Ok(exists(state.group_exists(hub, &e.group))),
        RestRequest::UserExists(e) => Ok(exists(state.user_exists(hub, &e.user_id))),
        RestRequest::AddConnectionToGroup(add) => {
            if state.join(hub, &add.connection_id, &add.group) {
                Ok(status(200))
            } else {
                Err(not_existed(&add.connection_id))
            }
        }
        RestRequest::RemoveConnectionFromGroup(remove) => {
            state.leave(hub, &remove.connection_id, Some(&remove.group));
            Ok(status(204))
        }
        RestRequest::RemoveConnectionFromAllGroups(remove) => {
            state.leave(hub, &remove.connection_id, None);
            Ok(status(204))
        }
        RestRequest::AddUserToGroup(add) => {
            if state.add_user_to_group(hub, &add.user_id, &add.group) {
                Ok(status(200))
            } else {
                Err(RestError::new(
                    404,
                    "Warning.User.NotExisted",
                    format!("User `{}` has no connection.", add.user_id),
                ))
            }
        }
        RestRequest::RemoveUserFromGroup(remove) => {
            state.remove_user_from_group(hub, &remove.user_id, Some(&remove.group));
            Ok(status(204))
        }
        RestRequest::RemoveUserFromAllGroups(remove) => {
            state.remove_user_from_group(hub, &remove.user_id, None);
            Ok(status(204))
        }
        RestRequest::AddConnectionsToGroups(body) => {
            Ok(groups_by_filter(state, hub, &body.0, true))
        }
        RestRequest::RemoveConnectionsFromGroups(body) => {
            Ok(groups_by_filter(state, hub, &body.0, false))
        }
        RestRequest::GrantPermission(grant) => {
            let id = &grant.connection_id;
            if state.grant(hub, id, grant.permission, grant.target_name, true) {
                Ok(status(200))
            } else {
                Err(not_existed(id))
            }
        }
        RestRequest::RevokePermission(revoke) => {
            let id = &revoke.connection_id;
            if state.grant(hub, id, revoke.permission, revoke.target_name, false) {
                Ok(status(204))
            } else {
                Err(not_existed(id))
            }
        }
        RestRequest::CheckPermission(check) => Ok(
            match state.has_permission(
                hub,
                &check.connection_id,
                check.permission,
                check.target_name.as_deref(),
            ) {
                Some(has) => exists(has),
                None => status(404),
            },
        ),
        RestRequest::ListConnectionsInGroup(list_request) => list(state, host, hub, &list_request),
        RestRequest::GenerateClientToken(generate) => generate_token(ctx, host, hub, generate),
    }
}

fn exists(yes: bool) -> Reply {
    status(if yes { 200 } else { 404 })
}

fn not_existed(id: &str) -> RestError {
    RestError::new(
        404,
        "Error.Connection.NotExisted",
        format!("Connection `{id}` is not found."),
    )
}

fn deliver(state: &State, hub: &str, publish: Publish<'_>) -> Reply {
    state.publish(hub, &publish);
    status(202)
}

fn close_scope(
    state: &State,
    hub: &str,
    scope: Scope<'_>,
    excluded: &[String],
    reason: &str,
) -> Reply {
    state.close(hub, scope, excluded, reason);
    status(204)
}

fn groups_by_filter(state: &State, hub: &str, body: &GroupsFilterBody, add: bool) -> Reply {
    state.groups_by_filter(hub, &body.groups, body.filter.as_ref(), add);
    status(200)
}

fn list(
    state: &State,
    host: &str,
    hub: &str,
    request: &ListConnectionsInGroup,
) -> Result<Reply, RestError> {
    let page_size = u64::from(request.max_page_size.unwrap_or(100));
    let top = request.top.map(u64::from);
    let after = request.continuation_token.as_deref();
    let group = &request.group;
    let members: Vec<(String, Option<String>)> = state
        .members(hub, group)
        .into_iter()
        .filter(|(id, _)| after.is_none_or(|a| id.as_str() > a))
        .collect();
    let take = page_size.min(top.unwrap_or(u64::MAX)) as usize;
    let page = &members[..take.min(members.len())];
    let left_in_top = top.map(|t| t - page.len() as u64);
    let more = members.len() > page.len() && left_in_top != Some(0);
    let value: Vec<_> = page
        .iter()
        .map(|(id, user)| json!({"connectionId": id, "userId": user}))
        .collect();
    let mut body = json!({ "value": value });
    if let (true, Some((last, _))) = (more, page.last()) {
        let mut link = format!(
            "http://{host}/api/hubs/{}/groups/{}/connections?maxpagesize={page_size}&continuationToken={}",
            percent_encode(hub),
            percent_encode(group),
            percent_encode(last)
        );
        if let Some(t) = left_in_top {
            link.push_str(&format!("&top={t}"));
        }
        body["nextLink"] = json!(link);
    }
    Ok(json_reply(body))
}

fn generate_token(
    ctx: &RestContext,
    host: &str,
    hub: &str,
    request: GenerateClientToken,
) -> Result<Reply, RestError> {
    let endpoint =
        Endpoint::parse(&format!("http://{host}")).map_err(|e| bad_request(e.to_string()))?;
    let options = ClientAccessTokenOptions {
        user_id: request.user_id,
        roles: request.roles.into_iter().map(Role::from).collect(),
        groups: request.groups,
        expires_after: Duration::from_secs(u64::from(request.minutes_to_expire) * 60),
        protocol: request.client_type,
        ..Default::default()
    };
    let token = client_access_token(&endpoint, &ctx.key, hub, &options, SystemTime::now())
        .map_err(|e| bad_request(e.to_string()))?;
    Ok(json_reply(json!({ "token": token.token })))
}
