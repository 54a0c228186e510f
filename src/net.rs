//! The machine's LAN addresses: what goes into the certificate and the banner.

use std::net::IpAddr;

/// Every address of an up interface that another device on the LAN could use:
/// loopback and link-local addresses are left out (a phone cannot type a
/// zone-scoped `fe80::` URL, and 169.254/16 means "no DHCP").
pub fn lan_addresses() -> Vec<IpAddr> {
    lan_addresses_on(&[])
}

/// Like [`lan_addresses`], limited to the named interfaces (all when empty).
pub fn lan_addresses_on(interfaces: &[String]) -> Vec<IpAddr> {
    let mut addrs: Vec<IpAddr> = if_addrs::get_if_addrs()
        .unwrap_or_default()
        .into_iter()
        .filter(|iface| interfaces.is_empty() || interfaces.contains(&iface.name))
        .map(|iface| iface.ip())
        .filter(|ip| is_lan(*ip))
        .collect();
    // IPv4 first: it is what people type and what every phone reaches.
    addrs.sort_by_key(|ip| (ip.is_ipv6(), *ip));
    addrs.dedup();
    addrs
}

fn is_lan(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => !v4.is_loopback() && !v4.is_link_local() && !v4.is_unspecified(),
        IpAddr::V6(v6) => {
            !v6.is_loopback() && !v6.is_unspecified() && (v6.segments()[0] & 0xffc0) != 0xfe80
        }
    }
}

/// `https://` URL for an address and port, with brackets around IPv6.
pub fn url_for(ip: IpAddr, port: u16) -> String {
    match ip {
        IpAddr::V4(v4) => format!("https://{v4}:{port}/"),
        IpAddr::V6(v6) => format!("https://[{v6}]:{port}/"),
    }
}

/// Names of this machine's interfaces.
pub fn interface_names() -> Vec<String> {
    let mut names: Vec<String> = if_addrs::get_if_addrs()
        .unwrap_or_default()
        .into_iter()
        .map(|i| i.name)
        .collect();
    names.sort();
    names.dedup();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lan_filter() {
        for (ip, lan) in [
            ("192.168.1.5", true),
            ("10.0.0.2", true),
            ("127.0.0.1", false),
            ("169.254.3.4", false),
            ("fd00::2", true),
            ("fe80::1", false),
            ("::1", false),
        ] {
            assert_eq!(is_lan(ip.parse().unwrap()), lan, "{ip}");
        }
        assert_eq!(
            url_for("fd00::2".parse().unwrap(), 8443),
            "https://[fd00::2]:8443/"
        );
    }
}
