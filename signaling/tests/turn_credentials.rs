//! TURN credentials that expire (`--turn-url`, `--turn-secret`, `--turn-ttl`): every connection's `welcome` ends
//! with the TURN server and a credential of its own (the TURN REST API scheme coturn checks: username
//! `<expiry>:<peer id>`, credential base64(HMAC-SHA1(secret, username))), renewed with `ice_servers` at half the
//! lifetime; a secret file that cannot be read stops the server at start with its name. That coturn accepts
//! these credentials, and refuses forged ones, is shown with a real coturn by tests/specs/turn-relay.test.mjs.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use sha1::Sha1;
use swarm::signal::{IceServer, ServerEvent};

const URL: &str = "turn:turn.example.org:3478?transport=udp";
const SECRET: &str = "test-secret";

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// Checks one TURN entry: the URL, a username `<expiry>:<peer>` with the expiry `ttl` from now (give or take the
/// test's own time), and the credential coturn would compute from the secret.
fn check(server: &IceServer, peer: &str, ttl: u64) -> u64 {
    assert_eq!(server.urls, [URL]);
    let username = server.username.as_deref().unwrap();
    let (expiry, who) = username.split_once(':').unwrap();
    assert_eq!(who, peer);
    let expiry: u64 = expiry.parse().unwrap();
    let now = unix_now();
    assert!(expiry + 5 >= now + ttl && expiry <= now + ttl, "expiry {expiry}, now {now}, ttl {ttl}");
    let mut mac = Hmac::<Sha1>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(username.as_bytes());
    assert_eq!(server.credential.as_deref(), Some(data_encoding::BASE64.encode(&mac.finalize().into_bytes()).as_str()));
    expiry
}

async fn server_with_turn(ttl: u64) -> (common::TestServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("turn-secret");
    std::fs::write(&secret, format!("{SECRET}\n")).unwrap();
    let server = common::start(|c| {
        c.ice_servers =
            vec![IceServer { urls: vec!["stun:stun.example.org:3478".into()], username: None, credential: None }];
        c.turn.turn_urls = vec![URL.into()];
        c.turn.turn_secret = Some(secret.clone());
        c.turn.turn_ttl = ttl;
    })
    .await;
    (server, dir)
}

#[tokio::test]
async fn every_connection_gets_a_turn_credential_of_its_own_after_the_static_servers() {
    let (server, _dir) = server_with_turn(3600).await;
    let (a, b) = (server.client().await, server.client().await);
    for client in [&a, &b] {
        let ServerEvent::Welcome { peer_id, ice_servers } = &client.welcome else { panic!() };
        assert_eq!(ice_servers.len(), 2, "{ice_servers:?}");
        assert_eq!(ice_servers[0].urls, ["stun:stun.example.org:3478"]);
        check(&ice_servers[1], &peer_id.0, 3600);
    }
    server.shut_down().await;
}

#[tokio::test]
async fn a_connected_peer_gets_new_credentials_at_half_their_lifetime() {
    let (server, _dir) = server_with_turn(10).await;
    let mut client = server.client().await;
    let ServerEvent::Welcome { ice_servers, .. } = client.welcome.clone() else { panic!() };
    let first = check(&ice_servers[1], &client.id.0, 10);
    // At 5 s: `recv` waits for the event itself (its deadline, 10 s, only guards against a hang).
    let renewed = client.recv().await;
    let ServerEvent::IceServers { ice_servers } = renewed else { panic!("not ice_servers: {renewed:?}") };
    let second = check(&ice_servers[1], &client.id.0, 10);
    assert!(second > first, "the renewed credential does not expire later ({first} then {second})");
    server.shut_down().await;
}

#[tokio::test]
async fn a_secret_file_that_cannot_be_read_stops_the_server_with_its_name() {
    let mut config = signaling::Config { listen: "127.0.0.1:0".parse().unwrap(), ..signaling::Config::default() };
    config.turn.turn_urls = vec![URL.into()];
    config.turn.turn_secret = Some("/nonexistent/turn-secret".into());
    let e = signaling::Server::start(config, std::future::pending()).await.unwrap_err().to_string();
    assert!(e.contains("cannot read the TURN secret file /nonexistent/turn-secret"), "{e}");
}
