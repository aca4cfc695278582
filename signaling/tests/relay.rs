//! Relaying WebRTC setup messages between peers of a common swarm, and only between them.

mod common;

use common::{offer, start};
use swarm::signal::{ErrorCode, PeerId, ServerEvent, SignalPayload};

#[tokio::test]
async fn offer_answer_and_candidate_reach_the_named_peer_stamped_with_the_sender() {
    let server = start(|_| {}).await;
    let mut a = server.client().await;
    let mut b = server.client().await;
    a.join("s").await;
    let peers = b.join("s").await;
    b.signal(&peers[0], offer("v=0 offer")).await;
    assert_eq!(a.recv().await, ServerEvent::Signal { from: b.id.clone(), payload: offer("v=0 offer") });
    let answer = SignalPayload::Answer { sdp: "v=0 answer".into() };
    a.signal(&b.id, answer.clone()).await;
    assert_eq!(b.recv().await, ServerEvent::Signal { from: a.id.clone(), payload: answer });
    let candidate = SignalPayload::Candidate {
        candidate: "candidate:1 1 udp 2122260223 10.77.0.2 50000 typ host".into(),
        sdp_mid: Some("0".into()),
        sdp_m_line_index: Some(0),
    };
    a.signal(&b.id, candidate.clone()).await;
    assert_eq!(b.recv().await, ServerEvent::Signal { from: a.id.clone(), payload: candidate });
}

#[tokio::test]
async fn no_relay_between_peers_of_different_swarms() {
    let server = start(|_| {}).await;
    let mut a = server.client().await;
    let mut b = server.client().await;
    a.join("one").await;
    b.join("two").await;
    b.signal(&a.id, offer("x")).await;
    assert_eq!(b.recv_error().await, ErrorCode::UnknownPeer);
    // a got nothing: its next event is the answer to its own ping.
    a.ping().await;
}

#[tokio::test]
async fn no_relay_to_an_id_that_does_not_exist() {
    let server = start(|_| {}).await;
    let mut a = server.client().await;
    a.join("s").await;
    a.signal(&PeerId("0123456789abcdef0123456789abcdef".into()), offer("x")).await;
    assert_eq!(a.recv_error().await, ErrorCode::UnknownPeer);
    a.signal(&PeerId("not an id".into()), offer("x")).await;
    assert_eq!(a.recv_error().await, ErrorCode::UnknownPeer);
}

#[tokio::test]
async fn no_relay_to_oneself() {
    let server = start(|_| {}).await;
    let mut a = server.client().await;
    a.join("s").await;
    let me = a.id.clone();
    a.signal(&me, offer("x")).await;
    assert_eq!(a.recv_error().await, ErrorCode::UnknownPeer);
}

#[tokio::test]
async fn a_sender_id_in_the_request_is_refused_not_relayed() {
    let server = start(|_| {}).await;
    let mut a = server.client().await;
    let mut b = server.client().await;
    let mut victim = server.client().await;
    a.join("s").await;
    b.join("s").await;
    victim.join("s").await;
    // b tries to make a believe the offer comes from the victim.
    let spoof = format!(
        r#"{{"type":"signal","to":"{}","from":"{}","payload":{{"kind":"offer","sdp":"x"}}}}"#,
        a.id.0, victim.id.0
    );
    b.send_text(&spoof).await;
    assert_eq!(b.recv_error().await, ErrorCode::Malformed);
    // A valid relay from b is stamped with b's own id, whatever b claims elsewhere.
    b.signal(&a.id, offer("y")).await;
    assert_eq!(a.recv().await, ServerEvent::Signal { from: b.id.clone(), payload: offer("y") });
}

#[tokio::test]
async fn no_relay_after_the_receiver_left_the_common_swarm() {
    let server = start(|_| {}).await;
    let mut a = server.client().await;
    let mut b = server.client().await;
    a.join("s").await;
    b.join("s").await;
    a.send(&swarm::signal::PeerRequest::Leave { swarm: common::name("s") }).await;
    assert!(matches!(b.recv().await, ServerEvent::PeerLeft { .. }));
    b.signal(&a.id, offer("x")).await;
    assert_eq!(b.recv_error().await, ErrorCode::UnknownPeer);
}

#[tokio::test]
async fn a_relay_that_would_exceed_the_frame_limit_is_refused() {
    let server = start(|_| {}).await;
    let mut a = server.client().await;
    let mut b = server.client().await;
    a.join("s").await;
    b.join("s").await;
    // A request of exactly the frame limit: relayed, `"from"` is two bytes longer than `"to"`.
    let skeleton = format!(r#"{{"type":"signal","to":"{}","payload":{{"kind":"offer","sdp":""}}}}"#, a.id.0);
    let sdp = "x".repeat(swarm::signal::MAX_FRAME_LEN - skeleton.len());
    let request = format!(r#"{{"type":"signal","to":"{}","payload":{{"kind":"offer","sdp":"{sdp}"}}}}"#, a.id.0);
    assert_eq!(request.len(), swarm::signal::MAX_FRAME_LEN);
    b.send_text(&request).await;
    assert_eq!(b.recv_error().await, ErrorCode::TooLarge);
    a.ping().await;
}
