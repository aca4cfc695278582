//! Join/leave churn in the swarm every peer joins: the departures it fans out cost the server a bounded amount
//! and never the members their connection, and relays addressed to the members keep arriving during it.

mod common;

use common::{Client, name, offer, start, within};
use futures::SinkExt;
use signaling::Limits;
use swarm::signal::{PeerRequest, ServerEvent};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

const SWARM: &str = "net:default";
const VICTIMS: usize = 24;
const ATTACKERS: usize = 3;
/// Relays the honest peer sends to each victim during the churn.
const RELAYS_PER_VICTIM: usize = 4;

#[tokio::test]
async fn join_leave_churn_neither_drops_the_members_nor_delays_their_relays() {
    let server = start(|c| c.limits.max_swarm_members = VICTIMS + ATTACKERS + 1).await;
    let limits = Limits::default();
    let mut honest = server.client().await;
    honest.join(SWARM).await;
    let honest_id = honest.id.clone();
    let mut victim_ids = Vec::new();
    let mut victims = Vec::new();
    for _ in 0..VICTIMS {
        let mut victim = server.client().await;
        victim.join(SWARM).await;
        victim_ids.push(victim.id.clone());
        let honest_id = honest_id.clone();
        // Each victim reads as a browser does, on its own, until the honest peer's relays have all arrived.
        victims.push(tokio::spawn(async move {
            let mut relays = 0;
            let mut departures = 0;
            while relays < RELAYS_PER_VICTIM {
                match victim.recv().await {
                    ServerEvent::Signal { from, payload } => {
                        assert_eq!((from, payload), (honest_id.clone(), offer(&format!("to you {relays}"))));
                        relays += 1;
                    }
                    ServerEvent::PeerLeft { .. } => departures += 1,
                    other => panic!("unexpected event at a victim: {other:?}"),
                }
            }
            // The same connection, so the same id, is still served.
            departures += ping_through_departures(&mut victim).await;
            (victim, departures)
        }));
    }
    // Each attacker spends its whole token bucket on join/leave pairs, in one write, from its own task.
    let cycles = limits.message_burst as usize / 2;
    let (sent_tx, mut sent_rx) = mpsc::channel(ATTACKERS);
    let mut attackers = Vec::new();
    for _ in 0..ATTACKERS {
        let mut attacker = server.client().await;
        let sent_tx = sent_tx.clone();
        attackers.push(tokio::spawn(async move {
            let join = serde_json::to_string(&PeerRequest::Join { swarm: name(SWARM) }).unwrap();
            let leave = serde_json::to_string(&PeerRequest::Leave { swarm: name(SWARM) }).unwrap();
            for _ in 0..cycles {
                attacker.ws.feed(Message::text(join.clone())).await.unwrap();
                attacker.ws.feed(Message::text(leave.clone())).await.unwrap();
            }
            attacker.ws.flush().await.unwrap();
            sent_tx.send(()).await.unwrap();
            drain_churn_replies(&mut attacker, cycles).await;
            attacker
        }));
    }
    for _ in 0..ATTACKERS {
        within("an attacker's burst", sent_rx.recv()).await.unwrap();
    }
    // The churn is under way: the honest peer's relays must get through it.
    for round in 0..RELAYS_PER_VICTIM {
        for id in &victim_ids {
            honest.signal(id, offer(&format!("to you {round}"))).await;
        }
    }
    // Every client is kept open to the end, so the server's peer count below means something.
    let mut clients = Vec::new();
    let mut departures_seen = 0;
    for victim in victims {
        let (victim, departures) = within("a victim", victim).await.unwrap();
        departures_seen += departures;
        clients.push(victim);
    }
    for attacker in attackers {
        clients.push(within("an attacker", attacker).await.unwrap());
    }
    // No refusal for the honest peer: its next reply is the answer to its ping.
    ping_through_departures(&mut honest).await;
    assert_eq!(server.server.state_size().peers, 1 + VICTIMS + ATTACKERS, "nobody was dropped");
    assert_eq!(common::metric(server.addr, r#"signaling_connections_ended_total{reason="slow_consumer"}"#).await, 0);
    let announced_at_most = (VICTIMS + 1) * ATTACKERS * cycles;
    let dropped = common::metric(server.addr, r#"signaling_departures_dropped_total{reason="swarm_rate"}"#).await;
    assert!(dropped > 0, "the churn's departures were all announced");
    assert!(departures_seen < announced_at_most, "{departures_seen} departures reached the victims");
}

/// Reads an attacker's replies: one `joined` per cycle.
async fn drain_churn_replies(attacker: &mut Client, cycles: usize) {
    let mut joined = 0;
    while joined < cycles {
        match attacker.recv().await {
            ServerEvent::Joined { .. } => joined += 1,
            ServerEvent::PeerLeft { .. } => {}
            other => panic!("unexpected reply to the churn: {other:?}"),
        }
    }
}

/// Round trip through the server, skipping the departures queued before the pong; returns how many.
async fn ping_through_departures(client: &mut Client) -> usize {
    client.send(&PeerRequest::Ping).await;
    let mut departures = 0;
    loop {
        match client.recv().await {
            ServerEvent::Pong => return departures,
            ServerEvent::PeerLeft { .. } => departures += 1,
            other => panic!("expected a pong, got {other:?}"),
        }
    }
}
