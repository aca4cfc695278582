//! Hostile HTTP clients: sockets that say nothing, kept-alive connections that go silent, address prefixes
//! that try to fill the server, bad WebSocket keys, odd paths; and the security headers on every response.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::{GOOD_KEY, metric, request, start, until_closed, upgrade_request, within};
use futures::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn silent_sockets_are_closed_at_the_header_deadline_and_a_fresh_client_is_then_admitted() {
    let server = start(|c| {
        c.limits.header_timeout_ms = 300;
        c.limits.max_connections_per_ip = 3;
    })
    .await;
    let mut silent = Vec::new();
    for _ in 0..3 {
        silent.push(TcpStream::connect(server.addr).await.unwrap());
    }
    server.wait_connections(3).await;
    // The address is full: the next connection is closed at once.
    let mut refused = TcpStream::connect(server.addr).await.unwrap();
    until_closed(&mut refused, "the refused connection to close").await;
    for socket in &mut silent {
        // Each silent socket is closed by the server (EOF), not left open until the client leaves.
        assert!(until_closed(socket, "the server to close a silent socket").await.is_empty());
    }
    server.wait_connections(0).await;
    let mut client = server.client().await;
    client.ping().await;
    let ended = |reason: &str| format!(r#"signaling_connections_ended_total{{reason="{reason}"}}"#);
    assert_eq!(metric(server.addr, &ended("http_timeout")).await, 3);
    assert_eq!(metric(server.addr, &ended("refused_per_ip")).await, 1);
}

#[tokio::test]
async fn a_kept_alive_connection_silent_after_one_request_is_closed() {
    let server = start(|c| c.limits.header_timeout_ms = 300).await;
    let mut tcp = TcpStream::connect(server.addr).await.unwrap();
    tcp.write_all(format!("GET /healthz HTTP/1.1\r\nHost: {}\r\n\r\n", server.addr).as_bytes()).await.unwrap();
    let response = common::read_response(&mut tcp).await;
    assert_eq!((response.status, response.body.as_slice()), (200, b"ok\n".as_slice()));
    assert!(until_closed(&mut tcp, "the server to close an idle kept-alive connection").await.is_empty());
    server.wait_connections(0).await;
}

#[tokio::test]
async fn a_kept_alive_connection_serves_several_requests_within_the_deadline() {
    let server = start(|c| c.limits.header_timeout_ms = 2_000).await;
    let mut tcp = TcpStream::connect(server.addr).await.unwrap();
    for _ in 0..3 {
        tcp.write_all(format!("GET /healthz HTTP/1.1\r\nHost: {}\r\n\r\n", server.addr).as_bytes()).await.unwrap();
        assert_eq!(common::read_response(&mut tcp).await.status, 200);
    }
}

#[tokio::test]
async fn one_ipv4_24_cannot_hold_more_than_the_prefix_limit() {
    let server = start(|c| {
        c.limits.max_connections_per_ip = 10;
        c.limits.max_connections_per_prefix = 2;
    })
    .await;
    // Three addresses of 127.0.0.0/24 (all of 127/8 is loopback on Linux).
    let from = |last: u8| async move {
        let socket = TcpSocket::new_v4().unwrap();
        socket.bind(([127, 0, 0, last], 0).into()).unwrap();
        socket.connect(server.addr).await.unwrap()
    };
    let _a = from(2).await;
    let _b = from(3).await;
    server.wait_connections(2).await;
    let mut c = from(4).await;
    until_closed(&mut c, "the connection over the prefix limit to close").await;
    drop(_a);
    server.wait_connections(1).await;
    let mut d = from(5).await;
    d.write_all(format!("GET /healthz HTTP/1.1\r\nHost: {}\r\n\r\n", server.addr).as_bytes()).await.unwrap();
    assert_eq!(common::read_response(&mut d).await.status, 200);
    drop((_b, d));
    server.wait_connections(0).await;
    let refused = metric(server.addr, r#"signaling_connections_ended_total{reason="refused_per_prefix"}"#).await;
    assert_eq!(refused, 1);
}

#[tokio::test]
async fn an_upgrade_with_a_bad_websocket_key_gets_400() {
    let server = start(|_| {}).await;
    let keys = [
        None,
        Some("short"),
        // The base64 of 15 and of 17 bytes.
        Some("AAAAAAAAAAAAAAAAAAAA"),
        Some("AAAAAAAAAAAAAAAAAAAAAAA="),
        // 16 bytes' length, but not base64, wrong padding, or stray bits in the last character.
        Some("!AAAAAAAAAAAAAAAAAAAAA=="),
        Some("AAAAAAAAAAAAAAAAAAAAAA=A"),
        Some("AAAAAAAAAAAAAAAAAAAAAB=="),
    ];
    for key in keys {
        let extra = key.map(|k| format!("Sec-WebSocket-Key: {k}\r\n")).unwrap_or_default();
        let response = request(server.addr, &upgrade_request(server.addr, &extra)).await;
        assert_eq!(response.status, 400, "{key:?}");
        assert_eq!(response.header("sec-websocket-version"), Some("13"));
    }
    let twice = format!("{GOOD_KEY}{GOOD_KEY}");
    assert_eq!(request(server.addr, &upgrade_request(server.addr, &twice)).await.status, 400);
    assert_eq!(server.server.state_size().peers, 0);
    // The same request with a good key is upgraded.
    let response = request(server.addr, &upgrade_request(server.addr, GOOD_KEY)).await;
    assert_eq!(response.status, 101);
    assert_eq!(response.header("sec-websocket-accept"), Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
}

#[tokio::test]
async fn an_upgrade_with_another_websocket_version_gets_400() {
    let server = start(|_| {}).await;
    let text = upgrade_request(server.addr, GOOD_KEY).replace("Version: 13", "Version: 8");
    let response = request(server.addr, &text).await;
    assert_eq!(response.status, 400);
}

/// Log lines at WARN and above, written by the server while `f` runs on this thread (the test runtime has one
/// thread, so every server task runs on it).
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<u8>>>);

impl Write for Log {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn odd_paths_get_404_and_no_warning_or_error_in_the_log() {
    let log = Log::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::WARN)
        .with_writer({
            let log = log.clone();
            move || log.clone()
        })
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let server = start(|_| {}).await;
    let long = format!("/{}", "a".repeat(300));
    let deep = format!("/{}", "a/".repeat(600));
    let paths = [
        "/index.html%00.js",
        "/index.html/",
        "/index.html/x",
        "/pkg/peer_wasm_bg.wasm/",
        "/%01",
        "/a%ZZ",
        "/%ff",
        "/..%2f..%2fetc/passwd",
        "/%2e%2e/secret",
        "/a%5cb",
        long.as_str(),
        deep.as_str(),
        "/nothing-here",
    ];
    for path in paths {
        let response = server.get(path).await;
        assert_eq!(response.status, 404, "{path}");
    }
    // The files are still served.
    assert_eq!(server.get("/pkg/peer_wasm_bg.wasm").await.status, 200);
    assert_eq!(server.get("/pkg/").await.status, 404);
    let log = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    assert!(log.is_empty(), "the server logged:\n{log}");
}

#[tokio::test]
async fn security_headers_are_on_every_response() {
    let server = start(|_| {}).await;
    let responses = [
        ("a 404", server.get("/nothing-here").await),
        ("/healthz", server.get("/healthz").await),
        ("/metrics", server.get("/metrics").await),
        ("a plain GET of /ws", server.get("/ws").await),
        ("a 405", request(server.addr, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n").await),
        ("a 400 upgrade", request(server.addr, &upgrade_request(server.addr, "")).await),
        (
            "a 403 upgrade",
            request(server.addr, &upgrade_request(server.addr, &format!("{GOOD_KEY}Origin: http://evil.example\r\n")))
                .await,
        ),
    ];
    for (what, response) in &responses {
        assert!(response.status >= 200, "{what}");
        assert_eq!(response.header("x-content-type-options"), Some("nosniff"), "{what}");
        assert_eq!(response.header("referrer-policy"), Some("no-referrer"), "{what}");
        assert_eq!(response.header("x-frame-options"), Some("DENY"), "{what}");
        assert_eq!(response.header("cross-origin-resource-policy"), Some("same-origin"), "{what}");
        // Nothing in these may load or run anything.
        assert_eq!(
            response.header("content-security-policy"),
            Some("default-src 'none'; frame-ancestors 'none'"),
            "{what}"
        );
        assert_eq!(response.header("cache-control"), Some("no-store"), "{what}");
    }
    let statuses: Vec<u16> = responses.iter().map(|(_, r)| r.status).collect();
    assert_eq!(statuses, [404, 200, 200, 404, 405, 400, 403]);
    // The web app keeps its own policy, which lets it run its scripts and wasm.
    let index = server.get("/").await;
    assert!(index.header("content-security-policy").unwrap().contains("'wasm-unsafe-eval'"));
    assert_eq!(index.header("cache-control"), Some("no-cache"));
    assert_eq!(index.header("x-content-type-options"), Some("nosniff"));
}

#[tokio::test]
async fn a_websocket_outlives_the_header_deadline() {
    let server = start(|c| {
        c.limits.header_timeout_ms = 100;
        c.limits.ping_interval_ms = 400;
    })
    .await;
    let mut client = server.client().await;
    // The server's first WebSocket ping comes 400 ms in, well past the 100 ms header deadline.
    within("the server's WebSocket ping", async {
        while !matches!(client.ws.next().await, Some(Ok(Message::Ping(_)))) {}
    })
    .await;
    client.ping().await;
    assert_eq!(server.server.state_size().peers, 1);
    assert_eq!(metric(server.addr, r#"signaling_connections_ended_total{reason="http_timeout"}"#).await, 0);
}

#[tokio::test]
async fn a_client_that_does_not_read_its_response_is_dropped_after_the_write_timeout() {
    // A header timeout longer than the test's own deadline: only the write timeout can close it in time.
    let server = start(|c| {
        c.limits.write_timeout_ms = 300;
        c.limits.header_timeout_ms = 60_000;
    })
    .await;
    // Far more than the loopback socket buffers hold, so the server's writes stall.
    std::fs::write(server.www.path().join("big.bin"), vec![0u8; 64 << 20]).unwrap();
    let mut tcp = TcpStream::connect(server.addr).await.unwrap();
    tcp.write_all(format!("GET /big.bin HTTP/1.1\r\nHost: {}\r\n\r\n", server.addr).as_bytes()).await.unwrap();
    server.wait_connections(1).await;
    // Never read: the connection is closed and its slot freed.
    server.wait_connections(0).await;
    assert_eq!(metric(server.addr, r#"signaling_connections_ended_total{reason="http_timeout"}"#).await, 1);
    drop(tcp);
}
