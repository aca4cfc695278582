//! The signaling server as an active attacker in the middle (PROTOCOL.md 2.11; the attacker is
//! `common/attacker.rs`: it answers every offer itself, offers the other side, and bridges the two legs' data
//! channels byte for byte). Without the handshake proof it would read the file as it goes by; with it, the two
//! sides see different DTLS fingerprints, the proofs do not check, and nothing but the two Handshakes and the two
//! Goodbye(ProofFailed) crosses. The getter reports the connection as tampered with and writes nothing.

mod common;

#[path = "common/attacker.rs"]
#[allow(dead_code)]
mod attacker;

use common::{Running, World, options};
use peer_native::transport::RtcSettings;
use swarm::wire::{self, GoodbyeReason, Message};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signaling_server_in_the_middle_is_refused_and_reads_nothing() {
    let w = World::new(1024 * 1024).await;
    let upstream_addr = w.server.url.trim_start_matches("ws://").trim_end_matches("/ws").to_owned();
    let settings = RtcSettings { udp_bind: vec!["127.0.0.1:0".to_owned()], ..RtcSettings::default() };
    let mut proxy = attacker::start("127.0.0.1:0", w.server.url.clone(), upstream_addr, settings).await;
    let through_proxy = || {
        let mut o = options(&w.server);
        o.signaling_url = proxy.url.clone();
        // Only the content's connection: no discovery neighbours.
        o.discovery.degree = 0;
        o
    };
    let seeder = Running::seed(through_proxy(), &w.source, &w.manifest);
    let out = w.path("copy.bin");
    let getter = Running::get(through_proxy(), &w.manifest, &out, None);

    // Both Handshakes and both Goodbyes crossed the bridge: both sides refused.
    let goodbye = wire::encode(&Message::Goodbye { reason: GoodbyeReason::ProofFailed });
    let refused_both = |b: &Vec<(String, Vec<u8>)>| b.iter().filter(|(_, m)| *m == goodbye).count() >= 2;
    let waited = tokio::time::timeout(common::TRANSFER_TIMEOUT, proxy.bridged.wait_for(refused_both)).await.is_ok();
    assert!(waited, "no refusal; crossed: {:?}", proxy.bridged.borrow());
    let reports = getter.stop().await;
    seeder.stop().await;

    // Nothing but the handshakes and the goodbyes: no manifest, no piece went through the attacker.
    let bridged = proxy.bridged.borrow().clone();
    for (_, m) in &bridged {
        let msg = wire::decode(m).expect("a wire message");
        assert!(matches!(msg, Message::Handshake { .. } | Message::Goodbye { .. }), "the attacker read {msg:?}");
    }
    assert_eq!(bridged.len(), 4, "{bridged:?}");
    // The getter said it, in words a user can act on, and got nothing.
    assert!(!reports[0].complete);
    assert!(reports[0].refused.iter().any(|r| r.contains("tampered with")), "{:?}", reports[0].refused);
    assert!(std::fs::metadata(&out).map_or(true, |m| m.len() == 0), "bytes were written");

    // The server's whole view (every frame both peers sent it, their offers and answers included) names neither
    // the content id, in any encoding, nor the file.
    let heard = proxy.heard.lock().expect("not poisoned").join("\n");
    assert!(heard.contains("\"join\""), "the proxy heard no join: {heard:.200}");
    let id = w.manifest.content_id();
    // Unpadded base64 is a prefix of the padded form: both are caught.
    let forms = [
        data_encoding::HEXLOWER.encode(id.as_bytes()),
        data_encoding::HEXUPPER.encode(id.as_bytes()),
        data_encoding::BASE64_NOPAD.encode(id.as_bytes()),
        data_encoding::BASE64URL_NOPAD.encode(id.as_bytes()),
    ];
    for form in &forms {
        assert!(!heard.contains(form.as_str()), "the server heard the content id as {form}");
    }
    assert!(!heard.contains(w.manifest.name()), "the server heard the file name");
}
