//! Joining and leaving swarms, member lists, and departures, over real WebSockets.

mod common;

use common::{name, start};
use swarm::signal::{ErrorCode, PeerRequest, ServerEvent};

#[tokio::test]
async fn welcome_carries_a_server_chosen_id_and_the_configured_ice_servers() {
    let server = start(|c| {
        c.ice_servers = vec![signaling::config::parse_ice_server("turn:t.example.org:3478|alice|secret").unwrap()]
    })
    .await;
    let a = server.client().await;
    let b = server.client().await;
    assert_ne!(a.id, b.id);
    assert_eq!(a.id.0.len(), 32);
    let ServerEvent::Welcome { ice_servers, .. } = &a.welcome else { unreachable!() };
    assert_eq!(ice_servers.len(), 1);
    assert_eq!(ice_servers[0].username.as_deref(), Some("alice"));
}

#[tokio::test]
async fn joiner_receives_the_current_members_but_not_itself() {
    let server = start(|_| {}).await;
    let mut a = server.client().await;
    let mut b = server.client().await;
    let mut c = server.client().await;
    assert!(a.join("net:lobby").await.is_empty());
    assert_eq!(b.join("net:lobby").await, vec![a.id.clone()]);
    let mut members = c.join("net:lobby").await;
    members.sort();
    let mut expected = vec![a.id.clone(), b.id.clone()];
    expected.sort();
    assert_eq!(members, expected);
}

#[tokio::test]
async fn member_list_is_a_bounded_subset() {
    let server = start(|c| c.limits.max_peers_per_join = 3).await;
    let mut members = Vec::new();
    for _ in 0..6 {
        let mut client = server.client().await;
        client.join("s").await;
        members.push(client);
    }
    let mut joiner = server.client().await;
    let got = joiner.join("s").await;
    assert_eq!(got.len(), 3);
    assert!(got.iter().all(|id| members.iter().any(|m| &m.id == id)));
}

#[tokio::test]
async fn joining_more_swarms_than_allowed_is_refused() {
    let server = start(|c| c.limits.max_swarms_per_peer = 2).await;
    let mut a = server.client().await;
    a.join("one").await;
    a.join("two").await;
    a.send(&PeerRequest::Join { swarm: name("three") }).await;
    assert_eq!(a.recv_error().await, ErrorCode::TooManySwarms);
    // Rejoining one it is in still works.
    a.join("two").await;
}

#[tokio::test]
async fn a_full_swarm_refuses_the_next_joiner() {
    let server = start(|c| c.limits.max_swarm_members = 2).await;
    let mut a = server.client().await;
    let mut b = server.client().await;
    let mut c = server.client().await;
    a.join("s").await;
    b.join("s").await;
    c.send(&PeerRequest::Join { swarm: name("s") }).await;
    assert_eq!(c.recv_error().await, ErrorCode::SwarmFull);
}

#[tokio::test]
async fn leaving_tells_the_remaining_members() {
    let server = start(|_| {}).await;
    let mut a = server.client().await;
    let mut b = server.client().await;
    a.join("s").await;
    b.join("s").await;
    b.send(&PeerRequest::Leave { swarm: name("s") }).await;
    assert_eq!(a.recv().await, ServerEvent::PeerLeft { swarm: name("s"), peer: b.id.clone() });
    // b is no longer offered to joiners.
    let mut c = server.client().await;
    assert_eq!(c.join("s").await, vec![a.id.clone()]);
}

#[tokio::test]
async fn leaving_a_swarm_not_joined_is_an_error() {
    let server = start(|_| {}).await;
    let mut a = server.client().await;
    a.send(&PeerRequest::Leave { swarm: name("s") }).await;
    assert_eq!(a.recv_error().await, ErrorCode::NotInSwarm);
}

#[tokio::test]
async fn disconnecting_tells_the_members_of_each_swarm() {
    let server = start(|_| {}).await;
    let mut a = server.client().await;
    let mut b = server.client().await;
    let mut gone = server.client().await;
    a.join("one").await;
    b.join("two").await;
    gone.join("one").await;
    gone.join("two").await;
    let gone_id = gone.id.clone();
    drop(gone);
    assert_eq!(a.recv().await, ServerEvent::PeerLeft { swarm: name("one"), peer: gone_id.clone() });
    assert_eq!(b.recv().await, ServerEvent::PeerLeft { swarm: name("two"), peer: gone_id });
}

#[tokio::test]
async fn a_swarm_name_outside_the_allowed_alphabet_is_malformed() {
    let server = start(|_| {}).await;
    let mut a = server.client().await;
    a.send_text(r#"{"type":"join","swarm":"Not/Allowed"}"#).await;
    assert_eq!(a.recv_error().await, ErrorCode::Malformed);
}
