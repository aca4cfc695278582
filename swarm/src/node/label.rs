//! Data channel labels: what a channel between two peers carries (docs/PROTOCOL.md 2.1 and 4.1).

use crate::id::ContentId;
use crate::proof::SwarmKey;

/// The label of a discovery neighbour's channel.
pub const DISCOVERY_LABEL: &str = "discovery";

/// What one data channel carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Topic {
    /// One content's swarm: the label is the content's swarm key in text form (64 lower-case hex digits; never the
    /// content id, which a party in the middle of the connection would read, PROTOCOL.md 2.11).
    Content(ContentId),
    /// The discovery network: the label [`DISCOVERY_LABEL`].
    Discovery,
}

/// A label a remote peer chose, read: exactly [`DISCOVERY_LABEL`] or a swarm key in its text form, nothing else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Label {
    Content(SwarmKey),
    Discovery,
}

impl Label {
    pub fn parse(label: &str) -> Option<Label> {
        if label == DISCOVERY_LABEL {
            return Some(Label::Discovery);
        }
        SwarmKey::parse(label).map(Label::Content)
    }
}

impl Topic {
    /// The label a channel of this topic is opened with.
    pub fn label(&self) -> String {
        match self {
            Topic::Content(id) => SwarmKey::of(id).to_string(),
            Topic::Discovery => DISCOVERY_LABEL.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_round_trip_and_nothing_else_parses() {
        let id = ContentId([0xab; 32]);
        let label = Topic::Content(id).label();
        assert_eq!(Label::parse(&label), Some(Label::Content(SwarmKey::of(&id))));
        assert!(!label.contains(&id.to_string()), "a content channel's label gives the content id away");
        assert_eq!(Label::parse(DISCOVERY_LABEL), Some(Label::Discovery));
        for bad in ["", "Discovery", "discovery ", &label.to_ascii_uppercase(), "x".repeat(64).as_str()] {
            assert_eq!(Label::parse(bad), None, "{bad:?}");
        }
    }
}
