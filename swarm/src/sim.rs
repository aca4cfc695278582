//! A deterministic in-memory network of many [`crate::Swarm`] peers (seeded randomness, fake clock).
