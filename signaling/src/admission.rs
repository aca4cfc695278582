//! Connection admission: how many TCP connections each client address holds, and how many there are in total.
//! A connection is admitted with a [`Slot`] that gives its place back when dropped, so nothing is left behind
//! however the connection ends.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex, PoisonError};

/// Why a connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    PerIp,
    Capacity,
}

/// The counts, shared by the accept loop and every [`Slot`].
#[derive(Debug)]
pub struct Admission {
    per_ip_limit: usize,
    total_limit: usize,
    counts: Mutex<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    /// Only addresses with at least one connection: the entry goes with the last one.
    per_ip: HashMap<IpAddr, usize>,
}

/// One admitted connection's place.
#[derive(Debug)]
pub struct Slot {
    admission: Arc<Admission>,
    key: IpAddr,
}

impl Admission {
    pub fn new(per_ip_limit: usize, total_limit: usize) -> Arc<Admission> {
        Arc::new(Admission { per_ip_limit, total_limit, counts: Mutex::default() })
    }

    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Slot, Refused> {
        let key = client_key(ip);
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        if counts.total >= self.total_limit {
            return Err(Refused::Capacity);
        }
        let n = counts.per_ip.entry(key).or_insert(0);
        if *n >= self.per_ip_limit {
            return Err(Refused::PerIp);
        }
        *n += 1;
        counts.total += 1;
        Ok(Slot { admission: Arc::clone(self), key })
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
        counts.total = counts.total.saturating_sub(1);
        if let Some(n) = counts.per_ip.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                counts.per_ip.remove(&self.key);
            }
        }
    }
}

/// The unit a limit applies to: an IPv4 address, or an IPv6 /64 (one subscriber's usual allocation, so a
/// client cannot dodge the limit by rotating addresses inside its own prefix).
fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(Ipv6Addr::from(prefix))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_ip_limit_refuses_the_next_connection_and_frees_on_drop() {
        let admission = Admission::new(2, 100);
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
        let admission = Admission::new(10, 1);
        let _a = admission.admit("10.0.0.1".parse().unwrap()).unwrap();
        assert_eq!(admission.admit("10.0.0.2".parse().unwrap()).unwrap_err(), Refused::Capacity);
    }

    #[test]
    fn addresses_of_one_ipv6_64_share_a_limit() {
        let admission = Admission::new(1, 100);
        let _a = admission.admit("2001:db8::1".parse().unwrap()).unwrap();
        assert_eq!(admission.admit("2001:db8::2:3".parse().unwrap()).unwrap_err(), Refused::PerIp);
        assert!(admission.admit("2001:db8:0:1::1".parse().unwrap()).is_ok());
    }

    #[test]
    fn nothing_is_kept_for_an_address_once_its_connections_are_gone() {
        let admission = Admission::new(10, 100);
        let slots: Vec<Slot> = (0..5).map(|i| admission.admit(IpAddr::from([10, 0, 0, i])).unwrap()).collect();
        assert_eq!((admission.total(), admission.addresses()), (5, 5));
        drop(slots);
        assert_eq!((admission.total(), admission.addresses()), (0, 0));
    }
}
