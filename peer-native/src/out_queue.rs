//! One data channel's outgoing queue, bounded in messages and in bytes.
//!
//! The run loop puts what the node sends into it with [`OutSender::try_send`] and never waits; the channel
//! task takes messages out while the data channel's own buffer is under [`crate::channel::HIGH_WATER`]. A remote
//! peer that stops reading, or asks for more than its link carries, fills this queue, and only a bound in bytes
//! keeps that from costing memory: 1,024 messages of 128 KiB are 128 MiB. So per channel at most
//! [`MAX_QUEUED_BYTES`] wait here, besides about `HIGH_WATER` in the SCTP send buffer (the channel task stops
//! handing messages over above it, once webrtc-rs reports the crossing).
//!
//! A message that would pass either bound is refused with [`SendError::Overrun`], and the run loop then gives the
//! channel up, as the browser peer gives up one whose parked bytes would pass the same 16 MiB: it calls
//! [`OutSender::abandon`], which frees the queue and closes the channel at once, without waiting for the peer to
//! read what is queued (it may never), and tells the node the channel closed. An honest downloader stays far under
//! the bound: it keeps at most `max_pipeline` (64) requests of 128 KiB (8 MiB) outstanding.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use tokio::sync::{Notify, mpsc};

/// Most bytes waiting in one channel's queue: the node's bound for every shell ([`swarm::node::MAX_QUEUED`]).
pub const MAX_QUEUED_BYTES: usize = swarm::node::MAX_QUEUED;
/// Most messages waiting in one channel's queue (small messages: Have, Reject, KeepAlive).
pub const MAX_QUEUED_MESSAGES: usize = 1024;

/// Why a message was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendError {
    /// The queue would pass [`MAX_QUEUED_BYTES`] or [`MAX_QUEUED_MESSAGES`]: the remote peer is not reading.
    Overrun { queued: usize, len: usize },
    /// The channel task is gone (the channel closed).
    Closed,
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendError::Overrun { queued, len } => write!(
                f,
                "peer does not read: {queued} bytes queued, {len} more would pass the {MAX_QUEUED_BYTES}-byte or \
                 {MAX_QUEUED_MESSAGES}-message bound"
            ),
            SendError::Closed => f.write_str("channel closed"),
        }
    }
}

impl std::error::Error for SendError {}

/// What both ends share.
#[derive(Debug, Default)]
struct Shared {
    /// Bytes of the messages in the queue.
    queued: AtomicUsize,
    /// The run loop gave the channel up: discard the queue and close.
    abandoned: AtomicBool,
    abandoned_wake: Notify,
    /// The run loop dropped its end: send what is queued (for a while) and close.
    closed: AtomicBool,
    closed_wake: Notify,
}

/// A new queue: the run loop's end and the channel task's end.
pub fn channel() -> (OutSender, OutReceiver) {
    let (tx, rx) = mpsc::channel(MAX_QUEUED_MESSAGES);
    let shared = Arc::new(Shared::default());
    (OutSender { tx, shared: shared.clone() }, OutReceiver { rx, shared })
}

/// The run loop's end. Dropping it closes the channel once the queue is sent (the channel task gives that a
/// deadline); [`OutSender::abandon`] closes it now.
#[derive(Debug)]
pub struct OutSender {
    tx: mpsc::Sender<Vec<u8>>,
    shared: Arc<Shared>,
}

impl OutSender {
    /// Queues `bytes` without waiting. Returns the bytes queued once this message is in.
    pub fn try_send(&self, bytes: Vec<u8>) -> Result<usize, SendError> {
        let len = bytes.len();
        // Counted before the message is visible to the receiver, which subtracts it when it takes it out.
        let before = self.shared.queued.fetch_add(len, Ordering::AcqRel);
        let refused = if before.saturating_add(len) > MAX_QUEUED_BYTES {
            Some(SendError::Overrun { queued: before, len })
        } else {
            match self.tx.try_send(bytes) {
                Ok(()) => None,
                Err(mpsc::error::TrySendError::Full(_)) => Some(SendError::Overrun { queued: before, len }),
                Err(mpsc::error::TrySendError::Closed(_)) => Some(SendError::Closed),
            }
        };
        match refused {
            None => Ok(before + len),
            Some(e) => {
                self.shared.queued.fetch_sub(len, Ordering::AcqRel);
                Err(e)
            }
        }
    }

    /// Bytes waiting in the queue now.
    pub fn queued_bytes(&self) -> usize {
        self.shared.queued.load(Ordering::Acquire)
    }

    /// Gives the channel up: the channel task discards what is queued and closes the channel without flushing.
    pub fn abandon(self) {
        self.shared.abandoned.store(true, Ordering::Release);
        self.shared.abandoned_wake.notify_one();
    }
}

impl Drop for OutSender {
    fn drop(&mut self) {
        self.shared.closed.store(true, Ordering::Release);
        self.shared.closed_wake.notify_one();
    }
}

/// The channel task's end.
#[derive(Debug)]
pub struct OutReceiver {
    rx: mpsc::Receiver<Vec<u8>>,
    shared: Arc<Shared>,
}

impl OutReceiver {
    /// The next message, or `None` once the run loop dropped its end and the queue is empty.
    pub async fn recv(&mut self) -> Option<Vec<u8>> {
        let bytes = self.rx.recv().await?;
        self.shared.queued.fetch_sub(bytes.len(), Ordering::AcqRel);
        Some(bytes)
    }

    /// What the run loop says about the channel besides messages (usable while [`OutReceiver::recv`] is borrowed).
    pub fn signals(&self) -> NodeSignals {
        NodeSignals(self.shared.clone())
    }
}

/// See [`OutReceiver::signals`]. Each signal has its own waiter: `notify_one` keeps a permit when nobody waits, so
/// a signal given between a waiter's check and its wait still wakes it.
#[derive(Debug)]
pub struct NodeSignals(Arc<Shared>);

impl NodeSignals {
    /// Resolves once the run loop called [`OutSender::abandon`] (at once if it already did).
    pub async fn abandoned(&self) {
        while !self.0.abandoned.load(Ordering::Acquire) {
            self.0.abandoned_wake.notified().await;
        }
    }

    /// Resolves once the run loop dropped (or abandoned) its end (at once if it already did), even while messages are
    /// still queued: [`OutReceiver::recv`] only says so once the queue is empty.
    pub async fn closed(&self) {
        while !self.0.closed.load(Ordering::Acquire) {
            self.0.closed_wake.notified().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The largest message a channel carries (a Block of 128 KiB and its header).
    const BLOCK_MESSAGE: usize = 131_081;

    #[test]
    fn queue_of_a_peer_that_does_not_read_stops_at_the_byte_bound() {
        let (tx, _rx) = channel();
        let mut accepted = 0;
        let err = loop {
            match tx.try_send(vec![0; BLOCK_MESSAGE]) {
                Ok(queued) => {
                    accepted += 1;
                    assert!(queued <= MAX_QUEUED_BYTES, "{queued} bytes queued");
                }
                Err(e) => break e,
            }
        };
        assert_eq!(accepted, MAX_QUEUED_BYTES / BLOCK_MESSAGE);
        assert!(accepted < MAX_QUEUED_MESSAGES, "the byte bound is the one that held");
        assert!(matches!(err, SendError::Overrun { .. }), "{err:?}");
        assert!(tx.queued_bytes() <= MAX_QUEUED_BYTES);
    }

    #[test]
    fn small_messages_stop_at_the_message_bound() {
        let (tx, _rx) = channel();
        for _ in 0..MAX_QUEUED_MESSAGES {
            tx.try_send(vec![7]).unwrap();
        }
        assert!(matches!(tx.try_send(vec![7]), Err(SendError::Overrun { .. })));
        assert_eq!(tx.queued_bytes(), MAX_QUEUED_MESSAGES, "a refused message is not counted");
    }

    #[tokio::test]
    async fn taking_messages_out_makes_room_again() {
        let (tx, mut rx) = channel();
        while tx.try_send(vec![0; BLOCK_MESSAGE]).is_ok() {}
        let full = tx.queued_bytes();
        assert_eq!(rx.recv().await.map(|m| m.len()), Some(BLOCK_MESSAGE));
        assert_eq!(tx.queued_bytes(), full - BLOCK_MESSAGE);
        assert!(tx.try_send(vec![0; BLOCK_MESSAGE]).is_ok());
    }

    #[tokio::test]
    async fn abandoning_wakes_the_channel_task_even_when_it_waits_already() {
        let (tx, rx) = channel();
        let signals = rx.signals();
        let waiter = tokio::spawn(async move { signals.abandoned().await });
        tokio::task::yield_now().await;
        tx.abandon();
        waiter.await.unwrap();
        // And a wait that starts after the fact returns at once.
        rx.signals().abandoned().await;
        rx.signals().closed().await;
    }

    #[tokio::test]
    async fn dropping_the_sender_is_seen_while_messages_are_still_queued() {
        let (tx, mut rx) = channel();
        tx.try_send(vec![1, 2, 3]).unwrap();
        let signals = rx.signals();
        let waiter = tokio::spawn(async move { signals.closed().await });
        tokio::task::yield_now().await;
        drop(tx);
        waiter.await.unwrap();
        assert_eq!(rx.recv().await, Some(vec![1, 2, 3]), "closing keeps what is queued");
        assert_eq!(rx.recv().await, None);
    }

    #[test]
    fn a_closed_channel_is_not_an_overrun() {
        let (tx, rx) = channel();
        drop(rx);
        assert_eq!(tx.try_send(vec![1]), Err(SendError::Closed));
        assert_eq!(tx.queued_bytes(), 0);
    }
}
