//! Data channel labels: what a channel between two peers carries (docs/PROTOCOL.md 2.1 and 4.1).

use core::str::FromStr;

use crate::id::ContentId;

/// The label of a discovery neighbour's channel.
pub const DISCOVERY_LABEL: &str = "discovery";

/// What one data channel carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Topic {
    /// One content's swarm: the label is the content id's text form (64 lower-case hex digits).
    Content(ContentId),
    /// The discovery network: the label [`DISCOVERY_LABEL`].
    Discovery,
}

impl Topic {
    /// Reads a label a remote peer chose: exactly [`DISCOVERY_LABEL`] or a content id in its canonical text form,
    /// nothing else.
    pub fn parse(label: &str) -> Option<Topic> {
        if label == DISCOVERY_LABEL {
            return Some(Topic::Discovery);
        }
        ContentId::from_str(label).ok().map(Topic::Content)
    }

    /// The label a channel of this topic is opened with.
    pub fn label(&self) -> String {
        match self {
            Topic::Content(id) => id.to_string(),
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
        assert_eq!(Topic::parse(&Topic::Content(id).label()), Some(Topic::Content(id)));
        assert_eq!(Topic::parse(DISCOVERY_LABEL), Some(Topic::Discovery));
        for bad in ["", "Discovery", "discovery ", &id.to_string().to_ascii_uppercase(), "x".repeat(64).as_str()] {
            assert_eq!(Topic::parse(bad), None, "{bad:?}");
        }
    }
}
