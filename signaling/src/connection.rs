//! One WebSocket session, driven by one task: the Welcome, then a loop over four things, in this priority:
//! server shutdown, events queued by other peers' actions, frames from the peer, and the ping/idle timer.
//!
//! The task writes its own replies directly; events for this peer wait in its outbox in the hub (see
//! [`crate::outbox`]), which others' actions fill and this task drains, one event per wake-up. A full outbox
//! refuses the senders; it never ends this connection. Writes have a deadline, so a peer that stops reading
//! costs at most one write timeout before it is dropped.
//!
//! Every frame the peer sends takes a token from the connection's rate limit, WebSocket pings and pongs
//! included (the WebSocket layer answers each ping with a pong, which is work and bandwidth the peer causes); a
//! frame over the rate is a strike.

use std::sync::Arc;

use futures::{SinkExt, StreamExt};
use swarm::signal::{ErrorCode, PeerRequest, ServerEvent};
use tokio::sync::Notify;
use tokio::time::{Instant, sleep_until, timeout};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;

use crate::admission::Slot;
use crate::id::Id;
use crate::metrics::{ConnectionEnd, Refusal};
use crate::rate::TokenBucket;
use crate::server::Shared;
use crate::turn::TurnRest;

/// Close codes (RFC 6455, section 7.4.1).
const CLOSE_GOING_AWAY: u16 = 1001;
const CLOSE_POLICY_VIOLATION: u16 = 1008;
const CLOSE_NORMAL: u16 = 1000;

/// Longest error message text sent back, in bytes: parser messages quote the input.
const MAX_ERROR_TEXT: usize = 200;

/// The WebSocket over an upgraded HTTP/1 connection.
pub type WebSocket = WebSocketStream<hyper_util::rt::TokioIo<hyper::upgrade::Upgraded>>;

/// Runs one session to its end, then releases everything it held. The slot is held only for its lifetime: the
/// connection counts against its address until then.
pub async fn run(mut ws: WebSocket, shared: Arc<Shared>, _slots: (Arc<Slot>, Option<Slot>)) {
    let wake = Arc::new(Notify::new());
    let id = shared.hub().register(Arc::clone(&wake));
    shared.metrics.websocket_opened();
    let end = Session { shared: &shared, id, strikes: 0 }.drive(&mut ws, &wake).await;
    // Counted before the departure is announced, so whoever sees the departure sees the count.
    shared.metrics.connection_ended(end);
    shared.remove(id, Instant::now()).await;
    tracing::debug!(peer = %id, ?end, "session ended");
}

struct Session<'a> {
    shared: &'a Shared,
    id: Id,
    strikes: u32,
}

/// What handling one frame asks of the loop.
enum Next {
    Continue,
    End(ConnectionEnd),
}

/// Why a write did not complete.
enum WriteFailed {
    TimedOut,
    Socket,
}

impl Session<'_> {
    async fn drive(&mut self, ws: &mut WebSocket, wake: &Notify) -> ConnectionEnd {
        let limits = &self.shared.limits;
        let peer_id = self.id.to_peer_id();
        let welcome =
            ServerEvent::Welcome { ice_servers: self.shared.ice_servers_for(&peer_id), peer_id: peer_id.clone() };
        if let Err(failed) = self.send_event(ws, &welcome).await {
            return failed.end();
        }
        // Expiring TURN credentials are renewed at half their lifetime (PROTOCOL.md 3.4).
        let renew_every = self.shared.turn.as_ref().map(TurnRest::renew_every);
        let mut next_renewal = renew_every.map(|every| Instant::now() + every);
        let mut bucket = TokenBucket::new(limits.messages_per_sec, limits.message_burst, Instant::now());
        let mut last_heard = Instant::now();
        let mut next_ping = last_heard + limits.ping_interval();
        loop {
            let idle_deadline = last_heard + limits.idle_timeout();
            tokio::select! {
                biased;
                () = self.shared.cancel.cancelled() => {
                    self.close(ws, CLOSE_GOING_AWAY, "server shutting down").await;
                    return ConnectionEnd::shutdown;
                }
                () = wake.notified() => {
                    // The guard is a temporary: the hub's lock is released before the write.
                    let next = self.shared.hub().pop(self.id);
                    if let Some(text) = next
                        && let Err(failed) = self.write(ws, Message::text(text)).await
                    {
                        return failed.end();
                    }
                }
                frame = ws.next() => {
                    let Some(Ok(frame)) = frame else { return ConnectionEnd::client };
                    let now = Instant::now();
                    last_heard = now;
                    match self.on_frame(ws, frame, &mut bucket, now).await {
                        Next::Continue => {}
                        Next::End(end) => return end,
                    }
                }
                () = sleep_until_some(next_renewal) => {
                    next_renewal = renew_every.map(|every| Instant::now() + every);
                    let renewed = ServerEvent::IceServers { ice_servers: self.shared.ice_servers_for(&peer_id) };
                    if let Err(failed) = self.send_event(ws, &renewed).await {
                        return failed.end();
                    }
                }
                () = sleep_until(next_ping.min(idle_deadline)) => {
                    let now = Instant::now();
                    if now >= idle_deadline {
                        self.close(ws, CLOSE_NORMAL, "idle timeout").await;
                        return ConnectionEnd::idle;
                    }
                    next_ping = now + limits.ping_interval();
                    if let Err(failed) = self.write(ws, Message::Ping(Default::default())).await {
                        return failed.end();
                    }
                }
            }
        }
    }

    async fn on_frame(&mut self, ws: &mut WebSocket, frame: Message, bucket: &mut TokenBucket, now: Instant) -> Next {
        let control = match frame {
            Message::Close(_) => return Next::End(ConnectionEnd::client),
            // Pings are answered by the WebSocket layer; control frames only prove liveness, but they cost.
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => true,
            Message::Text(_) | Message::Binary(_) => false,
        };
        let metrics = &self.shared.metrics;
        if !control {
            metrics.message_received();
        }
        let limits = &self.shared.limits;
        if !bucket.try_take(now) {
            let text = format!("over {} messages per second", limits.messages_per_sec);
            return self.refuse(ws, Refusal::rate_limited, ErrorCode::RateLimited, text).await;
        }
        if control {
            return Next::Continue;
        }
        let Message::Text(text) = frame else {
            let text = "binary frames are not part of the signaling protocol".to_owned();
            return self.refuse(ws, Refusal::binary, ErrorCode::Malformed, text).await;
        };
        let text = text.as_str();
        if text.len() > limits.max_frame_bytes {
            let text = format!("frame of {} bytes is over the {}-byte limit", text.len(), limits.max_frame_bytes);
            return self.refuse(ws, Refusal::too_large, ErrorCode::TooLarge, text).await;
        }
        let request = match PeerRequest::parse(text) {
            Ok(request) => request,
            Err(e) => return self.refuse(ws, Refusal::malformed, ErrorCode::Malformed, truncate(e)).await,
        };
        // Ok(None): done, nothing to reply.
        let reply = match request {
            PeerRequest::Join { swarm } => {
                let joined = self.shared.join(self.id, swarm.clone(), now).await;
                joined.map(|peers| Some(ServerEvent::Joined { swarm, peers }))
            }
            PeerRequest::Leave { swarm } => self.shared.leave(self.id, &swarm, now).await.map(|()| None),
            PeerRequest::Signal { to, payload } => self.shared.relay(self.id, &to, payload).await.map(|()| None),
            PeerRequest::Ping => Ok(Some(ServerEvent::Pong)),
        };
        let event = match reply {
            Ok(Some(event)) => event,
            Ok(None) => return Next::Continue,
            Err(code) => {
                metrics.message_refused(refusal_of(code));
                ServerEvent::Error { code, message: describe(code).to_owned() }
            }
        };
        match self.send_event(ws, &event).await {
            Ok(()) => Next::Continue,
            Err(failed) => Next::End(failed.end()),
        }
    }

    /// Replies with an error that counts as a strike; the connection is closed at the limit.
    async fn refuse(&mut self, ws: &mut WebSocket, reason: Refusal, code: ErrorCode, message: String) -> Next {
        self.shared.metrics.message_refused(reason);
        self.strikes += 1;
        if let Err(failed) = self.send_event(ws, &ServerEvent::Error { code, message }).await {
            return Next::End(failed.end());
        }
        if self.strikes >= self.shared.limits.max_strikes {
            self.close(ws, CLOSE_POLICY_VIOLATION, "too many protocol errors").await;
            return Next::End(ConnectionEnd::misbehaving);
        }
        Next::Continue
    }

    async fn send_event(&self, ws: &mut WebSocket, event: &ServerEvent) -> Result<(), WriteFailed> {
        let text = serde_json::to_string(event).map_err(|_| WriteFailed::Socket)?;
        self.write(ws, Message::text(text)).await
    }

    async fn write(&self, ws: &mut WebSocket, message: Message) -> Result<(), WriteFailed> {
        match timeout(self.shared.limits.write_timeout(), ws.send(message)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(WriteFailed::Socket),
            Err(_) => Err(WriteFailed::TimedOut),
        }
    }

    /// Sends a close frame, best effort: the peer may be gone or not reading.
    async fn close(&self, ws: &mut WebSocket, code: u16, reason: &'static str) {
        let frame = CloseFrame { code: code.into(), reason: reason.into() };
        let _ = self.write(ws, Message::Close(Some(frame))).await;
    }
}

impl WriteFailed {
    fn end(self) -> ConnectionEnd {
        match self {
            WriteFailed::TimedOut => ConnectionEnd::slow_consumer,
            WriteFailed::Socket => ConnectionEnd::client,
        }
    }
}

fn refusal_of(code: ErrorCode) -> Refusal {
    match code {
        ErrorCode::Malformed => Refusal::malformed,
        ErrorCode::TooLarge => Refusal::too_large,
        ErrorCode::RateLimited => Refusal::rate_limited,
        ErrorCode::TooManySwarms => Refusal::too_many_swarms,
        ErrorCode::NotInSwarm => Refusal::not_in_swarm,
        ErrorCode::UnknownPeer => Refusal::unknown_peer,
        ErrorCode::SwarmFull => Refusal::swarm_full,
        ErrorCode::PeerBusy => Refusal::peer_busy,
    }
}

/// The human-readable text of a hub refusal.
pub(crate) fn describe(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::TooManySwarms => "this connection is in as many swarms as it may be",
        ErrorCode::NotInSwarm => "this connection is not a member of that swarm",
        ErrorCode::UnknownPeer => "no peer with this id shares a swarm with this connection",
        ErrorCode::SwarmFull => "the swarm has as many members as it may have",
        ErrorCode::TooLarge => "the relayed message would be over the frame limit",
        ErrorCode::Malformed => "the message could not be relayed",
        ErrorCode::RateLimited => "too many messages",
        ErrorCode::PeerBusy => "the receiving peer has as many messages waiting as it may hold; this one is dropped",
    }
}

fn truncate(mut text: String) -> String {
    if text.len() > MAX_ERROR_TEXT {
        let mut end = MAX_ERROR_TEXT;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

/// Sleeps until `deadline`, forever without one.
async fn sleep_until_some(deadline: Option<Instant>) {
    match deadline {
        Some(d) => sleep_until(d).await,
        None => std::future::pending().await,
    }
}
