//! Lingering reads: a request answered before its body was read (a 401, 403
//! or 413 decided from the head) has the rest of its body read and thrown
//! away, up to a bound, so the client gets to read the answer.
//!
//! Without it the server closes a connection whose client is still
//! sending; the client's next write meets a reset and it sees "broken pipe"
//! instead of the answer that says what to do. Web servers call this a
//! lingering close (nginx's `lingering_time`). The bound keeps what a client
//! can make the server read for nothing to [`LINGER_BYTES`] and
//! [`LINGER_TIME`] per request.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Bytes;
use http_body::{Body as _, Frame, SizeHint};
use hyper::body::Incoming;

/// The most bytes of an unread body read and thrown away.
pub(crate) const LINGER_BYTES: u64 = 8 * 1024 * 1024;

/// The longest an unread body is read and thrown away.
pub(crate) const LINGER_TIME: Duration = Duration::from_secs(5);

/// A request body that, dropped before its end, is read to its end (within
/// the bounds) by a task of its own, so its connection can answer.
pub(crate) struct Lingering {
    body: Option<Incoming>,
    ended: bool,
}

impl Lingering {
    /// Wraps the body hyper read from the connection.
    pub(crate) fn new(body: Incoming) -> Lingering {
        Lingering {
            body: Some(body),
            ended: false,
        }
    }
}

impl http_body::Body for Lingering {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let Some(body) = self.body.as_mut() else {
            return Poll::Ready(None);
        };
        let polled = Pin::new(body).poll_frame(cx);
        if matches!(polled, Poll::Ready(None | Some(Err(_)))) {
            self.ended = true;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.ended || self.body.as_ref().is_none_or(Incoming::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.body
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), Incoming::size_hint)
    }
}

impl Drop for Lingering {
    fn drop(&mut self) {
        let Some(body) = self.body.take() else {
            return;
        };
        if self.ended || body.is_end_stream() {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let _ = tokio::time::timeout(LINGER_TIME, discard(body, LINGER_BYTES)).await;
            });
        }
    }
}

/// Reads `body` and throws it away, up to `most` bytes.
async fn discard(mut body: Incoming, most: u64) {
    let mut read = 0u64;
    while read < most {
        match std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
            Some(Ok(frame)) => read += frame.data_ref().map_or(0, |d| d.len() as u64),
            Some(Err(_)) | None => return,
        }
    }
}
