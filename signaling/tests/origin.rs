//! Which web pages may open a signaling session: the `Origin` of a WebSocket upgrade against
//! `--allowed-origin` (default: the server's own origin). Clients that send no `Origin` are not browsers and
//! are always let in.

mod common;

use common::{GOOD_KEY, connect_with_origin, metric, request, start, upgrade_request};
use signaling::origin::parse_allowed_origin;
use swarm::signal::ServerEvent;

const FOREIGN: &str = "http://evil.example";

#[tokio::test]
async fn an_upgrade_from_a_foreign_origin_is_refused_with_403() {
    let server = start(|_| {}).await;
    assert_eq!(connect_with_origin(server.addr, Some(FOREIGN)).await.err(), Some(403));
    let raw = request(server.addr, &upgrade_request(server.addr, &format!("{GOOD_KEY}Origin: {FOREIGN}\r\n"))).await;
    assert_eq!(raw.status, 403);
    assert!(String::from_utf8_lossy(&raw.body).contains("origin"));
    assert_eq!(server.server.state_size().peers, 0);
    assert_eq!(metric(server.addr, r#"signaling_upgrades_refused_total{reason="origin"}"#).await, 2);
}

#[tokio::test]
async fn the_servers_own_origin_and_no_origin_are_upgraded() {
    let server = start(|_| {}).await;
    let own = format!("http://{}", server.addr);
    for origin in [Some(own.as_str()), None] {
        let client = connect_with_origin(server.addr, origin).await.unwrap();
        assert!(matches!(client.welcome, ServerEvent::Welcome { .. }), "{origin:?}");
    }
    // The same host on another port is another origin.
    let other_port = format!("http://{}:{}", server.addr.ip(), server.addr.port().wrapping_add(1));
    assert_eq!(connect_with_origin(server.addr, Some(&other_port)).await.err(), Some(403));
}

#[tokio::test]
async fn null_and_malformed_origins_are_refused_by_default() {
    let server = start(|_| {}).await;
    for origin in ["null", "file://", "http://a b", "http://[::1"] {
        assert_eq!(connect_with_origin(server.addr, Some(origin)).await.err(), Some(403), "{origin}");
    }
}

#[tokio::test]
async fn star_allows_any_origin() {
    let server = start(|c| c.allowed_origins = vec![parse_allowed_origin("*").unwrap()]).await;
    for origin in [Some(FOREIGN), Some("null"), None] {
        assert!(connect_with_origin(server.addr, origin).await.is_ok(), "{origin:?}");
    }
}

#[tokio::test]
async fn an_explicit_list_allows_only_its_origins() {
    let allowed = ["https://share.example.org", "http://localhost:3000"];
    let server =
        start(|c| c.allowed_origins = allowed.iter().map(|o| parse_allowed_origin(o).unwrap()).collect()).await;
    for origin in allowed {
        assert!(connect_with_origin(server.addr, Some(origin)).await.is_ok(), "{origin}");
    }
    let own = format!("http://{}", server.addr);
    for origin in [FOREIGN, own.as_str(), "http://share.example.org", "http://localhost:3001", "null"] {
        assert_eq!(connect_with_origin(server.addr, Some(origin)).await.err(), Some(403), "{origin}");
    }
    assert!(connect_with_origin(server.addr, None).await.is_ok());
}
