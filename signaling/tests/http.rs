//! The HTTP side: the web app's static files with their media types and security headers, `/healthz`,
//! `/metrics`.

mod common;

use common::start;

#[tokio::test]
async fn index_is_served_with_security_headers() {
    let server = start(|_| {}).await;
    let response = server.get("/").await;
    assert_eq!(response.status, 200);
    assert!(String::from_utf8_lossy(&response.body).contains("p2p-share"));
    assert_eq!(response.header("content-type"), Some("text/html"));
    assert_eq!(response.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(response.header("referrer-policy"), Some("no-referrer"));
    let csp = response.header("content-security-policy").unwrap();
    assert!(csp.contains("script-src 'self' 'wasm-unsafe-eval'"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
}

#[tokio::test]
async fn wasm_is_served_as_application_wasm() {
    let server = start(|_| {}).await;
    let response = server.get("/pkg/peer_wasm_bg.wasm").await;
    assert_eq!(response.status, 200);
    assert_eq!(response.header("content-type"), Some("application/wasm"));
    assert_eq!(response.body, b"\0asm\x01\0\0\0");
}

#[tokio::test]
async fn paths_outside_www_are_not_served() {
    let server = start(|_| {}).await;
    std::fs::write(server.www.path().parent().unwrap().join("secret.txt"), "secret").ok();
    let response = server.get("/../secret.txt").await;
    assert_ne!(response.status, 200);
    let response = server.get("/%2e%2e/secret.txt").await;
    assert_ne!(response.status, 200);
}

#[tokio::test]
async fn healthz_answers_ok() {
    let server = start(|_| {}).await;
    let response = server.get("/healthz").await;
    assert_eq!((response.status, response.body.as_slice()), (200, b"ok\n".as_slice()));
}

#[tokio::test]
async fn metrics_count_peers_swarms_and_relays_in_prometheus_text() {
    let server = start(|_| {}).await;
    let mut a = server.client().await;
    let mut b = server.client().await;
    a.join("s").await;
    b.join("s").await;
    b.join("t").await;
    b.signal(&a.id, common::offer("x")).await;
    a.recv().await;
    let response = server.get("/metrics").await;
    assert!(response.header("content-type").unwrap().starts_with("application/openmetrics-text"));
    let body = String::from_utf8(response.body).unwrap();
    for line in [
        "signaling_peers 2",
        "signaling_swarms 2",
        "signaling_memberships 3",
        "signaling_messages_relayed_total 1",
        "signaling_websockets_opened_total 2",
    ] {
        assert!(body.lines().any(|l| l == line), "no {line:?} in\n{body}");
    }
}

#[tokio::test]
async fn a_request_head_that_never_completes_is_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = start(|c| c.limits.header_timeout_ms = 200).await;
    let mut tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    tcp.write_all(b"GET / HTTP/1.1\r\nHost: slow\r\n").await.unwrap();
    let mut rest = Vec::new();
    // The server closes the connection (possibly after a 408) instead of waiting forever.
    let _ = common::within("the server to drop a slow request head", tcp.read_to_end(&mut rest)).await;
    server.wait_connections(0).await;
}

#[tokio::test]
async fn a_plain_get_of_the_websocket_path_is_not_upgraded() {
    let server = start(|_| {}).await;
    let response = server.get("/ws").await;
    assert_eq!(response.status, 404);
    assert_eq!(server.server.state_size().peers, 0);
}
