//! WebSocket control frames (ping, pong) count against the connection's message rate: a flood of them is
//! refused, struck and closed like a flood of requests, and other connections keep being served.

mod common;

use common::{metric, start};
use futures::SinkExt;
use signaling::Limits;
use tokio_tungstenite::tungstenite::Message;

const POLICY_VIOLATION: u16 = 1008;

#[tokio::test]
async fn a_ping_flood_is_closed_with_policy_violation_while_others_are_served() {
    let server = start(|_| {}).await;
    let limits = Limits::default();
    let mut bystander = server.client().await;
    let mut flooder = server.client().await;
    // Ten times the token bucket: far more than the strikes allow once the bucket is empty.
    let flood = 10 * limits.message_burst as usize;
    let flooding = tokio::spawn(async move {
        for _ in 0..flood {
            if flooder.ws.send(Message::Ping(Default::default())).await.is_err() {
                break;
            }
        }
        flooder.closed().await
    });
    for _ in 0..20 {
        bystander.ping().await;
    }
    // The close frame may be lost to a reset: the server drops the socket with the rest of the flood unread.
    let close = common::within("the flooder's close", flooding).await.unwrap();
    assert!(matches!(close, Some(POLICY_VIOLATION) | None), "{close:?}");
    assert_eq!(metric(server.addr, r#"signaling_connections_ended_total{reason="misbehaving"}"#).await, 1);
    let limited = metric(server.addr, r#"signaling_messages_refused_total{reason="rate_limited"}"#).await;
    assert_eq!(limited, u64::from(limits.max_strikes));
    bystander.ping().await;
}
