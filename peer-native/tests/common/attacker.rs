//! A signaling server that attacks from the middle (PROTOCOL.md 2.11): a proxy in front of the real server that
//! passes every frame through as it is, except the peers' signals. It answers each offer itself and makes its own
//! offer to the other peer (sent up the offerer's own connection, so the real server stamps and relays it as the
//! offerer's), so that each peer's connection ends at the proxy, which opens each data channel on the other leg
//! with the same label and bridges the two byte for byte, recording every message that crosses. Plain HTTP (the
//! page, its files) is spliced through to the real server unchanged, so a browser can load the app from the proxy.
//!
//! Used by `in_the_middle.rs` (native peers) and by the example `in_the_middle_proxy` (the browser spec).

#[path = "pair.rs"]
#[allow(dead_code)]
mod pair;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::BytesMut;
use futures::{SinkExt, StreamExt};
use peer_native::transport::RtcSettings;
use swarm::signal::{PeerId, PeerRequest, ServerEvent, SignalPayload};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message as Frame;
use webrtc::data_channel::{DataChannel, DataChannelEvent, RTCDataChannelInit, RTCDataChannelState};
use webrtc::peer_connection::{PeerConnection, RTCSessionDescription};

/// Frames waiting to go to one peer or up for it: far more than a test session sends.
const FRAMES: usize = 1024;
/// Channels a leg may open before the bridge takes them.
const CHANNELS: usize = 16;

/// The proxy's shared state.
struct State {
    /// Each peer's way up to the real server, by the id the server gave it.
    up: HashMap<PeerId, mpsc::Sender<String>>,
    /// The proxy's end of the connection it offered to `(to, from)`: `to`'s answer goes there.
    offered: HashMap<(PeerId, PeerId), Arc<dyn PeerConnection>>,
    /// Every data-channel message bridged, as it crossed, with its channel's label.
    bridged: watch::Sender<Vec<(String, Vec<u8>)>>,
    /// Kept alive while the proxy runs.
    legs: Vec<Arc<dyn PeerConnection>>,
    settings: RtcSettings,
    heard: Arc<Mutex<Vec<String>>>,
}

type Shared = Arc<Mutex<State>>;

/// A running proxy: `url` is its `ws://.../ws`, `http` its `http://host:port`; `bridged` sees every message it
/// carried, with its channel's label.
pub struct Proxy {
    pub url: String,
    pub http: String,
    pub bridged: watch::Receiver<Vec<(String, Vec<u8>)>>,
    /// Every frame a peer sent the proxy (which a signaling server would have received): the server's whole view.
    pub heard: Arc<Mutex<Vec<String>>>,
}

/// Starts the proxy on `listen` in front of the server whose WebSocket is `upstream_ws` and whose HTTP address is
/// `upstream_addr`; its WebRTC legs use `settings`.
pub async fn start(listen: &str, upstream_ws: String, upstream_addr: String, settings: RtcSettings) -> Proxy {
    let listener = TcpListener::bind(listen).await.expect("the proxy binds");
    let addr = listener.local_addr().expect("a local address");
    let (bridged, seen) = watch::channel(Vec::new());
    let heard: Arc<Mutex<Vec<String>>> = Arc::default();
    let state = State {
        up: HashMap::new(),
        offered: HashMap::new(),
        bridged,
        legs: Vec::new(),
        settings,
        heard: heard.clone(),
    };
    let shared: Shared = Arc::new(Mutex::new(state));
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (shared, upstream_ws, upstream_addr) = (shared.clone(), upstream_ws.clone(), upstream_addr.clone());
            tokio::spawn(async move {
                if is_websocket(&tcp).await {
                    client(tcp, upstream_ws, shared).await;
                } else if let Ok(mut upstream) = TcpStream::connect(&upstream_addr).await {
                    let mut tcp = tcp;
                    let _ = tokio::io::copy_bidirectional(&mut tcp, &mut upstream).await;
                }
            });
        }
    });
    Proxy { url: format!("ws://{addr}/ws"), http: format!("http://{addr}"), bridged: seen, heard }
}

/// Whether the request waiting on `tcp` asks for a WebSocket upgrade (read without taking it).
async fn is_websocket(tcp: &TcpStream) -> bool {
    let mut head = [0u8; 4096];
    let n = tcp.peek(&mut head).await.unwrap_or(0);
    String::from_utf8_lossy(&head[..n]).to_ascii_lowercase().contains("upgrade: websocket")
}

/// One peer's signaling connection through the proxy.
async fn client(tcp: TcpStream, upstream: String, shared: Shared) {
    let Ok(down) = tokio_tungstenite::accept_async(tcp).await else { return };
    let Ok((up, _)) = tokio_tungstenite::connect_async(upstream).await else { return };
    let (mut down_sink, mut down_stream) = down.split();
    let (mut up_sink, mut up_stream) = up.split();
    let (to_down, mut to_down_rx) = mpsc::channel::<String>(FRAMES);
    let (to_up, mut to_up_rx) = mpsc::channel::<String>(FRAMES);
    tokio::spawn(async move {
        while let Some(text) = to_down_rx.recv().await {
            if down_sink.send(Frame::text(text)).await.is_err() {
                break;
            }
        }
    });
    tokio::spawn(async move {
        while let Some(text) = to_up_rx.recv().await {
            if up_sink.send(Frame::text(text)).await.is_err() {
                break;
            }
        }
    });
    // Server to peer: passed through; the welcome tells the proxy who this peer is.
    let me: Arc<Mutex<Option<PeerId>>> = Arc::default();
    {
        let (shared, me, to_down, to_up) = (shared.clone(), me.clone(), to_down.clone(), to_up.clone());
        tokio::spawn(async move {
            while let Some(Ok(Frame::Text(text))) = up_stream.next().await {
                if let Ok(ServerEvent::Welcome { peer_id, .. }) = ServerEvent::parse(&text) {
                    shared.lock().expect("not poisoned").up.insert(peer_id.clone(), to_up.clone());
                    *me.lock().expect("not poisoned") = Some(peer_id);
                }
                let _ = to_down.try_send(text.to_string());
            }
        });
    }
    // Peer to server: passed through, but for signals.
    let heard = shared.lock().expect("not poisoned").heard.clone();
    while let Some(Ok(frame)) = down_stream.next().await {
        let Frame::Text(text) = frame else { continue };
        heard.lock().expect("not poisoned").push(text.to_string());
        let signal = serde_json::from_str::<serde_json::Value>(&text).ok().filter(|v| v["type"] == "signal");
        let (Some(signal), Some(from)) = (signal, me.lock().expect("not poisoned").clone()) else {
            let _ = to_up.try_send(text.to_string());
            continue;
        };
        let Some(to) = signal["to"].as_str().map(|t| PeerId(t.to_owned())) else { continue };
        let Ok(payload) = serde_json::from_value::<SignalPayload>(signal["payload"].clone()) else { continue };
        match payload {
            SignalPayload::Offer { sdp } => {
                tokio::spawn(intercept(from, to, sdp, to_down.clone(), shared.clone()));
            }
            SignalPayload::Answer { sdp } => {
                let pc = shared.lock().expect("not poisoned").offered.get(&(from, to)).cloned();
                if let (Some(pc), Ok(answer)) = (pc, RTCSessionDescription::answer(sdp)) {
                    let _ = pc.set_remote_description(answer).await;
                }
            }
            // Dropped: the proxy's own descriptions carry its candidates, and each peer's checks reach it.
            SignalPayload::Candidate { .. } => {}
        }
    }
}

/// One leg: a peer connection, the signal that its gathering completed, the channels the peer opens on it.
async fn leg(shared: &Shared) -> Option<pair::Peer> {
    let settings = shared.lock().expect("not poisoned").settings.clone();
    let leg = pair::peer_with(&settings, CHANNELS).await.ok()?;
    shared.lock().expect("not poisoned").legs.push(leg.0.clone());
    Some(leg)
}

/// `from` offered a connection to `to`: answer it as if `to`, then offer `to` a connection as if `from`, opening
/// there each channel `from` opens here (and the other way), bridged.
async fn intercept(from: PeerId, to: PeerId, offer: String, to_from: mpsc::Sender<String>, shared: Shared) {
    let Some((near, near_gathered, mut near_channels)) = leg(&shared).await else { return };
    let Ok(offer) = RTCSessionDescription::offer(offer) else { return };
    if near.set_remote_description(offer).await.is_err() {
        return;
    }
    let Ok(answer) = near.create_answer(None).await else { return };
    let _ = near.set_local_description(answer).await;
    near_gathered.notified().await;
    let Some(sdp) = near.local_description().await.map(|d| d.sdp) else { return };
    let event = ServerEvent::Signal { from: to.clone(), payload: SignalPayload::Answer { sdp } };
    let _ = to_from.try_send(serde_json::to_string(&event).unwrap_or_default());

    // The offer to `to` needs a channel to carry an SCTP section: the first one `from` opens.
    let Some(first) = near_channels.recv().await else { return };
    let Some((far, far_gathered, mut far_channels)) = leg(&shared).await else { return };
    let Some(far_first) = mirror(&far, &first).await else { return };
    let Ok(offer) = far.create_offer(None).await else { return };
    let _ = far.set_local_description(offer).await;
    far_gathered.notified().await;
    let Some(sdp) = far.local_description().await.map(|d| d.sdp) else { return };
    let up = {
        let mut s = shared.lock().expect("not poisoned");
        s.offered.insert((to.clone(), from.clone()), far.clone());
        s.up.get(&from).cloned()
    };
    let Some(up) = up else { return };
    let _ = up.try_send(PeerRequest::Signal { to, payload: SignalPayload::Offer { sdp } }.to_json());
    tokio::spawn(pair_up(first, far_first, shared.clone()));
    // Every later channel, from either side, is opened on the other leg with its label.
    loop {
        tokio::select! {
            Some(dc) = near_channels.recv() => {
                if let Some(other) = mirror(&far, &dc).await {
                    tokio::spawn(pair_up(dc, other, shared.clone()));
                }
            }
            Some(dc) = far_channels.recv() => {
                if let Some(other) = mirror(&near, &dc).await {
                    tokio::spawn(pair_up(other, dc, shared.clone()));
                }
            }
            else => return,
        }
    }
}

/// A channel on `pc` with `dc`'s label.
async fn mirror(pc: &Arc<dyn PeerConnection>, dc: &Arc<dyn DataChannel>) -> Option<Arc<dyn DataChannel>> {
    let label = dc.label().await.ok()?;
    pc.create_data_channel(&label, Some(RTCDataChannelInit { ordered: true, ..Default::default() })).await.ok()
}

/// Once both are open, carries each one's messages to the other.
async fn pair_up(a: Arc<dyn DataChannel>, b: Arc<dyn DataChannel>, shared: Shared) {
    let (Some(early_a), Some(early_b)) = (opened(&a).await, opened(&b).await) else { return };
    let label = a.label().await.unwrap_or_default();
    tokio::spawn(forward(a.clone(), b.clone(), early_a, label.clone(), shared.clone()));
    forward(b, a, early_b, label, shared).await;
}

/// Waits for `dc` to be open; `None` if it closes first, else the messages it received meanwhile.
async fn opened(dc: &Arc<dyn DataChannel>) -> Option<Vec<BytesMut>> {
    let mut early = Vec::new();
    if dc.ready_state().await.ok()? == RTCDataChannelState::Open {
        return Some(early);
    }
    loop {
        match dc.poll().await {
            Some(DataChannelEvent::OnOpen) => return Some(early),
            Some(DataChannelEvent::OnMessage(msg)) => early.push(msg.data),
            Some(DataChannelEvent::OnClose) | None => return None,
            Some(_) => {}
        }
    }
}

/// Carries `early`, then every message of `from`, to `to`, recording each, until either closes.
async fn forward(
    from: Arc<dyn DataChannel>,
    to: Arc<dyn DataChannel>,
    early: Vec<BytesMut>,
    label: String,
    shared: Shared,
) {
    for data in early {
        record(&shared, &label, &data);
        if to.send(data).await.is_err() {
            return;
        }
    }
    loop {
        match from.poll().await {
            Some(DataChannelEvent::OnMessage(msg)) => {
                record(&shared, &label, &msg.data);
                if to.send(msg.data).await.is_err() {
                    return;
                }
            }
            Some(DataChannelEvent::OnClose) | None => return,
            Some(_) => {}
        }
    }
}

fn record(shared: &Shared, label: &str, data: &[u8]) {
    shared.lock().expect("not poisoned").bridged.send_modify(|b| b.push((label.to_owned(), data.to_vec())));
}
