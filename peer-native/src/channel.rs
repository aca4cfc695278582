//! One task per data channel: receive into the run loop's queue, send from a bounded queue with back-pressure.
//!
//! The channel's id is the node's (`swarm::node::Output::OpenChannel`, or `Node::accept_channel` for one the
//! remote side opened); the task reports [`NodeEvent::ChannelOpened`], [`NodeEvent::ChannelMessage`] and, once,
//! [`NodeEvent::ChannelClosed`] under it. Back-pressure follows the browser pattern: stop sending when the
//! channel's buffered amount rises over [`HIGH_WATER`] and resume when it falls under [`LOW_WATER`], so the SCTP
//! send buffer holds at most a few MiB whatever the swarm queues.

use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use swarm::ConnId;
use tokio::sync::mpsc;
use webrtc::data_channel::{DataChannel, DataChannelEvent};

use crate::event::NodeEvent;
use crate::out_queue::OutReceiver;
use crate::transport::ConnectionRef;

/// Buffered bytes at which sending pauses, as the browser peer pauses.
pub const HIGH_WATER: u32 = swarm::node::HIGH_WATER as u32;
/// Buffered bytes under which sending resumes.
pub const LOW_WATER: u32 = swarm::node::LOW_WATER as u32;

/// Starts the task that owns `dc` until it closes, sending what the run loop puts in `queue`'s other end.
/// `link` is the channel's connection: the message size it negotiated goes with [`NodeEvent::ChannelOpened`].
pub fn spawn(
    dc: Arc<dyn DataChannel>,
    link: ConnectionRef,
    conn: ConnId,
    queue: OutReceiver,
    node: mpsc::Sender<NodeEvent>,
) {
    tokio::spawn(run(dc, link, conn, queue, node));
}

/// What the task uses of a data channel: webrtc-rs's (whose trait is sealed), or a stand-in in tests.
trait Wire: Send + Sync + 'static {
    /// Sets the buffered amounts at which `OnBufferedAmountHigh` and `OnBufferedAmountLow` fire.
    fn set_water_marks(&self, high: u32, low: u32) -> impl Future<Output = webrtc::error::Result<()>> + Send;
    fn poll(&self) -> impl Future<Output = Option<DataChannelEvent>> + Send;
    fn send(&self, bytes: BytesMut) -> impl Future<Output = webrtc::error::Result<()>> + Send;
    fn outstanding_bytes(&self) -> impl Future<Output = webrtc::error::Result<usize>> + Send;
    fn close(&self) -> impl Future<Output = webrtc::error::Result<()>> + Send;
}

impl Wire for Arc<dyn DataChannel> {
    async fn set_water_marks(&self, high: u32, low: u32) -> webrtc::error::Result<()> {
        self.set_buffered_amount_high_threshold(high).await?;
        self.set_buffered_amount_low_threshold(low).await
    }
    async fn poll(&self) -> Option<DataChannelEvent> {
        DataChannel::poll(&**self).await
    }
    async fn send(&self, bytes: BytesMut) -> webrtc::error::Result<()> {
        DataChannel::send(&**self, bytes).await
    }
    async fn outstanding_bytes(&self) -> webrtc::error::Result<usize> {
        DataChannel::outstanding_bytes(&**self).await
    }
    async fn close(&self) -> webrtc::error::Result<()> {
        DataChannel::close(&**self).await
    }
}

async fn run(dc: impl Wire, link: ConnectionRef, conn: ConnId, mut out_rx: OutReceiver, node: mpsc::Sender<NodeEvent>) {
    if let Err(e) = dc.set_water_marks(HIGH_WATER, LOW_WATER).await {
        tracing::debug!(?conn, "buffered amount thresholds: {e}");
    }
    let signals = out_rx.signals();
    // Set when the node closed the channel: what is still queued must be handed over by then, or it is dropped (a
    // peer that stopped reading would otherwise keep it, paused above HIGH_WATER, for as long as its connection
    // lives, and could do so on one channel after another).
    let mut flush_by: Option<tokio::time::Instant> = None;
    let mut open = false;
    let mut paused = false;
    // Whether the node has dropped its sender and the queue is empty (it wants the channel closed once sent).
    let mut node_done = false;
    loop {
        tokio::select! {
            event = dc.poll() => match event {
                Some(DataChannelEvent::OnOpen) => {
                    tracing::debug!(?conn, "data channel open");
                    if open {
                        continue;
                    }
                    open = true;
                    let max_message = link.max_message().await;
                    if node.send(NodeEvent::ChannelOpened { conn, max_message }).await.is_err() {
                        break;
                    }
                }
                Some(DataChannelEvent::OnMessage(msg)) => {
                    if node.send(NodeEvent::ChannelMessage { conn, bytes: msg.data }).await.is_err() {
                        break;
                    }
                }
                Some(DataChannelEvent::OnBufferedAmountHigh) => paused = true,
                Some(DataChannelEvent::OnBufferedAmountLow) => paused = false,
                Some(DataChannelEvent::OnClose) => {
                    tracing::debug!(?conn, "data channel closed by the remote side or the connection");
                    break;
                }
                None => {
                    tracing::debug!(?conn, "data channel event stream ended");
                    break;
                }
                Some(other) => tracing::debug!(?conn, ?other, "data channel event"),
            },
            msg = out_rx.recv(), if open && !paused && !node_done => match msg {
                // `send` only queues (no send-buffer limit is configured), so awaiting it here never waits on
                // the network; the thresholds above are what bound the buffer.
                Some(bytes) => {
                    // Zero copy: a uniquely owned `Bytes` converts back into `BytesMut` in place.
                    if let Err(e) = dc.send(BytesMut::from(bytes::Bytes::from(bytes))).await {
                        tracing::debug!(?conn, "send: {e}");
                        break;
                    }
                }
                None => {
                    node_done = true;
                    break;
                }
            },
            // The peer is not reading what it asked for: what is queued is dropped here (with the receiver), not
            // sent, and the channel closed without the drain.
            () = signals.abandoned() => {
                tracing::debug!(?conn, "abandoned by the node");
                break;
            }
            () = signals.closed(), if flush_by.is_none() => {
                if !open {
                    // Closed before it opened (given up, or the loser of two opened at once): nothing to send.
                    break;
                }
                flush_by = Some(tokio::time::Instant::now() + DRAIN_TIMEOUT);
            }
            () = sleep_until_some(flush_by) => {
                tracing::debug!(?conn, "closed by the node; the peer did not take what was queued in time");
                break;
            }
        }
    }
    drop(out_rx);
    if node_done {
        drain(&dc).await;
    }
    if let Err(e) = dc.close().await {
        tracing::debug!(?conn, node_done, "close: {e}");
    }
    // The run loop may be gone already (shutdown): nothing to tell then.
    let _ = node.send(NodeEvent::ChannelClosed { conn }).await;
}

/// Longest wait for the remote side to acknowledge what was sent before a channel the node closed is reset; and
/// longest wait, once the node closed a channel, for what is still queued to be handed to SCTP.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);
/// How often the unacknowledged byte count is checked while draining (webrtc-rs has no "drained" event).
const DRAIN_CHECK: Duration = Duration::from_millis(20);

/// Sleeps until `deadline`, forever without one.
pub(crate) async fn sleep_until_some(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// Waits until every byte sent is acknowledged (bounded by [`DRAIN_TIMEOUT`]): webrtc-rs resets the stream at once
/// on `close`, and a message still in flight (a `Goodbye`) would be lost.
async fn drain(dc: &impl Wire) {
    let deadline = tokio::time::Instant::now() + DRAIN_TIMEOUT;
    while tokio::time::Instant::now() < deadline {
        match dc.outstanding_bytes().await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        tokio::select! {
            event = dc.poll() => {
                if matches!(event, Some(DataChannelEvent::OnClose) | None) {
                    return;
                }
            }
            () = tokio::time::sleep(DRAIN_CHECK) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    use super::*;
    use crate::out_queue;

    /// A data channel whose peer never reads: its buffer is over HIGH_WATER from the start and never falls back
    /// (no `OnBufferedAmountLow`); it records what is handed to it and whether it was closed.
    #[derive(Debug, Default)]
    struct Stalled {
        events: Mutex<VecDeque<DataChannelEvent>>,
        sent: AtomicUsize,
        closed: AtomicBool,
    }

    impl Wire for Arc<Stalled> {
        async fn set_water_marks(&self, _high: u32, _low: u32) -> webrtc::error::Result<()> {
            Ok(())
        }
        async fn poll(&self) -> Option<DataChannelEvent> {
            let next = self.events.lock().expect("not poisoned").pop_front();
            match next {
                Some(event) => Some(event),
                None => std::future::pending().await,
            }
        }
        async fn send(&self, _bytes: BytesMut) -> webrtc::error::Result<()> {
            self.sent.fetch_add(1, Ordering::Relaxed);
            Ok(())
        }
        async fn outstanding_bytes(&self) -> webrtc::error::Result<usize> {
            Ok(0)
        }
        async fn close(&self) -> webrtc::error::Result<()> {
            self.closed.store(true, Ordering::Relaxed);
            Ok(())
        }
    }

    #[tokio::test(start_paused = true)]
    async fn channel_closed_on_a_peer_that_never_reads_ends_and_frees_its_queue() {
        let dc = Arc::new(Stalled::default());
        dc.events
            .lock()
            .expect("not poisoned")
            .extend([DataChannelEvent::OnBufferedAmountHigh, DataChannelEvent::OnOpen]);
        let (node, mut events) = mpsc::channel(8);
        let (out, queue) = out_queue::channel();
        let task = tokio::spawn(run(dc.clone(), ConnectionRef::default(), ConnId(1), queue, node));
        let Some(NodeEvent::ChannelOpened { conn: ConnId(1), .. }) = events.recv().await else {
            panic!("no ChannelOpened")
        };
        for _ in 0..100 {
            out.try_send(vec![0; 128 * 1024]).expect("under the bound");
        }
        // The node closes the channel (a goodbye queued last, say); the peer still reads nothing.
        drop(out);
        let closed = tokio::time::timeout(Duration::from_secs(60), events.recv()).await;
        assert!(matches!(closed, Ok(Some(NodeEvent::ChannelClosed { conn: ConnId(1) }))), "{closed:?}");
        task.await.expect("task ends");
        assert!(dc.closed.load(Ordering::Relaxed), "the data channel was closed");
        // The task is gone, and with it the receiving end: the 12.5 MiB queued are freed.
        assert_eq!(dc.sent.load(Ordering::Relaxed), 0, "nothing was handed to a paused channel");
    }

    #[tokio::test(start_paused = true)]
    async fn channel_closed_before_it_opens_ends_at_once() {
        let dc = Arc::new(Stalled::default());
        let (node, mut events) = mpsc::channel(8);
        let (out, queue) = out_queue::channel();
        let task = tokio::spawn(run(dc.clone(), ConnectionRef::default(), ConnId(2), queue, node));
        // Given up before it opened (or the loser of two channels opened at once): nothing waits for a drain.
        drop(out);
        let closed = tokio::time::timeout(Duration::from_millis(10), events.recv()).await;
        assert!(matches!(closed, Ok(Some(NodeEvent::ChannelClosed { conn: ConnId(2) }))), "{closed:?}");
        task.await.expect("task ends");
        assert!(dc.closed.load(Ordering::Relaxed), "the data channel was closed");
    }
}
