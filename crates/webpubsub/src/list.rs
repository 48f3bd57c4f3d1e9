//! `list_connections_in_group`: a stream that follows `nextLink`.

use std::collections::VecDeque;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::stream::{self, Stream, StreamExt as _};
use webpubsub_protocol::{
    parse_query, percent_encode, GroupMember, GroupMemberPage, HttpRequestParts,
    ListConnectionsInGroup, Method, Operation, OperationId,
};

use crate::client::WebPubSubServiceClient;
use crate::error::{Error, ErrorKind, Result};
use crate::pipeline::expect_success;

/// Options of [`WebPubSubServiceClient::list_connections_in_group`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListConnectionsOptions {
    /// The most connections to return in all (at least 1). Default all.
    pub top: Option<u32>,
    /// Connections per page, 1 to 200. Default: the service's.
    pub max_page_size: Option<u32>,
}

/// The connections of a group, fetched page by page; from
/// [`WebPubSubServiceClient::list_connections_in_group`]. A `Stream` (and `Unpin`, so
/// `try_next().await` works directly).
pub struct GroupMembers(Pin<Box<dyn Stream<Item = Result<GroupMember>> + Send + 'static>>);

impl Stream for GroupMembers {
    type Item = Result<GroupMember>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.as_mut().poll_next(cx)
    }
}

impl fmt::Debug for GroupMembers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GroupMembers").finish_non_exhaustive()
    }
}

struct Pager {
    client: WebPubSubServiceClient,
    next: Option<HttpRequestParts>,
    buffered: VecDeque<GroupMember>,
    remaining: Option<u32>,
}

impl WebPubSubServiceClient {
    /// The connections in a group, as a stream that fetches pages as it goes and follows
    /// `nextLink` (with this client's api-version put back, and only ever to this client's own
    /// endpoint: the token is never sent to a host named by a response).
    ///
    /// ```no_run
    /// # async fn demo(client: webpubsub::WebPubSubServiceClient) -> Result<(), webpubsub::Error> {
    /// use futures_util::TryStreamExt as _;
    ///
    /// let members: Vec<_> = client.list_connections_in_group("room-1", None).try_collect().await?;
    /// for member in members {
    ///     println!("{} ({:?})", member.connection_id, member.user_id);
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// Invalid options show up as the stream's first item, an [`ErrorKind::InvalidInput`] error.
    pub fn list_connections_in_group(
        &self,
        group: &str,
        options: Option<ListConnectionsOptions>,
    ) -> GroupMembers {
        let options = options.unwrap_or_default();
        let first = ListConnectionsInGroup {
            group: group.to_owned(),
            max_page_size: options.max_page_size,
            top: options.top,
            continuation_token: None,
        }
        .render(self.target())
        .map_err(Error::invalid_input);
        let (next, error) = match first {
            Ok(parts) => (Some(parts), None),
            Err(e) => (None, Some(e)),
        };
        let pager = Pager {
            client: self.clone(),
            next,
            buffered: VecDeque::new(),
            remaining: options.top,
        };
        let failed = stream::iter(error.map(Err));
        GroupMembers(Box::pin(failed.chain(stream::try_unfold(
            pager,
            |mut pager| async move {
                loop {
                    if pager.remaining == Some(0) {
                        return Ok(None);
                    }
                    if let Some(member) = pager.buffered.pop_front() {
                        if let Some(left) = pager.remaining.as_mut() {
                            *left -= 1;
                        }
                        return Ok(Some((member, pager)));
                    }
                    let Some(parts) = pager.next.take() else {
                        return Ok(None);
                    };
                    let response = expect_success(
                        pager
                            .client
                            .pipeline()
                            .send(parts, pager.client.hub())
                            .await?,
                    )?;
                    let page: GroupMemberPage =
                        serde_json::from_slice(response.body()).map_err(|e| {
                            Error::new(
                                ErrorKind::Decode,
                                "the group member page is not {\"value\": [...]}",
                            )
                            .with_source(e)
                        })?;
                    pager.buffered.extend(page.value);
                    pager.next = match page.next_link.filter(|l| !l.is_empty()) {
                        Some(link) => Some(next_page(&pager.client, &link)?),
                        None => None,
                    };
                }
            },
        ))))
    }
}

/// The request for a `nextLink`: its path and query on this client's endpoint, with this client's
/// api-version replacing any the link carries.
fn next_page(client: &WebPubSubServiceClient, link: &str) -> Result<HttpRequestParts> {
    let uri: http::Uri = link
        .parse()
        .map_err(|e| Error::new(ErrorKind::Decode, "the nextLink is not a URL").with_source(e))?;
    let mut query: Vec<(String, String)> = parse_query(uri.query().unwrap_or(""))
        .into_iter()
        .filter(|(key, _)| !key.eq_ignore_ascii_case("api-version"))
        .collect();
    query.push(("api-version".to_owned(), client.api_version().to_owned()));
    let encoded: Vec<String> = query
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect();
    let url = format!(
        "{}{}?{}",
        client.endpoint().as_str(),
        uri.path(),
        encoded.join("&")
    );
    Ok(HttpRequestParts::new(
        OperationId::ListConnectionsInGroup,
        Method::Get,
        url,
        client.endpoint().as_str().len(),
    ))
}
