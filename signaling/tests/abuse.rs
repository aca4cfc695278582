//! Malformed, binary, oversized and flooding input: error replies, strikes, closes, and everyone else keeps
//! being served.

mod common;

use common::{Client, metric, offer, start};
use futures::{SinkExt, StreamExt};
use swarm::signal::{ErrorCode, MAX_FRAME_LEN, PeerRequest, ServerEvent, SignalPayload};
use tokio_tungstenite::tungstenite::Message;

const POLICY_VIOLATION: u16 = 1008;

#[tokio::test]
async fn malformed_json_gets_an_error_reply_and_the_connection_stays_open() {
    let server = start(|_| {}).await;
    let mut a = server.client().await;
    a.send_text("{not json").await;
    assert_eq!(a.recv_error().await, ErrorCode::Malformed);
    a.send_text(r#"{"type":"launch_missiles"}"#).await;
    assert_eq!(a.recv_error().await, ErrorCode::Malformed);
    a.ping().await;
    assert_eq!(metric(server.addr, r#"signaling_messages_refused_total{reason="malformed"}"#).await, 2);
}

#[tokio::test]
async fn binary_frame_gets_an_error_reply() {
    let server = start(|_| {}).await;
    let mut a = server.client().await;
    a.ws.send(Message::binary(vec![1, 2, 3])).await.unwrap();
    assert_eq!(a.recv_error().await, ErrorCode::Malformed);
    a.ping().await;
    assert_eq!(metric(server.addr, r#"signaling_messages_refused_total{reason="binary"}"#).await, 1);
}

#[tokio::test]
async fn frame_over_the_limit_gets_too_large_and_the_connection_stays_open() {
    let server = start(|_| {}).await;
    let mut a = server.client().await;
    a.send_text(&" ".repeat(MAX_FRAME_LEN + 1)).await;
    assert_eq!(a.recv_error().await, ErrorCode::TooLarge);
    a.ping().await;
}

#[tokio::test]
async fn frame_far_over_the_limit_closes_the_connection() {
    let server = start(|_| {}).await;
    let mut a = server.client().await;
    let mut b = server.client().await;
    // Over 4x the frame limit, the WebSocket layer refuses to buffer it.
    let _ = a.ws.send(Message::text(" ".repeat(5 * MAX_FRAME_LEN))).await;
    a.closed().await;
    b.ping().await;
}

#[tokio::test]
async fn repeated_protocol_errors_close_the_connection_with_policy_violation() {
    let server = start(|c| c.limits.max_strikes = 3).await;
    let mut a = server.client().await;
    for _ in 0..3 {
        a.send_text("nonsense").await;
    }
    for _ in 0..3 {
        assert_eq!(a.recv_error().await, ErrorCode::Malformed);
    }
    assert_eq!(a.closed().await, Some(POLICY_VIOLATION));
    assert_eq!(metric(server.addr, r#"signaling_connections_ended_total{reason="misbehaving"}"#).await, 1);
}

#[tokio::test]
async fn messages_beyond_the_burst_are_rate_limited() {
    let server = start(|c| {
        c.limits.messages_per_sec = 1;
        c.limits.message_burst = 5;
    })
    .await;
    let mut a = server.client().await;
    for _ in 0..8 {
        a.send(&PeerRequest::Ping).await;
    }
    let mut pongs = 0;
    let mut limited = 0;
    for _ in 0..8 {
        match a.recv().await {
            ServerEvent::Pong => pongs += 1,
            ServerEvent::Error { code: ErrorCode::RateLimited, .. } => limited += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    // The bucket refills one token a second: at most one more can have come back during the test.
    assert!((5..=6).contains(&pongs), "{pongs} pongs");
    assert_eq!(pongs + limited, 8);
}

#[tokio::test]
async fn a_flooding_client_is_closed_while_others_keep_relaying() {
    let server = start(|_| {}).await;
    let mut a = server.client().await;
    let mut b = server.client().await;
    a.join("s").await;
    b.join("s").await;
    let mut flooder = server.client().await;
    flooder.join("s").await;
    let flood = tokio::spawn(async move {
        // Far over the default burst of 200: the excess is refused and counted until the strike limit closes it.
        for _ in 0..2_000 {
            if flooder.ws.send(Message::text(r#"{"type":"ping"}"#)).await.is_err() {
                break;
            }
        }
        flooder.closed().await
    });
    for i in 0..20 {
        b.signal(&a.id, offer(&format!("offer {i}"))).await;
        loop {
            match a.recv().await {
                ServerEvent::Signal { from, payload } => {
                    assert_eq!((from, payload), (b.id.clone(), offer(&format!("offer {i}"))));
                    break;
                }
                // The flooder's departure.
                ServerEvent::PeerLeft { .. } => continue,
                other => panic!("unexpected {other:?}"),
            }
        }
    }
    // The close frame may be lost to a reset: the server drops the socket with the rest of the flood unread.
    let close = common::within("the flooder's close", flood).await.unwrap();
    assert!(matches!(close, Some(POLICY_VIOLATION) | None), "{close:?}");
    assert_eq!(metric(server.addr, r#"signaling_connections_ended_total{reason="misbehaving"}"#).await, 1);
    assert!(metric(server.addr, r#"signaling_messages_refused_total{reason="rate_limited"}"#).await >= 10);
}

#[tokio::test]
async fn a_client_that_does_not_read_is_dropped_and_its_departure_announced() {
    let server = start(|c| {
        c.limits.send_queue = 4;
        c.limits.write_timeout_ms = 500;
        c.limits.messages_per_sec = 1_000_000;
        c.limits.message_burst = 1_000_000;
    })
    .await;
    let mut sleeper = server.client().await;
    sleeper.join("s").await;
    let sleeper_id = sleeper.id.clone();
    let mut sender = server.client().await;
    sender.join("s").await;
    let (mut sink, mut events) = sender.ws.split();
    // Big payloads fill the kernel's socket buffers quickly, then the server's queue for the sleeper.
    let payload = SignalPayload::Offer { sdp: "x".repeat(MAX_FRAME_LEN - 200) };
    let request = serde_json::to_string(&PeerRequest::Signal { to: sleeper_id.clone(), payload }).unwrap();
    let writer = tokio::spawn(async move {
        for _ in 0..20_000 {
            if sink.send(Message::text(request.clone())).await.is_err() {
                break;
            }
        }
    });
    let departure = common::within("the sleeper's departure", async {
        loop {
            match events.next().await {
                Some(Ok(Message::Text(text))) => match ServerEvent::parse(&text).unwrap() {
                    ServerEvent::PeerLeft { peer, .. } => return peer,
                    // Back-pressure: the sleeper's queue is full, so the sender's relays are refused.
                    ServerEvent::Error { code: ErrorCode::PeerBusy, .. } => continue,
                    other => panic!("unexpected {other:?}"),
                },
                Some(Ok(_)) => continue,
                other => panic!("sender's connection ended: {other:?}"),
            }
        }
    })
    .await;
    assert_eq!(departure, sleeper_id);
    writer.abort();
    // Dropped by its own write timeout, not by what was sent to it.
    assert_eq!(metric(server.addr, r#"signaling_connections_ended_total{reason="slow_consumer"}"#).await, 1);
    assert!(metric(server.addr, r#"signaling_messages_refused_total{reason="peer_busy"}"#).await >= 1);
    // The sleeper, reading at last, finds its connection ended after what was already in flight.
    common::within("the sleeper's stream to end", async { while let Some(Ok(_)) = sleeper.ws.next().await {} }).await;
}

#[tokio::test]
async fn connections_beyond_the_per_address_limit_are_refused() {
    let server = start(|c| c.limits.max_connections_per_ip = 2).await;
    let _a = server.client().await;
    let b = server.client().await;
    let refused = tokio_tungstenite::connect_async(format!("ws://{}/ws", server.addr)).await;
    assert!(refused.is_err());
    drop(b);
    server.wait_connections(1).await;
    assert_eq!(metric(server.addr, r#"signaling_connections_ended_total{reason="refused_per_ip"}"#).await, 1);
    server.wait_connections(1).await;
    let mut c = Client::connect(server.addr).await;
    c.ping().await;
}

#[tokio::test]
async fn an_idle_connection_is_closed_after_the_idle_timeout() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = start(|c| {
        c.limits.ping_interval_ms = 50;
        c.limits.idle_timeout_ms = 300;
    })
    .await;
    // A raw client that completes the handshake and then never answers the server's pings.
    let mut tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let handshake = "GET /ws HTTP/1.1\r\nHost: test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
        Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    tcp.write_all(handshake.as_bytes()).await.unwrap();
    let mut received = Vec::new();
    common::within("the server to close the idle connection", tcp.read_to_end(&mut received)).await.unwrap();
    let text = String::from_utf8_lossy(&received);
    assert!(text.starts_with("HTTP/1.1 101"), "{text}");
    assert!(text.contains("idle timeout"), "{text}");
    assert_eq!(metric(server.addr, r#"signaling_connections_ended_total{reason="idle"}"#).await, 1);
}

#[tokio::test]
async fn a_client_answering_pings_outlives_the_idle_timeout() {
    let server = start(|c| {
        c.limits.ping_interval_ms = 20;
        c.limits.idle_timeout_ms = 100;
    })
    .await;
    let mut a = server.client().await;
    // Ten server pings span twice the idle timeout; reading them makes the client answer each.
    let mut pings = 0;
    while pings < 10 {
        match common::within("a ping", a.ws.next()).await {
            Some(Ok(Message::Ping(_))) => pings += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    a.ping().await;
}
