//! Departure cleanup: whatever a connection owned is released when it goes, counted in the server's own state
//! after 10,000 connect/join/disconnect cycles.

mod common;

use common::{Client, start, within};
use signaling::hub::StateSize;
use swarm::signal::ServerEvent;

const CYCLES: usize = 10_000;
/// Clients connected at once, so the cycles overlap as real churn does.
const PARALLEL: usize = 50;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_connect_disconnect_cycles_leave_nothing_behind() {
    let server = start(|c| {
        c.limits.max_connections_per_ip = 2 * PARALLEL;
        // The observer reads every departure; a queue this deep never fills while it does.
        c.limits.send_queue = CYCLES;
        // Every departure is announced: the swarm's burst (two seconds' worth) covers them all.
        c.limits.departures_per_sec = CYCLES as u32;
    })
    .await;
    // An observer in the shared swarm counts departures, so the test waits on events, not on time.
    let mut observer = server.client().await;
    observer.join("net:churn").await;
    let addr = server.addr;
    let workers: Vec<_> = (0..PARALLEL)
        .map(|w| {
            tokio::spawn(async move {
                for i in (w..CYCLES).step_by(PARALLEL) {
                    let mut client = Client::connect(addr).await;
                    // A swarm of its own, which must disappear with its only member; then the shared one, last,
                    // because from then on departures of the other clients arrive.
                    client.join(&format!("own-{i}")).await;
                    client.join("net:churn").await;
                    if i % 2 == 0 {
                        // Half close cleanly, half just drop the socket.
                        client.ws.close(None).await.unwrap();
                    }
                }
            })
        })
        .collect();
    let mut departures = 0;
    while departures < CYCLES {
        match observer.recv().await {
            ServerEvent::PeerLeft { .. } => departures += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    for worker in workers {
        within("a worker", worker).await.unwrap();
    }
    assert_eq!(
        server.server.state_size(),
        StateSize { peers: 1, swarms: 1, memberships: 1, peer_swarm_entries: 1 },
        "only the observer is left"
    );
    server.wait_connections(1).await;
    assert_eq!(server.server.connections(), (1, 1));
    drop(observer);
    server.wait_connections(0).await;
    assert_eq!(server.server.state_size(), StateSize::default());
    assert_eq!(server.server.connections(), (0, 0));
}
