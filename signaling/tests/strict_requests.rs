//! The server reads requests as docs/PROTOCOL.md 3 specifies them, strictly: one JSON object with its type's
//! fields only. The array form and unknown fields are `malformed` (a strike), not quietly accepted.

mod common;

use common::{metric, start};
use swarm::signal::{ErrorCode, ServerEvent};

#[tokio::test]
async fn requests_in_array_form_or_with_unknown_fields_get_malformed() {
    let server = start(|_| {}).await;
    let mut a = server.client().await;
    let refused = [
        r#"["join","net:lobby"]"#,
        r#"["ping"]"#,
        r#"{"type":"ping","x":1}"#,
        r#"{"type":"join","swarm":"net:lobby","x":1}"#,
        r#"{"type":"signal","to":"a","payload":["offer","v=0"]}"#,
    ];
    for text in refused {
        a.send_text(text).await;
        assert_eq!(a.recv_error().await, ErrorCode::Malformed, "{text}");
    }
    // Nothing of them was acted on: no membership, and the connection is still served.
    assert_eq!(server.server.state_size().memberships, 0);
    a.send_text(r#"{"type":"ping"}"#).await;
    assert_eq!(a.recv().await, ServerEvent::Pong);
    assert_eq!(metric(server.addr, r#"signaling_messages_refused_total{reason="malformed"}"#).await, 5);
}
