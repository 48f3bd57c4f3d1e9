//! `list_connections_in_group`: a stream that follows `nextLink`.

use std::collections::VecDeque;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::stream::{self, Stream};
use webpubsub_protocol::encoding::parse_query;
use webpubsub_protocol::rest::{GroupMember, GroupMemberPage, ListConnectionsInGroup, Operation};

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
    /// Resume after an earlier page: its [`Page::continuation_token`]. Default: from the start.
    pub continuation_token: Option<String>,
}

/// One page of a group's connections, from [`GroupMembers::by_page`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// The connections on this page.
    pub members: Vec<GroupMember>,
    /// Where the next page starts: pass it as [`ListConnectionsOptions::continuation_token`] to
    /// resume later (in another process, say). `None` on the last page.
    pub continuation_token: Option<String>,
}

/// The connections of a group, fetched page by page; from
/// [`WebPubSubServiceClient::list_connections_in_group`]. A `Stream` of members (and `Unpin`, so
/// `try_next().await` works directly), or of whole pages with [`GroupMembers::by_page`].
pub struct GroupMembers {
    pages: Pages,
    buffered: VecDeque<GroupMember>,
    /// `top`, counted down here too, in case a server does not.
    remaining: Option<u32>,
}

type Pages = Pin<Box<dyn Stream<Item = Result<Page>> + Send + 'static>>;

impl GroupMembers {
    /// The pages instead of the members, each with the continuation token that resumes after it
    /// (as the Python SDK's `by_page`).
    ///
    /// ```no_run
    /// # async fn demo(client: webpubsub::WebPubSubServiceClient) -> Result<(), webpubsub::Error> {
    /// use futures_util::TryStreamExt as _;
    /// use webpubsub::ListConnectionsOptions;
    ///
    /// let options = ListConnectionsOptions { max_page_size: Some(100), ..Default::default() };
    /// let mut pages = client.list_connections_in_group("room-1", Some(options)).by_page();
    /// if let Some(page) = pages.try_next().await? {
    ///     println!("{} members, resume with {:?}", page.members.len(), page.continuation_token);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn by_page(self) -> impl Stream<Item = Result<Page>> + Send + Unpin + 'static {
        self.pages
    }
}

impl Stream for GroupMembers {
    type Item = Result<GroupMember>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        // Members are drained page by page; `buffered` holds the rest of the current page.
        loop {
            if this.remaining == Some(0) {
                return Poll::Ready(None);
            }
            if let Some(member) = this.buffered.pop_front() {
                if let Some(left) = this.remaining.as_mut() {
                    *left -= 1;
                }
                return Poll::Ready(Some(Ok(member)));
            }
            match this.pages.as_mut().poll_next(cx) {
                Poll::Ready(Some(Ok(page))) => this.buffered.extend(page.members),
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

impl fmt::Debug for GroupMembers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GroupMembers").finish_non_exhaustive()
    }
}

/// Where the pager is: the request of the next page, or done.
struct Pager {
    client: WebPubSubServiceClient,
    next: Option<ListConnectionsInGroup>,
}

impl WebPubSubServiceClient {
    /// The connections in a group, as a stream that fetches pages as it goes. Each next page is
    /// the same typed request with the `nextLink`'s `continuationToken` and `top` (the link is
    /// never used as a URL: the request goes to this client's endpoint or proxy, with its
    /// api-version, and the token is never sent to a host named by a response).
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
        let remaining = options.top;
        let first = ListConnectionsInGroup {
            group: group.to_owned(),
            max_page_size: options.max_page_size,
            top: options.top,
            continuation_token: options.continuation_token,
        };
        let pager = Pager {
            client: self.clone(),
            next: Some(first),
        };
        let pages = stream::try_unfold(pager, |mut pager| async move {
            let Some(request) = pager.next.take() else {
                return Ok(None);
            };
            let parts = request
                .render(pager.client.target())
                .map_err(Error::invalid_input)?;
            let answer = pager
                .client
                .pipeline()
                .send(parts, pager.client.hub())
                .await?;
            let response = expect_success(answer)?;
            let page: GroupMemberPage = serde_json::from_slice(response.body()).map_err(|e| {
                Error::new(
                    ErrorKind::Decode,
                    "the group member page is not {\"value\": [...]}",
                )
                .with_source(e)
            })?;
            pager.next = page
                .next_link
                .as_deref()
                .filter(|link| !link.is_empty())
                .and_then(|link| next_request(&request, link));
            let continuation_token = pager
                .next
                .as_ref()
                .and_then(|next| next.continuation_token.clone());
            let page = Page {
                members: page.value,
                continuation_token,
            };
            Ok(Some((page, pager)))
        });
        GroupMembers {
            pages: Box::pin(pages),
            buffered: VecDeque::new(),
            remaining,
        }
    }
}

/// The request for a `nextLink`: the same request with the link's `continuationToken`, `top` and
/// `maxpagesize`. `None` when the link has no continuation token (nothing to resume from).
fn next_request(previous: &ListConnectionsInGroup, link: &str) -> Option<ListConnectionsInGroup> {
    let query = link.split_once('?').map_or("", |(_, q)| q);
    let pairs = parse_query(query);
    let find = |key: &str| {
        pairs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.clone())
    };
    let number = |key: &str| find(key).and_then(|v| v.parse().ok());
    Some(ListConnectionsInGroup {
        group: previous.group.clone(),
        continuation_token: Some(find("continuationToken")?),
        top: number("top").or(previous.top),
        max_page_size: number("maxpagesize").or(previous.max_page_size),
    })
}
