//! `--trust-proxy`: behind a reverse proxy every connection comes from the proxy's address. With the proxy trusted,
//! the per-address limits count the client its `X-Forwarded-For` names (so two clients behind it are two, and one
//! client cannot hold more than its share); from anyone not trusted those headers are ignored (a client cannot
//! dodge the limit by naming another address).

#![allow(clippy::unwrap_used)]

mod common;

use std::net::SocketAddr;

use futures::StreamExt;
use swarm::signal::ServerEvent;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{Error, Message};

/// A WebSocket session from 127.0.0.1 whose request carries `X-Forwarded-For: forwarded` (if any); `Ok` once
/// welcomed, else the HTTP status it was refused with (0: the connection was dropped before any answer).
async fn session(addr: SocketAddr, forwarded: Option<&'static str>) -> Result<impl Sized, u16> {
    let mut request = format!("ws://{addr}/ws").into_client_request().unwrap();
    if let Some(f) = forwarded {
        request.headers_mut().insert("x-forwarded-for", HeaderValue::from_static(f));
    }
    match common::within("the handshake", tokio_tungstenite::connect_async(request)).await {
        Ok((mut ws, _)) => {
            let Some(Ok(Message::Text(text))) = common::within("welcome", ws.next()).await else { return Err(0) };
            assert!(matches!(ServerEvent::parse(&text), Ok(ServerEvent::Welcome { .. })));
            Ok(ws)
        }
        Err(Error::Http(response)) => Err(response.status().as_u16()),
        Err(_) => Err(0),
    }
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_named_client_has_its_own_limit() {
    let server = common::start(|c| {
        c.limits.max_connections_per_ip = 1;
        c.trust_proxy = vec![signaling::proxy::parse_cidr("127.0.0.1").unwrap()];
    })
    .await;
    let a = session(server.addr, Some("198.51.100.1")).await.expect("the first client");
    let b = session(server.addr, Some("198.51.100.2")).await.expect("a second client behind the same proxy");
    assert_eq!(session(server.addr, Some("198.51.100.1")).await.err(), Some(503), "the first client, twice");
    assert_eq!(session(server.addr, None).await.err(), Some(400), "a trusted proxy that names nobody");
    drop((a, b));
    server.shut_down().await;
}

#[tokio::test]
async fn forwarding_headers_from_anyone_not_trusted_are_ignored() {
    let server = common::start(|c| {
        c.limits.max_connections_per_ip = 1;
        c.trust_proxy = vec![signaling::proxy::parse_cidr("10.9.9.9/32").unwrap()];
    })
    .await;
    let a = session(server.addr, Some("198.51.100.1")).await.expect("the first connection");
    // Naming another address does not make 127.0.0.1 someone else: its second connection is refused at accept.
    assert!(session(server.addr, Some("198.51.100.2")).await.is_err(), "a forged X-Forwarded-For was believed");
    drop(a);
    server.shut_down().await;
}
