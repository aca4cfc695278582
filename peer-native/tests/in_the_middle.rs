//! The signaling server as an active attacker in the middle (PROTOCOL.md 2.11). A proxy in front of the real server
//! passes every frame through as it is, except the peers' signals: it answers each offer itself and makes its own
//! offer to the other peer (sent through the real server as if from the offerer), so that each peer's connection
//! ends at the proxy, which bridges the two data channels byte for byte and records what crosses. Without the
//! handshake proof it would read the file as it goes by; with it, both sides see different DTLS fingerprints, the
//! proofs do not check, and nothing but the two Handshakes and two Goodbye(ProofFailed) crosses. The getter reports
//! the connection as tampered with.

// Helpers outside #[test] functions panic on a failed setup step, as the tests do.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "common/pair.rs"]
#[allow(dead_code)]
mod pair;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::BytesMut;
use common::{Running, World, options};
use futures::{SinkExt, StreamExt};
use swarm::signal::{PeerId, PeerRequest, ServerEvent, SignalPayload};
use swarm::wire::{self, GoodbyeReason, Message};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message as Frame;
use webrtc::data_channel::{DataChannel, DataChannelEvent, RTCDataChannelInit};
use webrtc::peer_connection::{PeerConnection, RTCSessionDescription};

/// What the attacker shares between its connections.
struct Attacker {
    /// Each peer's way up to the real server, by the id the server gave it.
    up: HashMap<PeerId, mpsc::Sender<String>>,
    /// The attacker's end of the connection it offered to `(to, from)`: `to`'s answer goes there.
    offered: HashMap<(PeerId, PeerId), Arc<dyn PeerConnection>>,
    /// Every data-channel message the bridge carried, as it crossed.
    bridged: watch::Sender<Vec<Vec<u8>>>,
    /// Kept alive for the test's length.
    legs: Vec<Arc<dyn PeerConnection>>,
}

type Shared = Arc<Mutex<Attacker>>;

/// Frames waiting to go to one peer or up for it: far more than a test session sends.
const FRAMES: usize = 1024;

/// Starts the attacking proxy in front of `upstream` (a `ws://` URL); returns its own URL.
async fn start_proxy(upstream: String, shared: Shared) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/ws", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(client(tcp, upstream.clone(), shared.clone()));
        }
    });
    url
}

/// One peer's signaling connection through the proxy.
async fn client(tcp: tokio::net::TcpStream, upstream: String, shared: Shared) {
    let down = tokio_tungstenite::accept_async(tcp).await.unwrap();
    let (up, _) = tokio_tungstenite::connect_async(upstream).await.unwrap();
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
    // Server to peer: passed through; the welcome tells the attacker who this peer is.
    let me: Arc<Mutex<Option<PeerId>>> = Arc::default();
    {
        let (shared, me, to_down, to_up) = (shared.clone(), me.clone(), to_down.clone(), to_up.clone());
        tokio::spawn(async move {
            while let Some(Ok(Frame::Text(text))) = up_stream.next().await {
                if let Ok(ServerEvent::Welcome { peer_id, .. }) = ServerEvent::parse(&text) {
                    shared.lock().unwrap().up.insert(peer_id.clone(), to_up.clone());
                    *me.lock().unwrap() = Some(peer_id);
                }
                let _ = to_down.try_send(text.to_string());
            }
        });
    }
    // Peer to server: passed through, but for signals.
    while let Some(Ok(frame)) = down_stream.next().await {
        let Frame::Text(text) = frame else { continue };
        let signal = serde_json::from_str::<serde_json::Value>(&text).ok().filter(|v| v["type"] == "signal");
        let Some(signal) = signal else {
            let _ = to_up.try_send(text.to_string());
            continue;
        };
        let from = me.lock().unwrap().clone().expect("a signal before the welcome");
        let to = PeerId(signal["to"].as_str().unwrap().to_owned());
        let payload: SignalPayload = serde_json::from_value(signal["payload"].clone()).unwrap();
        match payload {
            SignalPayload::Offer { sdp } => {
                tokio::spawn(intercept(from, to, sdp, to_down.clone(), shared.clone()));
            }
            SignalPayload::Answer { sdp } => {
                let pc = shared.lock().unwrap().offered.get(&(from, to)).cloned().expect("an answer to our offer");
                pc.set_remote_description(RTCSessionDescription::answer(sdp).unwrap()).await.unwrap();
            }
            // Dropped: the attacker's own descriptions carry its candidates, and each peer's checks reach it.
            SignalPayload::Candidate { .. } => {}
        }
    }
}

/// `from` offered a connection to `to`: answer it as if `to`, then offer `to` a connection as if `from`, with a
/// channel of the same label as the one `from` opens, and bridge the two.
async fn intercept(from: PeerId, to: PeerId, offer: String, to_from: mpsc::Sender<String>, shared: Shared) {
    let (near, near_gathered, mut near_channels) = pair::peer().await.unwrap();
    near.set_remote_description(RTCSessionDescription::offer(offer).unwrap()).await.unwrap();
    let answer = near.create_answer(None).await.unwrap();
    near.set_local_description(answer).await.unwrap();
    near_gathered.notified().await;
    let sdp = near.local_description().await.unwrap().sdp;
    let event = ServerEvent::Signal { from: to.clone(), payload: SignalPayload::Answer { sdp } };
    to_from.try_send(serde_json::to_string(&event).unwrap()).unwrap();
    shared.lock().unwrap().legs.push(near.clone());

    let near_dc = near_channels.recv().await.expect("the offerer's channel");
    let label = near_dc.label().await.unwrap();
    let (far, far_gathered, _) = pair::peer().await.unwrap();
    let init = RTCDataChannelInit { ordered: true, ..Default::default() };
    let far_dc = far.create_data_channel(&label, Some(init)).await.unwrap();
    let offer = far.create_offer(None).await.unwrap();
    far.set_local_description(offer).await.unwrap();
    far_gathered.notified().await;
    let sdp = far.local_description().await.unwrap().sdp;
    let up = {
        let mut s = shared.lock().unwrap();
        s.offered.insert((to.clone(), from.clone()), far.clone());
        s.legs.push(far.clone());
        s.up.get(&from).cloned().expect("the offerer's way up")
    };
    up.try_send(PeerRequest::Signal { to, payload: SignalPayload::Offer { sdp } }.to_json()).unwrap();
    loop {
        match far_dc.poll().await {
            Some(DataChannelEvent::OnOpen) => break,
            Some(DataChannelEvent::OnClose) | None => return,
            Some(_) => {}
        }
    }
    tokio::spawn(bridge(near_dc.clone(), far_dc.clone(), shared.clone()));
    bridge(far_dc, near_dc, shared).await;
}

/// Carries every message of `from` to `to`, recording it, until `from` closes.
async fn bridge(from: Arc<dyn DataChannel>, to: Arc<dyn DataChannel>, shared: Shared) {
    loop {
        match from.poll().await {
            Some(DataChannelEvent::OnMessage(msg)) => {
                shared.lock().unwrap().bridged.send_modify(|b| b.push(msg.data.to_vec()));
                if to.send(BytesMut::from(&msg.data[..])).await.is_err() {
                    return;
                }
            }
            Some(DataChannelEvent::OnClose) | None => return,
            Some(_) => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signaling_server_in_the_middle_is_refused_and_reads_nothing() {
    let w = World::new(1024 * 1024).await;
    let (bridged, mut crossed) = watch::channel(Vec::new());
    let attacker = Attacker { up: HashMap::new(), offered: HashMap::new(), bridged, legs: Vec::new() };
    let shared: Shared = Arc::new(Mutex::new(attacker));
    let proxy = start_proxy(w.server.url.clone(), shared.clone()).await;
    let through_proxy = || {
        let mut o = options(&w.server);
        o.signaling_url = proxy.clone();
        // Only the content's connection: no discovery neighbours to intercept as well.
        o.discovery.degree = 0;
        o
    };
    let seeder = Running::seed(through_proxy(), &w.source, &w.manifest);
    let out = w.path("copy.bin");
    let getter = Running::get(through_proxy(), &w.manifest, &out, None);

    // Both Handshakes and both Goodbyes crossed the bridge: both sides refused.
    let goodbye = wire::encode(&Message::Goodbye { reason: GoodbyeReason::ProofFailed });
    let refused_both = |b: &Vec<Vec<u8>>| b.iter().filter(|m| **m == goodbye).count() >= 2;
    let waited = tokio::time::timeout(common::TRANSFER_TIMEOUT, crossed.wait_for(refused_both)).await.is_ok();
    assert!(waited, "no refusal; crossed: {:?}", crossed.borrow());
    let reports = getter.stop().await;
    seeder.stop().await;

    // Nothing but the handshakes and the goodbyes: no manifest, no piece went through the attacker.
    let bridged = crossed.borrow().clone();
    for m in &bridged {
        let msg = wire::decode(m).unwrap();
        assert!(matches!(msg, Message::Handshake { .. } | Message::Goodbye { .. }), "the attacker read {msg:?}");
    }
    assert_eq!(bridged.len(), 4, "{bridged:?}");
    // The getter said it, in words a user can act on, and got nothing.
    assert!(!reports[0].complete);
    assert!(reports[0].refused.iter().any(|r| r.contains("tampered with")), "{:?}", reports[0].refused);
    assert!(std::fs::metadata(&out).map_or(true, |m| m.len() == 0), "bytes were written");
}
