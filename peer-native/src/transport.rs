//! WebRTC settings and peer-connection construction: everything that is the same for every remote peer.
//!
//! The settings exist to make the native peer behave like a browser on the wire (256 KiB data-channel messages,
//! as Chromium accepts) and to keep ICE where it is told to stay (mDNS off, UDP bound only to the addresses
//! given, so tests on loopback never send a packet off the machine).

use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use rtc::ice::mdns::MulticastDnsMode;
use rtc::peer_connection::configuration::setting_engine::SctpMaxMessageSize;
use webrtc::peer_connection::{
    PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler, RTCConfigurationBuilder, RTCIceServer,
    SettingEngineBuilder,
};

/// Largest data-channel message this peer advertises and sends: one swarm wire message at most.
pub const MAX_MESSAGE_LEN: u32 = swarm::wire::MAX_MESSAGE_LEN as u32;

/// How the peer reaches other peers.
#[derive(Debug, Clone)]
pub struct RtcSettings {
    /// STUN/TURN servers; empty means host candidates only.
    pub ice_servers: Vec<IceServer>,
    /// Local UDP addresses to gather host candidates on. `0.0.0.0:0` means every non-loopback interface;
    /// `127.0.0.1:0` keeps everything on loopback.
    pub udp_bind: Vec<String>,
    /// Longest wait for ICE gathering before an offer or answer is sent with the candidates found so far.
    pub gather_timeout: Duration,
    /// Longest data-channel message this peer takes (its SDP's `a=max-message-size`) and sends; at most
    /// [`MAX_MESSAGE_LEN`]. A connection carries the smaller of the two sides' values (PROTOCOL.md 2.10).
    pub max_message: u32,
}

/// One ICE server from the command line or from the signaling server's `welcome`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IceServer {
    pub urls: Vec<String>,
    pub username: String,
    pub credential: String,
}

impl Default for RtcSettings {
    fn default() -> Self {
        RtcSettings {
            ice_servers: Vec::new(),
            udp_bind: vec!["0.0.0.0:0".to_owned()],
            gather_timeout: Duration::from_secs(5),
            max_message: MAX_MESSAGE_LEN,
        }
    }
}

impl From<swarm::signal::IceServer> for IceServer {
    fn from(s: swarm::signal::IceServer) -> Self {
        IceServer {
            urls: s.urls,
            username: s.username.unwrap_or_default(),
            credential: s.credential.unwrap_or_default(),
        }
    }
}

/// The connection a data channel belongs to, as its channel task asks what it negotiated. Weak: a channel task
/// does not keep its connection open. Unset (or gone), it reports RFC 8841's default.
#[derive(Clone, Default)]
pub struct ConnectionRef(Arc<OnceLock<Weak<dyn PeerConnection>>>);

impl std::fmt::Debug for ConnectionRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionRef").field("set", &self.0.get().is_some()).finish()
    }
}

impl ConnectionRef {
    /// Points this (and every clone) at `pc`; once.
    pub fn set(&self, pc: &Arc<dyn PeerConnection>) {
        let _ = self.0.set(Arc::downgrade(pc));
    }

    /// See [`max_message_of`].
    pub async fn max_message(&self) -> u32 {
        match self.0.get().and_then(Weak::upgrade) {
            Some(pc) => max_message_of(&*pc).await,
            None => swarm::wire::DEFAULT_MAX_MESSAGE,
        }
    }
}

/// The longest data-channel message `pc`'s connection carries to the remote peer, once its SCTP association is up:
/// the smaller of this side's [`RtcSettings::max_message`] and the remote's `a=max-message-size`. RFC 8841's
/// default when the stack cannot tell (the connection is closing then).
pub async fn max_message_of(pc: &dyn PeerConnection) -> u32 {
    match pc.sctp().await {
        Some(sctp) => sctp.max_message_size().await.unwrap_or(swarm::wire::DEFAULT_MAX_MESSAGE),
        None => swarm::wire::DEFAULT_MAX_MESSAGE,
    }
}

/// A `stun:` URL for every UDP `turn:` server that is not also named as a STUN server. A TURN server answers STUN
/// Binding requests too, and browsers learn their server-reflexive address from it; webrtc-rs gathers only relayed
/// candidates from a `turn:` URL. Without this, two peers behind port-preserving NATs given only a TURN server
/// (as the signaling server's `--turn-url` announces) would relay what they could send directly.
pub fn stun_of_turn(servers: &[IceServer]) -> Vec<String> {
    let named: Vec<&str> = servers.iter().flat_map(|s| &s.urls).filter_map(|u| u.strip_prefix("stun:")).collect();
    let mut out: Vec<String> = Vec::new();
    for url in servers.iter().flat_map(|s| &s.urls) {
        let Some(rest) = url.strip_prefix("turn:") else { continue };
        let (host_port, query) = rest.split_once('?').unwrap_or((rest, ""));
        if !(query.is_empty() || query == "transport=udp") || named.contains(&host_port) {
            continue;
        }
        let stun = format!("stun:{host_port}");
        if !out.contains(&stun) {
            out.push(stun);
        }
    }
    out
}

/// How long ICE waits for a direct pair before it lets a relayed one carry the connection: rtc-ice's default is 2 s,
/// which every relayed connection paid in full. With the vendored rtc-ice the controlling side keeps checking the
/// better pairs after it settled on the relay and moves to one that works, so waiting longer only delays a
/// connection that needs the relay; 500 ms is rtc-ice's wait for a server-reflexive pair, so a hole punched through
/// two port-keeping NATs is still preferred whenever it answers as fast.
const RELAY_ACCEPTANCE_WAIT: Duration = Duration::from_millis(500);
/// How long ICE waits before it nominates a pair whose remote address it learned from a check (peer-reflexive: the
/// other side's mapping behind a NAT that maps each destination anew, or a candidate the check beat). rtc-ice's
/// default is 1 s, twice the wait for the relay, so a relayed pair was taken first and a direct one waited for
/// the move above; a peer-reflexive address is as direct as a server-reflexive one, and waits as long.
const PRFLX_ACCEPTANCE_WAIT: Duration = Duration::from_millis(500);
/// Checks sent on each candidate pair before it counts as failed, one every 200 ms (rtc-ice's interval): 5 s,
/// against rtc-ice's 7 (1.4 s), so a direct pair answered late (a busy machine, a slow NAT) can still take over
/// from the relay.
const DIRECT_CHECK_ATTEMPTS: u16 = 25;

/// Builds one peer connection with the project's settings and the given event handler.
pub async fn build_peer_connection(
    settings: &RtcSettings,
    handler: Arc<dyn PeerConnectionEventHandler>,
) -> anyhow::Result<Arc<dyn PeerConnection>> {
    let mut ice_servers: Vec<RTCIceServer> = settings
        .ice_servers
        .iter()
        .map(|s| RTCIceServer { urls: s.urls.clone(), username: s.username.clone(), credential: s.credential.clone() })
        .collect();
    let stun = stun_of_turn(&settings.ice_servers);
    if !stun.is_empty() {
        ice_servers.push(RTCIceServer { urls: stun, ..Default::default() });
    }
    let setting_engine = SettingEngineBuilder::new()
        // 256 KiB unless told otherwise: a sender may not exceed the receiver's `max-message-size`, and webrtc-rs
        // advertises only the RFC 8841 default of 64 KiB unless told otherwise.
        .with_sctp_max_message_size(SctpMaxMessageSize::Bounded(settings.max_message.min(MAX_MESSAGE_LEN)))
        // No multicast: host candidates carry IP addresses and remote `.local` candidates are ignored.
        .with_multicast_dns_mode(MulticastDnsMode::Disabled)
        // A relayed pair may carry the connection after RELAY_ACCEPTANCE_WAIT, while the direct pairs go on being
        // checked DIRECT_CHECK_ATTEMPTS times; one that works then takes over (vendor/README.md, rtc-ice).
        .with_relay_acceptance_min_wait(Some(RELAY_ACCEPTANCE_WAIT))
        .with_prflx_acceptance_min_wait(Some(PRFLX_ACCEPTANCE_WAIT))
        .with_ice_connection_attempts(None, Some(DIRECT_CHECK_ATTEMPTS))
        .build();
    let pc = PeerConnectionBuilder::new()
        .with_configuration(RTCConfigurationBuilder::new().with_ice_servers(ice_servers).build())
        .with_setting_engine(setting_engine)
        .with_handler(handler)
        .with_udp_addrs(settings.udp_bind.clone())
        .build()
        .await?;
    Ok(Arc::new(pc))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(urls: &[&str]) -> IceServer {
        IceServer { urls: urls.iter().map(|u| (*u).to_owned()).collect(), username: "u".into(), credential: "c".into() }
    }

    #[test]
    fn a_udp_turn_server_is_asked_for_the_reflexive_address_too() {
        let servers = [server(&["turn:t.example:3478?transport=udp", "turn:t.example:3478?transport=tcp"])];
        assert_eq!(stun_of_turn(&servers), vec!["stun:t.example:3478".to_owned()]);
        assert_eq!(stun_of_turn(&[server(&["turn:[2001:db8::1]:3478"])]), vec!["stun:[2001:db8::1]:3478".to_owned()]);
    }

    #[test]
    fn nothing_is_added_for_turns_tcp_or_a_server_already_named() {
        assert!(stun_of_turn(&[server(&["turns:t.example:5349", "turn:t.example:3478?transport=tcp"])]).is_empty());
        assert!(stun_of_turn(&[server(&["turn:t.example:3478"]), server(&["stun:t.example:3478"])]).is_empty());
        assert!(stun_of_turn(&[server(&["stun:s.example:3478"])]).is_empty());
    }
}
