//! Which network path a connection took: ICE's selected candidate pair, direct (host, server- or peer-reflexive
//! candidates at both ends) or through a TURN relay (a relayed candidate at either end).

use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use webrtc::peer_connection::{PeerConnection, RTCStatsReport, RTCStatsReportEntry, StatsSelector};

/// The selected candidate pair of a connection, by candidate type (`host`, `srflx`, `prflx`, `relay`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path {
    pub local: String,
    pub remote: String,
}

impl Path {
    /// Whether the data goes through a TURN server (this side's relay, the remote side's, or both).
    pub fn relayed(&self) -> bool {
        self.local == "relay" || self.remote == "relay"
    }

    /// `direct` or `relayed`, as the log says it.
    pub fn kind(&self) -> &'static str {
        if self.relayed() { "relayed" } else { "direct" }
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({} -> {})", self.kind(), self.local, self.remote)
    }
}

/// The connection's selected candidate pair, when ICE has one.
pub async fn selected(pc: &Arc<dyn PeerConnection>) -> Option<Path> {
    let report = pc.get_stats(Instant::now(), StatsSelector::None).await;
    from_report(&report)
}

fn from_report(report: &RTCStatsReport) -> Option<Path> {
    let by_transport = report.transport().map(|t| t.selected_candidate_pair_id.as_str()).filter(|id| !id.is_empty());
    let pair = report
        .candidate_pairs()
        .find(|p| Some(p.stats.id.as_ref()) == by_transport)
        .or_else(|| report.candidate_pairs().find(|p| p.nominated))?;
    // webrtc-rs 0.21 files candidates under prefixed ids while a pair names them bare; a remote candidate learned
    // from a connectivity check (peer-reflexive) is not filed at all.
    let candidate_type = |prefix: &str, id: &str| {
        let entry = report.get(id).or_else(|| report.get(&format!("{prefix}{id}")));
        match entry {
            Some(RTCStatsReportEntry::LocalCandidate(c) | RTCStatsReportEntry::RemoteCandidate(c)) => {
                Some(c.candidate_type.to_string())
            }
            _ => None,
        }
    };
    Some(Path {
        local: candidate_type("RTCLocalIceCandidate_", &pair.local_candidate_id)?,
        remote: candidate_type("RTCRemoteIceCandidate_", &pair.remote_candidate_id).unwrap_or_else(|| "prflx".into()),
    })
}
