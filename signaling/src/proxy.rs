//! `--trust-proxy CIDR...`: the reverse proxies whose `Forwarded` / `X-Forwarded-For` headers name the client.
//! Only those: anyone else's headers are ignored, so a client cannot pose as another address to dodge the
//! per-address limits. A trusted proxy's connection counts toward the total at accept; the client it names is
//! counted for its address and prefix when its WebSocket opens (`admission.rs`).

use std::net::IpAddr;

use warp::http::HeaderMap;

/// An address range: `10.0.0.0/8`, `fd00::/8`, or one address (`127.0.0.1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    net: IpAddr,
    bits: u32,
}

/// A `--trust-proxy` value.
pub fn parse_cidr(s: &str) -> Result<Cidr, String> {
    let bad = || format!("{s:?} is not an address range (e.g. 10.0.0.0/8, fd00::/8, 127.0.0.1)");
    let (addr, bits) = match s.split_once('/') {
        Some((addr, bits)) => (addr, Some(bits.parse::<u32>().map_err(|_| bad())?)),
        None => (s, None),
    };
    let net: IpAddr = addr.parse().map_err(|_| bad())?;
    let max = if net.is_ipv4() { 32 } else { 128 };
    let bits = bits.unwrap_or(max);
    if bits > max {
        return Err(bad());
    }
    Ok(Cidr { net, bits })
}

impl Cidr {
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        match (canonical(self.net), ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - self.bits).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - self.bits).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// An IPv4-mapped IPv6 address as the IPv4 address it is.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Whether `ip` is one of the trusted proxies.
pub fn trusted(proxies: &[Cidr], ip: IpAddr) -> bool {
    proxies.iter().any(|p| p.contains(ip))
}

/// The client a trusted proxy names: walking its list of addresses from the right (the one it saw last), the
/// first that is not itself a trusted proxy. `Forwarded` (its `for=` parameters, RFC 7239) if present, else
/// `X-Forwarded-For`. `None` when neither names one, or an entry that must be read cannot be (an obfuscated
/// `for=_hidden`, garbage): then the connection is refused rather than counted under a guess.
pub fn client_address(headers: &HeaderMap, proxies: &[Cidr]) -> Option<IpAddr> {
    let joined = |name: &str| -> Option<String> {
        let values: Vec<&str> = headers.get_all(name).iter().filter_map(|v| v.to_str().ok()).collect();
        (!values.is_empty()).then(|| values.join(","))
    };
    let entries: Vec<String> = match joined("forwarded") {
        Some(forwarded) => forwarded
            .split(',')
            .map(|element| {
                element
                    .split(';')
                    .find_map(|pair| {
                        let (key, value) = pair.trim().split_once('=')?;
                        key.trim().eq_ignore_ascii_case("for").then(|| value.trim().trim_matches('"').to_owned())
                    })
                    .unwrap_or_default()
            })
            .collect(),
        None => joined("x-forwarded-for")?.split(',').map(|e| e.trim().to_owned()).collect(),
    };
    for entry in entries.iter().rev() {
        let ip = address(entry)?;
        if !trusted(proxies, ip) {
            return Some(ip);
        }
    }
    None
}

/// `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1` or `[2001:db8::1]:5678`.
fn address(entry: &str) -> Option<IpAddr> {
    if let Ok(ip) = entry.parse() {
        return Some(ip);
    }
    if let Some(rest) = entry.strip_prefix('[') {
        return rest.split_once(']')?.0.parse().ok();
    }
    entry.rsplit_once(':')?.0.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

#[cfg(test)]
mod tests {
    use super::*;
    use warp::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn ranges_contain_what_they_say() {
        let net = parse_cidr("10.0.0.0/8").unwrap();
        assert!(net.contains("10.200.1.1".parse().unwrap()));
        assert!(net.contains("::ffff:10.1.2.3".parse().unwrap()));
        assert!(!net.contains("11.0.0.1".parse().unwrap()));
        assert!(parse_cidr("127.0.0.1").unwrap().contains("127.0.0.1".parse().unwrap()));
        assert!(parse_cidr("fd00::/8").unwrap().contains("fd12::1".parse().unwrap()));
        assert!(parse_cidr("0.0.0.0/0").unwrap().contains("8.8.8.8".parse().unwrap()));
        for bad in ["10.0.0.0/33", "nope", "10.0.0/8", "::/129", ""] {
            assert!(parse_cidr(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_client_is_the_rightmost_address_that_is_not_a_trusted_proxy() {
        let proxies = [parse_cidr("10.0.0.0/8").unwrap()];
        let xff = headers(&[("x-forwarded-for", "203.0.113.9, 198.51.100.7, 10.0.0.2")]);
        assert_eq!(client_address(&xff, &proxies), "198.51.100.7".parse().ok());
        let two = headers(&[("x-forwarded-for", "203.0.113.9"), ("x-forwarded-for", "10.1.1.1")]);
        assert_eq!(client_address(&two, &proxies), "203.0.113.9".parse().ok());
        let fwd = headers(&[("forwarded", r#"for=192.0.2.60;proto=https, for="[2001:db8::1]:4711""#)]);
        assert_eq!(client_address(&fwd, &proxies), "2001:db8::1".parse().ok());
        // Forwarded wins over X-Forwarded-For when both are sent.
        let both = headers(&[("forwarded", "for=192.0.2.61"), ("x-forwarded-for", "192.0.2.62")]);
        assert_eq!(client_address(&both, &proxies), "192.0.2.61".parse().ok());
        assert_eq!(client_address(&headers(&[("forwarded", "for=_hidden")]), &proxies), None);
        assert_eq!(client_address(&headers(&[("x-forwarded-for", "10.0.0.1")]), &proxies), None);
        assert_eq!(client_address(&HeaderMap::new(), &proxies), None);
        assert_eq!(client_address(&headers(&[("x-forwarded-for", "1.2.3.4:80")]), &proxies), "1.2.3.4".parse().ok());
    }
}
