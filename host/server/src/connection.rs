//! One client connection: the time limits hyper does not give.
//!
//! - **Idle** ([`Activity::idle_for`]): a connection with no request in
//!   flight (just opened, or kept alive after its last answer) must bring a
//!   complete request head within `header_read_seconds`, HTTP/1 or HTTP/2
//!   alike, whatever bytes it dribbles meanwhile; otherwise it is closed.
//!   hyper's HTTP/1 header timer only starts at the first byte, and HTTP/2
//!   has none: without this, silent or pinging connections would hold their
//!   places for ever.
//! - **Write stall** ([`Watched`]): an answer that cannot be written because
//!   the client reads nothing, while it sends nothing either, fails after
//!   `write_stall_seconds`. The conversion writing it then stops and frees
//!   its slot. A client still sending its upload is not stalled: it is busy,
//!   and reads its answer afterwards.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// What a connection is doing, shared by its socket, its service and its
/// idle watch.
#[derive(Debug)]
pub(crate) struct Activity {
    opened: Instant,
    /// Requests whose answer is not fully written yet.
    in_flight: AtomicUsize,
    /// Milliseconds after `opened` when the last request ended (or 0).
    idle_since: AtomicU64,
    /// Milliseconds after `opened` when bytes last moved either way.
    moved_at: AtomicU64,
    /// Asked to close (see [`CloseConnection`]).
    close: tokio::sync::Notify,
}

impl Activity {
    /// A just opened connection: idle.
    pub(crate) fn new() -> Arc<Activity> {
        Arc::new(Activity {
            opened: Instant::now(),
            in_flight: AtomicUsize::new(0),
            idle_since: AtomicU64::new(0),
            moved_at: AtomicU64::new(0),
            close: tokio::sync::Notify::new(),
        })
    }

    fn now_millis(&self) -> u64 {
        self.opened.elapsed().as_millis() as u64
    }

    fn at(&self, millis: u64) -> Instant {
        self.opened + Duration::from_millis(millis)
    }

    /// Marks a request as begun; the guard ends it when dropped.
    pub(crate) fn begin(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        InFlight(self.clone())
    }

    /// Completes when a handler asked for the connection to be closed.
    pub(crate) async fn close_requested(&self) {
        self.close.notified().await;
    }

    /// Completes when the connection has been without a request in flight
    /// for `limit`.
    pub(crate) async fn idle_for(&self, limit: Duration) {
        loop {
            let deadline = if self.in_flight.load(Ordering::SeqCst) == 0 {
                self.at(self.idle_since.load(Ordering::SeqCst)) + limit
            } else {
                Instant::now() + limit
            };
            if deadline <= Instant::now() {
                return;
            }
            tokio::time::sleep_until(deadline).await;
        }
    }
}

/// Lets a handler close its request's connection: an answer the client
/// does not take (an HTTP/2 stream without flow-control window, say) is
/// given up with the connection, which nothing else would end. In the
/// request's extensions.
#[derive(Debug, Clone)]
pub(crate) struct CloseConnection(Arc<Activity>);

impl CloseConnection {
    /// The handle of `activity`'s connection.
    pub(crate) fn new(activity: Arc<Activity>) -> CloseConnection {
        CloseConnection(activity)
    }

    /// Closes the connection (every request on it).
    pub(crate) fn close(&self) {
        self.0.close.notify_one();
    }
}

/// A request in flight on a connection (see [`Activity::begin`]).
#[derive(Debug)]
pub(crate) struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let activity = &self.0;
        activity
            .idle_since
            .store(activity.now_millis(), Ordering::SeqCst);
        activity.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A socket that records when bytes move and fails a write stalled for
/// `stall` while nothing was read either.
pub(crate) struct Watched<T> {
    inner: T,
    activity: Arc<Activity>,
    stall: Duration,
    timer: Option<Pin<Box<Sleep>>>,
}

impl<T> Watched<T> {
    /// Watches `inner`.
    pub(crate) fn new(inner: T, activity: Arc<Activity>, stall: Duration) -> Watched<T> {
        Watched {
            inner,
            activity,
            stall,
            timer: None,
        }
    }

    fn moved(&mut self) {
        self.timer = None;
        let now = self.activity.now_millis();
        self.activity.moved_at.store(now, Ordering::SeqCst);
    }

    /// A pending write: an error once nothing has moved for `stall`, else
    /// pending with a timer to look again.
    fn stalled<R>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<R>> {
        loop {
            let deadline = self
                .activity
                .at(self.activity.moved_at.load(Ordering::SeqCst))
                + self.stall;
            if deadline <= Instant::now() {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the client read nothing of the answer for too long",
                )));
            }
            let timer = self
                .timer
                .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
            if timer.deadline() != deadline {
                timer.as_mut().reset(deadline);
            }
            ready!(timer.as_mut().poll(cx));
        }
    }

    fn after_write(
        &mut self,
        cx: &mut Context<'_>,
        result: Poll<io::Result<usize>>,
    ) -> Poll<io::Result<usize>> {
        match result {
            Poll::Ready(Ok(n)) => {
                if n > 0 {
                    self.moved();
                }
                Poll::Ready(Ok(n))
            }
            Poll::Pending => self.stalled(cx),
            other => other,
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Watched<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(result, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.moved();
        }
        result
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Watched<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.after_write(cx, result)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.after_write(cx, result)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match Pin::new(&mut self.inner).poll_flush(cx) {
            Poll::Pending => self.stalled(cx),
            other => other,
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_connection_is_idle_only_while_no_request_is_in_flight() {
        let activity = Activity::new();
        let limit = Duration::from_millis(200);
        let request = activity.begin();
        // In flight: never idle, however long it takes.
        let waited = tokio::time::timeout(limit * 3, activity.idle_for(limit)).await;
        assert!(waited.is_err());
        drop(request);
        let ended = Instant::now();
        activity.idle_for(limit).await;
        let idle = Instant::now() - ended;
        assert!(idle >= limit - Duration::from_millis(5), "{idle:?}");
    }
}
