//! Connection admission: how many TCP connections each client address holds, each larger network prefix holds,
//! and how many there are in total. A connection is admitted with a [`Slot`] that gives its place back when
//! dropped, so nothing is left behind however the connection ends.
//!
//! Two units are counted for every connection: the client (an IPv4 address or an IPv6 /64, one subscriber) and
//! its prefix (an IPv4 /24 or an IPv6 /48, one site's or one provider customer's allocation). The prefix limit is
//! what stops one party that holds many addresses (a /48 holds 65,536 /64s) from filling the server.
//!
//! Behind a reverse proxy every connection comes from the proxy: a trusted proxy's connections count only toward
//! the total ([`Admission::admit_proxied`]), and the client address it names is counted when its WebSocket opens
//! ([`Admission::admit_client`], `--trust-proxy`).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, Mutex, PoisonError};

/// Why a connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The client (IPv4 address or IPv6 /64) holds its limit.
    PerIp,
    /// The client's prefix (IPv4 /24 or IPv6 /48) holds its limit.
    PerPrefix,
    /// The server holds its total limit.
    Capacity,
}

/// The counts, shared by the accept loop and every [`Slot`].
#[derive(Debug)]
pub struct Admission {
    per_ip_limit: usize,
    per_prefix_limit: usize,
    total_limit: usize,
    counts: Mutex<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    /// Only addresses with at least one connection: the entry goes with the last one.
    per_ip: HashMap<IpAddr, usize>,
    /// Likewise, per prefix.
    per_prefix: HashMap<IpAddr, usize>,
}

/// One admitted connection's place: in the total, and for its client address and prefix (`None` for a trusted
/// proxy's connection, or for the place a proxied client takes beside it).
#[derive(Debug)]
pub struct Slot {
    admission: Arc<Admission>,
    total: bool,
    client: Option<(IpAddr, IpAddr)>,
}

impl Slot {
    /// Whether this is a trusted proxy's connection: its client is named by the proxy's headers.
    pub fn proxied(&self) -> bool {
        self.client.is_none()
    }
}

impl Admission {
    pub fn new(per_ip_limit: usize, per_prefix_limit: usize, total_limit: usize) -> Arc<Admission> {
        Arc::new(Admission { per_ip_limit, per_prefix_limit, total_limit, counts: Mutex::default() })
    }

    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Slot, Refused> {
        self.take(true, Some(ip))
    }

    /// A trusted proxy's connection: counted toward the total only.
    pub fn admit_proxied(self: &Arc<Self>) -> Result<Slot, Refused> {
        self.take(true, None)
    }

    /// The client a trusted proxy names for one of its connections (already in the total): counted for its address
    /// and prefix, as if it had connected itself.
    pub fn admit_client(self: &Arc<Self>, ip: IpAddr) -> Result<Slot, Refused> {
        self.take(false, Some(ip))
    }

    fn take(self: &Arc<Self>, total: bool, ip: Option<IpAddr>) -> Result<Slot, Refused> {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        if total && counts.total >= self.total_limit {
            return Err(Refused::Capacity);
        }
        let Some(ip) = ip else {
            counts.total += 1;
            return Ok(Slot { admission: Arc::clone(self), total, client: None });
        };
        let (key, prefix) = (client_key(ip), prefix_key(ip));
        // Both checked before either count moves: a refusal leaves nothing behind.
        if counts.per_ip.get(&key).copied().unwrap_or(0) >= self.per_ip_limit {
            return Err(Refused::PerIp);
        }
        if counts.per_prefix.get(&prefix).copied().unwrap_or(0) >= self.per_prefix_limit {
            return Err(Refused::PerPrefix);
        }
        *counts.per_ip.entry(key).or_insert(0) += 1;
        *counts.per_prefix.entry(prefix).or_insert(0) += 1;
        if total {
            counts.total += 1;
        }
        Ok(Slot { admission: Arc::clone(self), total, client: Some((key, prefix)) })
    }

    /// Connections held, in total.
    pub fn total(&self) -> usize {
        self.counts.lock().unwrap_or_else(PoisonError::into_inner).total
    }

    /// Client addresses with at least one connection.
    pub fn addresses(&self) -> usize {
        self.counts.lock().unwrap_or_else(PoisonError::into_inner).per_ip.len()
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut counts = self.admission.counts.lock().unwrap_or_else(PoisonError::into_inner);
        if self.total {
            counts.total = counts.total.saturating_sub(1);
        }
        if let Some((key, prefix)) = self.client {
            release(&mut counts.per_ip, key);
            release(&mut counts.per_prefix, prefix);
        }
    }
}

/// One connection fewer for `key`; the entry goes with its last connection.
fn release(counts: &mut HashMap<IpAddr, usize>, key: IpAddr) {
    if let Some(n) = counts.get_mut(&key) {
        *n -= 1;
        if *n == 0 {
            counts.remove(&key);
        }
    }
}

/// The unit a limit applies to: an IPv4 address, or an IPv6 /64 (one subscriber's usual allocation, so a
/// client cannot dodge the limit by rotating addresses inside its own prefix).
fn client_key(ip: IpAddr) -> IpAddr {
    masked(ip, 32, 64)
}

/// The unit of the larger limit: an IPv4 /24 or an IPv6 /48 (a site's usual allocation).
fn prefix_key(ip: IpAddr) -> IpAddr {
    masked(ip, 24, 48)
}

/// `ip` with all but its first `v4_bits` (IPv4, including IPv4-mapped IPv6) or `v6_bits` (IPv6) bits zeroed.
fn masked(ip: IpAddr, v4_bits: u32, v6_bits: u32) -> IpAddr {
    let v4 = |v4: Ipv4Addr| IpAddr::V4(Ipv4Addr::from(u32::from(v4) & u32::MAX.checked_shl(32 - v4_bits).unwrap_or(0)));
    match ip {
        IpAddr::V4(a) => v4(a),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(a) => v4(a),
            None => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & u128::MAX.checked_shl(128 - v6_bits).unwrap_or(0))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_ip_limit_refuses_the_next_connection_and_frees_on_drop() {
        let admission = Admission::new(2, 100, 100);
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let a = admission.admit(ip).unwrap();
        let _b = admission.admit(ip).unwrap();
        assert_eq!(admission.admit(ip).unwrap_err(), Refused::PerIp);
        assert!(admission.admit("10.0.0.2".parse().unwrap()).is_ok());
        drop(a);
        assert!(admission.admit(ip).is_ok());
    }

    #[test]
    fn total_limit_refuses_any_address() {
        let admission = Admission::new(10, 10, 1);
        let _a = admission.admit("10.0.0.1".parse().unwrap()).unwrap();
        assert_eq!(admission.admit("10.0.0.2".parse().unwrap()).unwrap_err(), Refused::Capacity);
    }

    #[test]
    fn addresses_of_one_ipv6_64_share_a_limit() {
        let admission = Admission::new(1, 100, 100);
        let _a = admission.admit("2001:db8::1".parse().unwrap()).unwrap();
        assert_eq!(admission.admit("2001:db8::2:3".parse().unwrap()).unwrap_err(), Refused::PerIp);
        assert!(admission.admit("2001:db8:0:1::1".parse().unwrap()).is_ok());
    }

    #[test]
    fn nothing_is_kept_for_an_address_once_its_connections_are_gone() {
        let admission = Admission::new(10, 100, 100);
        let slots: Vec<Slot> = (0..5).map(|i| admission.admit(IpAddr::from([10, 0, 0, i])).unwrap()).collect();
        assert_eq!((admission.total(), admission.addresses()), (5, 5));
        drop(slots);
        assert_eq!((admission.total(), admission.addresses()), (0, 0));
    }

    #[test]
    fn addresses_of_one_ipv6_48_share_the_prefix_limit() {
        let admission = Admission::new(10, 2, 100);
        // Two different /64s of 2001:db8:1::/48.
        let _a = admission.admit("2001:db8:1:1::1".parse().unwrap()).unwrap();
        let _b = admission.admit("2001:db8:1:2::1".parse().unwrap()).unwrap();
        assert_eq!(admission.admit("2001:db8:1:ffff::9".parse().unwrap()).unwrap_err(), Refused::PerPrefix);
        // Another /48 is not affected.
        assert!(admission.admit("2001:db8:2::1".parse().unwrap()).is_ok());
    }

    #[test]
    fn addresses_of_one_ipv4_24_share_the_prefix_limit_and_free_it_on_drop() {
        let admission = Admission::new(10, 2, 100);
        let a = admission.admit("192.0.2.1".parse().unwrap()).unwrap();
        let _b = admission.admit("192.0.2.2".parse().unwrap()).unwrap();
        assert_eq!(admission.admit("192.0.2.250".parse().unwrap()).unwrap_err(), Refused::PerPrefix);
        // The IPv4-mapped form of an address of the same /24 counts against it too.
        assert_eq!(admission.admit("::ffff:192.0.2.3".parse().unwrap()).unwrap_err(), Refused::PerPrefix);
        assert!(admission.admit("192.0.3.1".parse().unwrap()).is_ok());
        drop(a);
        assert!(admission.admit("192.0.2.250".parse().unwrap()).is_ok());
    }

    #[test]
    fn a_refusal_counts_nothing() {
        let admission = Admission::new(1, 10, 100);
        let _a = admission.admit("192.0.2.1".parse().unwrap()).unwrap();
        for _ in 0..20 {
            assert_eq!(admission.admit("192.0.2.1".parse().unwrap()).unwrap_err(), Refused::PerIp);
        }
        // The refused attempts did not use up the prefix: the other 9 of its 10 places are still free.
        let held: Vec<Slot> = (2..11).map(|i| admission.admit(IpAddr::from([192, 0, 2, i])).unwrap()).collect();
        assert_eq!(admission.admit("192.0.2.11".parse().unwrap()).unwrap_err(), Refused::PerPrefix);
        assert_eq!(held.len(), 9);
    }
}
