//! The REST API of api-version 2024-12-01 (any api-version is accepted), with the service's
//! status codes and error bodies.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::{HeaderMap, Method, Response, StatusCode};
use http_body_util::Full;
use serde_json::json;
use webpubsub_auth::{client_access_token, AccessKey, ClientAccessTokenOptions, Endpoint, Role};
use webpubsub_protocol::encoding::percent_encode;
use webpubsub_protocol::filter::Filter;
use webpubsub_protocol::frames::MessageSource;
use webpubsub_protocol::rest::{
    GenerateClientToken, GroupsFilterBody, IncomingRequest, ListConnectionsInGroup, RestRequest,
    RouteError,
};
use webpubsub_protocol::Payload;

use crate::state::{Scope, State};
use crate::tokens::Verifier;

pub(crate) type Reply = Response<Full<Bytes>>;

/// What a REST handler needs.
pub(crate) struct RestContext {
    pub(crate) state: Arc<State>,
    pub(crate) verifier: Verifier,
    pub(crate) key: AccessKey,
}

pub(crate) fn status(code: u16) -> Reply {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() =
        StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response
}

/// The service's error shape: `{code, message}` body and `x-ms-error-code`.
pub(crate) fn error(code: u16, error_code: &str, message: impl Into<String>) -> Reply {
    let body = json!({"code": error_code, "message": message.into()}).to_string();
    let mut response = status(code);
    *response.body_mut() = Full::new(Bytes::from(body));
    let headers = response.headers_mut();
    headers.insert(
        "content-type",
        http::HeaderValue::from_static("application/json"),
    );
    if let Ok(value) = http::HeaderValue::from_str(error_code) {
        headers.insert("x-ms-error-code", value);
    }
    response
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

fn json_reply(value: serde_json::Value) -> Reply {
    let mut response = status(200);
    *response.body_mut() = Full::new(Bytes::from(value.to_string()));
    response.headers_mut().insert(
        "content-type",
        http::HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
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
        RestRequest::SendToAll(send) => {
            state.broadcast(hub, &send.excluded, send.filter.as_ref(), &send.message);
            Ok(status(202))
        }
        RestRequest::SendToUser(send) => Ok(deliver(
            state,
            hub,
            Scope::User(&send.user_id),
            &[],
            send.filter.as_ref(),
            &MessageSource::Server,
            &send.message,
        )),
        RestRequest::SendToGroup(send) => Ok(deliver(
            state,
            hub,
            Scope::Group(&send.group),
            &send.excluded,
            send.filter.as_ref(),
            &group_source(&send.group),
            &send.message,
        )),
        RestRequest::SendToConnection(send) => Ok(deliver(
            state,
            hub,
            Scope::Connection(&send.connection_id),
            &[],
            None,
            &MessageSource::Server,
            &send.message,
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
            state.user_group(hub, &add.user_id, Some(&add.group), true);
            Ok(status(200))
        }
        RestRequest::RemoveUserFromGroup(remove) => {
            state.user_group(hub, &remove.user_id, Some(&remove.group), false);
            Ok(status(204))
        }
        RestRequest::RemoveUserFromAllGroups(remove) => {
            state.user_group(hub, &remove.user_id, None, false);
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

fn deliver(
    state: &State,
    hub: &str,
    scope: Scope<'_>,
    excluded: &[String],
    filter: Option<&Filter>,
    source: &MessageSource,
    message: &Payload,
) -> Reply {
    let ids = state.select(hub, &scope, excluded, filter);
    state.deliver(hub, &ids, source, message, None);
    status(202)
}

fn close_scope(
    state: &State,
    hub: &str,
    scope: Scope<'_>,
    excluded: &[String],
    reason: &str,
) -> Reply {
    let ids = state.select(hub, &scope, excluded, None);
    state.close(hub, &ids, reason);
    status(204)
}

fn groups_by_filter(state: &State, hub: &str, body: &GroupsFilterBody, add: bool) -> Reply {
    for id in state.select(hub, &Scope::All, &[], body.filter.as_ref()) {
        for group in &body.groups {
            if add {
                state.join(hub, &id, group);
            } else {
                state.leave(hub, &id, Some(group));
            }
        }
    }
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
