//! The deadline of an HTTP connection: a connection must complete a request head within the header timeout
//! of its accept, or of going idle between kept-alive requests; and a response being written must make progress
//! within the write timeout. Past it the connection is closed and its admission slot freed.
//!
//! hyper's own `header_read_timeout` starts at the first byte of a request head, so a socket that sends nothing
//! (or goes silent after one request) would keep its slot forever. Here the clock starts at accept, and only the
//! server's progress moves it: the end of a response, and each write to the socket. A client's bytes never
//! extend it, so sending a request head one byte at a time does not help either.
//!
//! Three parts share one [`Activity`]: [`Watched`] wraps the socket and records writes, a [`Busy`] guard is
//! held from a request's arrival until its response body is finished ([`TrackedBody`]), and [`expired`]
//! resolves once the deadline has passed. WebSockets leave this deadline once upgraded (the connection task
//! that watches it ends with the upgrade) and have their own idle rules.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::body::{Body, Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;
use tokio::time::Instant;

/// What a connection is doing, for its deadline.
#[derive(Debug)]
pub struct Activity {
    state: Mutex<State>,
    /// Woken when `busy` changes, which can move the deadline earlier than the one being waited for.
    changed: Notify,
}

#[derive(Debug, Clone, Copy)]
struct State {
    /// Requests whose response body is not finished yet.
    busy: usize,
    /// The accept, or the server's last progress: a request taken, a response finished, or bytes written.
    last_progress: Instant,
}

impl Activity {
    /// The activity of a connection accepted now.
    pub fn new() -> Arc<Activity> {
        let state = State { busy: 0, last_progress: Instant::now() };
        Arc::new(Activity { state: Mutex::new(state), changed: Notify::new() })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn progress(&self) {
        self.state().last_progress = Instant::now();
    }

    /// A complete request arrived: no header deadline until its response is finished, and the response's
    /// progress is counted from now.
    pub fn busy(self: &Arc<Self>) -> Busy {
        {
            let mut state = self.state();
            state.busy += 1;
            state.last_progress = Instant::now();
        }
        self.changed.notify_one();
        Busy(Arc::clone(self))
    }

    /// When the connection is closed if nothing happens meanwhile: `header_timeout` after the last progress while
    /// idle (waiting for a request head), `write_timeout` after it while a response is being made or written.
    fn deadline(&self, header_timeout: Duration, write_timeout: Duration) -> Instant {
        let state = *self.state();
        state.last_progress + if state.busy == 0 { header_timeout } else { write_timeout }
    }
}

/// Held from a request's arrival until its response body is finished or dropped.
#[derive(Debug)]
pub struct Busy(Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        {
            let mut state = self.0.state();
            state.busy = state.busy.saturating_sub(1);
            state.last_progress = Instant::now();
        }
        self.0.changed.notify_one();
    }
}

/// Resolves once the connection's deadline has passed. Writes only move the deadline later, so they are seen
/// when the wait ends; a request starting or finishing can move it earlier (the two timeouts differ), so it
/// wakes the wait at once. Only one task may wait on an activity.
pub async fn expired(activity: &Activity, header_timeout: Duration, write_timeout: Duration) {
    loop {
        // Before reading the state: a change after the read still wakes this wait (notify_one keeps a permit).
        let changed = activity.changed.notified();
        let deadline = activity.deadline(header_timeout, write_timeout);
        if Instant::now() >= deadline {
            return;
        }
        tokio::select! {
            () = tokio::time::sleep_until(deadline) => {}
            () = changed => {}
        }
    }
}

/// The socket, with every successful write counted as progress.
#[derive(Debug)]
pub struct Watched<S> {
    inner: S,
    activity: Arc<Activity>,
}

impl<S> Watched<S> {
    pub fn new(inner: S, activity: Arc<Activity>) -> Watched<S> {
        Watched { inner, activity }
    }

    fn wrote(&self, result: &Poll<io::Result<usize>>) {
        if let Poll::Ready(Ok(n)) = result
            && *n > 0
        {
            self.activity.progress();
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.wrote(&result);
        result
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.wrote(&result);
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// A response body that keeps its request [`Busy`] until it is finished or dropped.
#[derive(Debug)]
pub struct TrackedBody<B> {
    body: B,
    busy: Option<Busy>,
}

impl<B> TrackedBody<B> {
    pub fn new(body: B, busy: Busy) -> TrackedBody<B> {
        TrackedBody { body, busy: Some(busy) }
    }
}

impl<B: Body + Unpin> Body for TrackedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        let frame = Pin::new(&mut self.body).poll_frame(cx);
        if let Poll::Ready(None | Some(Err(_))) = frame {
            self.busy = None;
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: Duration = Duration::from_millis(1_000);
    const WRITE: Duration = Duration::from_millis(5_000);

    /// How long `expired` takes from now, in paused time.
    async fn time_to_expiry(activity: &Activity) -> Duration {
        let start = Instant::now();
        expired(activity, HEADER, WRITE).await;
        start.elapsed()
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_connection_expires_the_header_timeout_after_accept() {
        let activity = Activity::new();
        assert_eq!(time_to_expiry(&activity).await, HEADER);
    }

    #[tokio::test(start_paused = true)]
    async fn a_busy_connection_gets_the_write_timeout_and_the_header_timeout_again_once_its_response_is_done() {
        let activity = Activity::new();
        let busy = activity.busy();
        let watcher = tokio::spawn({
            let activity = Arc::clone(&activity);
            async move { time_to_expiry(&activity).await }
        });
        tokio::time::sleep(Duration::from_millis(4_000)).await;
        // The response finishes 4 s in: the deadline moves to 4 s + the header timeout.
        drop(busy);
        assert_eq!(watcher.await.unwrap(), Duration::from_millis(4_000) + HEADER);
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_arriving_during_a_longer_header_wait_gets_the_shorter_write_timeout() {
        // Header timeout 5 s, write timeout 1 s: the wait for a head has started before the request comes.
        let activity = Activity::new();
        let watcher = tokio::spawn({
            let activity = Arc::clone(&activity);
            async move {
                let start = Instant::now();
                expired(&activity, WRITE, HEADER).await;
                start.elapsed()
            }
        });
        tokio::time::sleep(Duration::from_millis(2_000)).await;
        let _busy = activity.busy();
        // The response stalls from 2 s: closed 1 s later, not at 5 s.
        assert_eq!(watcher.await.unwrap(), Duration::from_millis(2_000) + HEADER);
    }

    #[tokio::test(start_paused = true)]
    async fn a_response_that_makes_no_progress_expires_the_write_timeout_after_its_last_write() {
        let activity = Activity::new();
        let _busy = activity.busy();
        tokio::time::sleep(Duration::from_millis(2_000)).await;
        activity.progress();
        assert_eq!(time_to_expiry(&activity).await, WRITE);
    }

    #[tokio::test(start_paused = true)]
    async fn a_finished_body_releases_its_request() {
        let activity = Activity::new();
        let mut body = TrackedBody::new(String::from("x"), activity.busy());
        assert_eq!(activity.state().busy, 1);
        while std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await.is_some() {}
        assert_eq!(activity.state().busy, 0);
    }
}
