//! The REST API of api-version 2024-12-01 (any api-version is accepted), with the service's
//! status codes and error bodies.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::{HeaderMap, Method, Response, StatusCode};
use http_body_util::Full;
use serde_json::json;
use webpubsub_auth::{
    client_access_token, AccessKey, ClientProtocol, ClientTokenOptions, Endpoint, Role,
};
use webpubsub_protocol::{
    parse_query, percent_decode, percent_encode, validate_group, validate_hub,
    validate_message_ttl, ContentType, Filter, GroupsFilterBody, Message, MessageSource,
    Permission, MAX_MESSAGE_BYTES,
};

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
pub(crate) struct RestRequest<'a> {
    pub(crate) method: &'a Method,
    pub(crate) host: &'a str,
    pub(crate) path: &'a str,
    pub(crate) query: Option<&'a str>,
    pub(crate) headers: &'a HeaderMap,
    pub(crate) body: Bytes,
}

struct Query(Vec<(String, String)>);

impl Query {
    fn one(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }

    fn all(&self, key: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.clone())
            .collect()
    }

    fn number(&self, key: &str) -> Result<Option<u64>, RestError> {
        match self.one(key) {
            None => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|_| bad_request(format!("`{key}` must be a whole number"))),
        }
    }
}

/// Handles `/api/...`.
pub(crate) fn handle(ctx: &RestContext, request: RestRequest<'_>) -> Reply {
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
    let segments: Option<Vec<String>> = request
        .path
        .trim_start_matches('/')
        .split('/')
        .map(|s| percent_decode(s, false))
        .collect();
    let Some(segments) = segments else {
        return bad_request("the path is not valid percent-encoded UTF-8").into_reply();
    };
    let query = Query(parse_query(request.query.unwrap_or("")));
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    route(ctx, &request, &segments, &query).unwrap_or_else(RestError::into_reply)
}

fn route(
    ctx: &RestContext,
    request: &RestRequest<'_>,
    segments: &[&str],
    query: &Query,
) -> Result<Reply, RestError> {
    let method = request.method;
    let (hub, rest) = match segments {
        ["api", "health"] if method == Method::HEAD || method == Method::GET => {
            return Ok(status(200))
        }
        ["api", "hubs", hub, rest @ ..] => (*hub, rest),
        _ => return Err(RestError::new(404, "Error.NotFound", "no such operation")),
    };
    validate_hub(hub).map_err(|e| bad_request(e.to_string()))?;
    let state = &ctx.state;
    let excluded = query.all("excluded");
    let reason = query
        .one("reason")
        .unwrap_or("ClosedByAppServer")
        .to_owned();
    let m = method.as_str();
    match (m, rest) {
        ("POST", [":send"]) => send(ctx, request, query, hub, Scope::All, &excluded),
        ("POST", ["users", user, ":send"]) => {
            send(ctx, request, query, hub, Scope::User(user), &[])
        }
        ("POST", ["groups", group, ":send"]) => {
            check_group(group)?;
            send(ctx, request, query, hub, Scope::Group(group), &excluded)
        }
        ("POST", ["connections", id, ":send"]) => {
            send(ctx, request, query, hub, Scope::Connection(id), &[])
        }
        ("POST", [":closeConnections"]) => close(state, hub, Scope::All, &excluded, &reason),
        ("POST", ["groups", group, ":closeConnections"]) => {
            close(state, hub, Scope::Group(group), &excluded, &reason)
        }
        ("POST", ["users", user, ":closeConnections"]) => {
            close(state, hub, Scope::User(user), &excluded, &reason)
        }
        ("DELETE", ["connections", id]) => close(state, hub, Scope::Connection(id), &[], &reason),
        ("HEAD", ["connections", id]) => Ok(exists(state.connection_exists(hub, id))),
        ("HEAD", ["groups", group]) => Ok(exists(state.group_exists(hub, group))),
        ("HEAD", ["users", user]) => Ok(exists(state.user_exists(hub, user))),
        ("PUT", ["groups", group, "connections", id]) => {
            check_group(group)?;
            if state.join(hub, id, group) {
                Ok(status(200))
            } else {
                Err(not_existed(id))
            }
        }
        ("DELETE", ["groups", group, "connections", id]) => {
            state.leave(hub, id, Some(group));
            Ok(status(204))
        }
        ("DELETE", ["connections", id, "groups"]) => {
            state.leave(hub, id, None);
            Ok(status(204))
        }
        ("PUT", ["users", user, "groups", group]) => {
            check_group(group)?;
            state.user_group(hub, user, Some(group), true);
            Ok(status(200))
        }
        ("DELETE", ["users", user, "groups", group]) => {
            state.user_group(hub, user, Some(group), false);
            Ok(status(204))
        }
        ("DELETE", ["users", user, "groups"]) => {
            state.user_group(hub, user, None, false);
            Ok(status(204))
        }
        ("POST", [action @ (":addToGroups" | ":removeFromGroups")]) => {
            groups_by_filter(state, hub, &request.body, *action == ":addToGroups")
        }
        (m @ ("PUT" | "DELETE" | "HEAD"), ["permissions", permission, "connections", id]) => {
            let permission =
                Permission::parse(permission).map_err(|e| bad_request(e.to_string()))?;
            let target = query.one("targetName").map(str::to_owned);
            if let Some(group) = &target {
                check_group(group)?;
            }
            match m {
                "HEAD" => match state.has_permission(hub, id, permission, target.as_deref()) {
                    Some(has) => Ok(exists(has)),
                    None => Ok(status(404)),
                },
                _ if state.grant(hub, id, permission, target, m == "PUT") => {
                    Ok(status(if m == "PUT" { 200 } else { 204 }))
                }
                _ => Err(not_existed(id)),
            }
        }
        ("GET", ["groups", group, "connections"]) => {
            check_group(group)?;
            list(state, request.host, hub, group, query)
        }
        ("POST", [":generateToken"]) => generate_token(ctx, request.host, hub, query),
        _ => Err(RestError::new(
            404,
            "Error.NotFound",
            format!("no operation {m} {}", request.path),
        )),
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

fn check_group(group: &str) -> Result<(), RestError> {
    validate_group(group).map_err(|e| bad_request(e.to_string()))
}

fn parse_filter(text: Option<&str>) -> Result<Option<Filter>, RestError> {
    match text {
        None => Ok(None),
        Some(text) => Filter::parse(text).map(Some).map_err(|e| {
            RestError::new(
                400,
                "Error.BadRequest",
                format!("Invalid syntax for '{text}': {e}"),
            )
        }),
    }
}

fn send(
    ctx: &RestContext,
    request: &RestRequest<'_>,
    query: &Query,
    hub: &str,
    scope: Scope<'_>,
    excluded: &[String],
) -> Result<Reply, RestError> {
    if let Some(ttl) = query.number("messageTtlSeconds")? {
        let ttl = u32::try_from(ttl).unwrap_or(u32::MAX);
        validate_message_ttl(ttl).map_err(|e| bad_request(e.to_string()))?;
    }
    let filter = parse_filter(query.one("filter"))?;
    let content_type = request
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .and_then(ContentType::from_header)
        .ok_or_else(|| {
            RestError::new(
                415,
                "Error.UnsupportedMediaType",
                "Content-Type must be application/json, text/plain or application/octet-stream",
            )
        })?;
    if request.body.len() > MAX_MESSAGE_BYTES {
        return Err(RestError::new(
            413,
            "Error.PayloadTooLarge",
            "the message is larger than 1 MiB",
        ));
    }
    let source = match scope {
        Scope::Group(group) => MessageSource::Group {
            group: group.to_owned(),
            from_user_id: None,
        },
        _ => MessageSource::Server,
    };
    let message = match content_type {
        ContentType::Json => Message::json_raw(request.body.clone())
            .map_err(|_| bad_request("the body is not valid JSON"))?,
        ContentType::Text => Message::text(String::from_utf8_lossy(&request.body).into_owned()),
        ContentType::Binary => Message::binary(request.body.clone()),
    };
    match scope {
        Scope::All => ctx
            .state
            .broadcast(hub, excluded, filter.as_ref(), &message),
        scope => {
            let ids = ctx.state.select(hub, &scope, excluded, filter.as_ref());
            ctx.state.deliver(hub, &ids, &source, &message, None);
        }
    }
    Ok(status(202))
}

fn close(
    state: &State,
    hub: &str,
    scope: Scope<'_>,
    excluded: &[String],
    reason: &str,
) -> Result<Reply, RestError> {
    let ids = state.select(hub, &scope, excluded, None);
    state.close(hub, &ids, reason);
    Ok(status(204))
}

fn groups_by_filter(state: &State, hub: &str, body: &Bytes, add: bool) -> Result<Reply, RestError> {
    let body: GroupsFilterBody =
        serde_json::from_slice(body).map_err(|e| bad_request(format!("invalid body: {e}")))?;
    if body.groups.is_empty() {
        return Err(bad_request("`groups` must not be empty"));
    }
    for group in &body.groups {
        check_group(group)?;
    }
    let filter = parse_filter(body.filter.as_deref())?;
    for id in state.select(hub, &Scope::All, &[], filter.as_ref()) {
        for group in &body.groups {
            if add {
                state.join(hub, &id, group);
            } else {
                state.leave(hub, &id, Some(group));
            }
        }
    }
    Ok(status(200))
}

fn list(
    state: &State,
    host: &str,
    hub: &str,
    group: &str,
    query: &Query,
) -> Result<Reply, RestError> {
    let page_size = query.number("maxpagesize")?.unwrap_or(100);
    if !(1..=200).contains(&page_size) {
        return Err(bad_request("`maxpagesize` must be from 1 to 200"));
    }
    let top = query.number("top")?;
    if top == Some(0) {
        return Err(bad_request("`top` must be at least 1"));
    }
    let after = query.one("continuationToken");
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
    if more {
        let last = &page[page.len() - 1].0;
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
    query: &Query,
) -> Result<Reply, RestError> {
    let minutes = query.number("minutesToExpire")?.unwrap_or(60);
    if minutes < 1 {
        return Err(bad_request("`minutesToExpire` must be at least 1"));
    }
    let protocol = match query
        .one("clientType")
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("default") => ClientProtocol::Default,
        Some("mqtt") => ClientProtocol::Mqtt,
        Some("socketio") => ClientProtocol::SocketIo,
        Some(_) => {
            return Err(bad_request(
                "`clientType` must be Default, MQTT or SocketIO",
            ))
        }
    };
    let endpoint =
        Endpoint::parse(&format!("http://{host}")).map_err(|e| bad_request(e.to_string()))?;
    let options = ClientTokenOptions {
        user_id: query.one("userId").map(str::to_owned),
        roles: query.all("role").into_iter().map(Role::from).collect(),
        groups: query.all("group"),
        expires_after: Duration::from_secs(minutes.saturating_mul(60)),
        protocol,
        ..Default::default()
    };
    let token = client_access_token(&endpoint, &ctx.key, hub, &options, SystemTime::now())
        .map_err(|e| bad_request(e.to_string()))?;
    Ok(json_reply(json!({ "token": token.token })))
}
