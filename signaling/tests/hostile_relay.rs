//! A burst of relays at one peer: back-pressure lands on the sender (refusals beyond its share of the receiver's
//! queue), never on the receiver, and other senders still reach the receiver.

mod common;

use common::{offer, start};
use futures::SinkExt;
use signaling::Limits;
use swarm::signal::{ErrorCode, PeerRequest, ServerEvent, SignalPayload};
use tokio_tungstenite::tungstenite::Message;

/// Relays from the honest sender, sent while the burst is being handled.
const HONEST: usize = 10;

#[tokio::test]
async fn a_burst_of_relays_at_one_peer_is_refused_to_its_sender_and_the_receiver_stays_connected() {
    let server = start(|_| {}).await;
    let limits = Limits::default();
    let mut victim = server.client().await;
    let mut attacker = server.client().await;
    let mut honest = server.client().await;
    victim.join("s").await;
    attacker.join("s").await;
    honest.join("s").await;
    // The whole token bucket but the join above and the ping that ends the burst.
    let burst = limits.message_burst as usize - 2;
    // One write: the server reads the whole burst in one go, as it would from a fast sender. In this
    // single-threaded runtime the receiver's task cannot drain its queue while the sender's task handles what it
    // read, so the sender's share is used up and refusals are certain, not a matter of timing.
    for i in 0..burst {
        let request = PeerRequest::Signal { to: victim.id.clone(), payload: offer(&format!("burst {i}")) };
        attacker.ws.feed(Message::text(serde_json::to_string(&request).unwrap())).await.unwrap();
    }
    attacker.ws.feed(Message::text(serde_json::to_string(&PeerRequest::Ping).unwrap())).await.unwrap();
    attacker.ws.flush().await.unwrap();
    for i in 0..HONEST {
        honest.signal(&victim.id, offer(&format!("honest {i}"))).await;
    }
    // Replies come in order: every refusal of the burst arrives before the pong.
    let mut refused = 0;
    loop {
        match attacker.recv().await {
            ServerEvent::Pong => break,
            ServerEvent::Error { code: ErrorCode::PeerBusy, .. } => refused += 1,
            other => panic!("unexpected reply to the burst: {other:?}"),
        }
    }
    let accepted = burst - refused;
    let (mut from_attacker, mut from_honest) = (0, 0);
    let mut last_of_burst: Option<usize> = None;
    while from_attacker < accepted || from_honest < HONEST {
        match victim.recv().await {
            ServerEvent::Signal { from, payload: SignalPayload::Offer { sdp } } if from == attacker.id => {
                // What got through is the burst with gaps, in order.
                let n: usize = sdp.strip_prefix("burst ").unwrap().parse().unwrap();
                assert!(last_of_burst.is_none_or(|last| n > last), "burst {n} after burst {last_of_burst:?}");
                last_of_burst = Some(n);
                from_attacker += 1;
            }
            ServerEvent::Signal { from, payload } if from == honest.id => {
                assert_eq!(payload, offer(&format!("honest {from_honest}")));
                from_honest += 1;
            }
            other => panic!("unexpected event at the receiver: {other:?}"),
        }
    }
    // Still connected, with the same id: the server answers it.
    victim.ping().await;
    // The honest sender got no refusal: its next reply is the answer to its own ping.
    honest.ping().await;
    assert!(refused > 0, "a burst of {burst} fits no share of a queue");
    assert!(accepted >= limits.send_queue_per_sender, "{accepted} accepted, below one sender's share");
    assert_eq!(
        common::metric(server.addr, r#"signaling_messages_refused_total{reason="peer_busy"}"#).await,
        refused as u64
    );
}
