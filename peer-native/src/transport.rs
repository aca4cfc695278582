//! WebRTC settings and peer-connection construction: everything that is the same for every remote peer.
//!
//! The settings exist to make the native peer behave like a browser on the wire (256 KiB data-channel messages,
//! as Chromium accepts) and to keep ICE where it is told to stay (mDNS off, UDP bound only to the addresses
//! given, so tests on loopback never send a packet off the machine).

use std::sync::Arc;
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

/// Builds one peer connection with the project's settings and the given event handler.
pub async fn build_peer_connection(
    settings: &RtcSettings,
    handler: Arc<dyn PeerConnectionEventHandler>,
) -> anyhow::Result<Arc<dyn PeerConnection>> {
    let ice_servers = settings
        .ice_servers
        .iter()
        .map(|s| RTCIceServer { urls: s.urls.clone(), username: s.username.clone(), credential: s.credential.clone() })
        .collect();
    let setting_engine = SettingEngineBuilder::new()
        // Both sides must advertise 256 KiB: a sender may not exceed the receiver's `max-message-size`, and
        // webrtc-rs advertises only the RFC 8841 default of 64 KiB unless told otherwise.
        .with_sctp_max_message_size(SctpMaxMessageSize::Bounded(MAX_MESSAGE_LEN))
        // No multicast: host candidates carry IP addresses and remote `.local` candidates are ignored.
        .with_multicast_dns_mode(MulticastDnsMode::Disabled)
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
