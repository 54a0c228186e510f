//! The machine's LAN addresses: what goes into the certificate and the banner.

use std::net::IpAddr;

/// An address of this machine that another device on the LAN might use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LanAddress {
    pub ip: IpAddr,
    pub interface: String,
    /// On a container or VM bridge, a VPN or another virtual interface:
    /// other devices on the LAN usually cannot reach it.
    pub virtual_interface: bool,
}

/// Every address of an up interface that another device on the LAN could use:
/// loopback and link-local addresses are left out (a phone cannot type a
/// zone-scoped `fe80::` URL, and 169.254/16 means "no DHCP").
pub fn lan_addresses() -> Vec<IpAddr> {
    lan().into_iter().map(|a| a.ip).collect()
}

/// What mDNS announces: the addresses of the named interfaces, or with none
/// named, those of real interfaces (a phone told `HOST.local` is a Docker
/// bridge address cannot reach it).
pub fn lan_addresses_on(interfaces: &[String]) -> Vec<IpAddr> {
    lan()
        .into_iter()
        .filter(|a| {
            if interfaces.is_empty() {
                !a.virtual_interface
            } else {
                interfaces.contains(&a.interface)
            }
        })
        .map(|a| a.ip)
        .collect()
}

/// The LAN addresses with their interfaces, best first: the interface of the
/// default route, then other real interfaces, then virtual ones; IPv4 before
/// IPv6 within each.
pub fn lan() -> Vec<LanAddress> {
    let routed = default_route_interfaces();
    let mut addrs: Vec<LanAddress> = if_addrs::get_if_addrs()
        .unwrap_or_default()
        .into_iter()
        .filter(|iface| is_lan(iface.ip()))
        .map(|iface| LanAddress {
            ip: iface.ip(),
            // The interface the default route leaves by is the LAN, whatever
            // it is called (OpenWrt's is the bridge br-lan).
            virtual_interface: is_virtual(&iface.name) && !routed.contains(&iface.name),
            interface: iface.name,
        })
        .collect();
    addrs.sort_by_key(|a| {
        (
            !routed.contains(&a.interface),
            a.virtual_interface,
            a.ip.is_ipv6(),
            a.ip,
        )
    });
    addrs.dedup_by(|a, b| a.ip == b.ip);
    addrs
}

/// The addresses to offer other devices for a server bound to `bind`, best
/// first (what the banner, its QR code and the page's share link use), and
/// those left out because they are on virtual interfaces.
pub fn offered(bind: IpAddr) -> (Vec<LanAddress>, Vec<LanAddress>) {
    let candidates: Vec<LanAddress> = if bind.is_unspecified() {
        lan()
            .into_iter()
            .filter(|a| bind.is_ipv6() || a.ip.is_ipv4())
            .collect()
    } else if bind.is_loopback() {
        Vec::new()
    } else {
        let found = lan().into_iter().find(|a| a.ip == bind);
        vec![found.unwrap_or(LanAddress {
            ip: bind,
            interface: String::new(),
            virtual_interface: false,
        })]
    };
    candidates
        .into_iter()
        // One bound explicitly is offered whatever its interface.
        .partition(|a| !a.virtual_interface || !bind.is_unspecified())
}

/// The page's share link and QR code: the best LAN address as an origin
/// (`https://192.168.1.20:8443`), whatever address the page was opened at.
pub fn lan_origin(bind: IpAddr, port: u16) -> Option<String> {
    let (lan, _) = offered(bind);
    lan.first()
        .map(|a| url_for(a.ip, port).trim_end_matches('/').to_string())
}

/// The plain-HTTP landing on the same address and port as `origin` (an
/// `https://` origin from [`lan_origin`]).
pub fn landing_origin(origin: &str) -> String {
    origin.replacen("https://", "http://", 1)
}

/// Container and VM bridges, VPNs and other interfaces whose addresses the
/// devices on the LAN cannot usually reach.
pub fn is_virtual(interface: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "docker",
        "veth",
        "virbr",
        "cni",
        "flannel",
        "cali",
        "weave",
        "vxlan",
        "kube",
        "lxcbr",
        "lxdbr",
        "podman",
        "vmnet",
        "vboxnet",
        "tun",
        "tap",
        "utun",
        "wg",
        "tailscale",
        "zt",
        "ham",
        "zerotier",
    ];
    // Docker's user networks are br- and 12 hex digits; other bridges named
    // br-something (OpenWrt's br-lan) are real LANs.
    let docker_network = interface
        .strip_prefix("br-")
        .is_some_and(|id| id.len() == 12 && id.bytes().all(|b| b.is_ascii_hexdigit()));
    docker_network || PREFIXES.iter().any(|p| interface.starts_with(p))
}

/// The interfaces that carry a default route (Linux: `/proc/net/route` and
/// `/proc/net/ipv6_route`; elsewhere none are known and the order falls back
/// to real interfaces first).
fn default_route_interfaces() -> Vec<String> {
    let v4 = std::fs::read_to_string("/proc/net/route").unwrap_or_default();
    let v6 = std::fs::read_to_string("/proc/net/ipv6_route").unwrap_or_default();
    let mut names = default_routes(&v4, &v6);
    names.dedup();
    names
}

/// Parses the two route tables: the v4 lines whose destination and mask are
/// 0, the v6 lines for `::/0`, lowest metric first.
fn default_routes(v4: &str, v6: &str) -> Vec<String> {
    let mut found: Vec<(u64, String)> = Vec::new();
    for line in v4.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() >= 8 && f[1] == "00000000" && f[7] == "00000000" {
            let metric = f[6].parse().unwrap_or(u64::MAX);
            found.push((metric, f[0].to_string()));
        }
    }
    for line in v6.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        // dest, dest prefix, src, src prefix, next hop, metric, refs, use, flags, device
        if f.len() >= 10 && f[0].bytes().all(|b| b == b'0') && f[1] == "00" && f[9] != "lo" {
            let metric = u64::from_str_radix(f[5], 16).unwrap_or(u64::MAX);
            found.push((metric, f[9].to_string()));
        }
    }
    found.sort();
    found.into_iter().map(|(_, name)| name).collect()
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
    fn default_routes_are_read_from_both_tables() {
        let v4 = "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\n\
                  docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\n\
                  wlan0\t00000000\t0101A8C0\t0003\t0\t0\t600\t00000000\n\
                  eth0\t00000000\t0101A8C0\t0003\t0\t0\t100\t00000000\n";
        let v6 = "00000000000000000000000000000000 00 00000000000000000000000000000000 00 fe800000000000000000000000000001 00000400 00000001 00000000 00000003 wlan0\n\
                  00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200 lo\n\
                  fd000000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001 wlan0\n";
        assert_eq!(default_routes(v4, v6), ["eth0", "wlan0", "wlan0"]);
        assert!(default_routes("garbage\nmore garbage", "x y").is_empty());
    }

    #[test]
    fn virtual_interfaces() {
        for (name, virt) in [
            ("docker0", true),
            ("br-1a2b3c4d5e6f", true),
            ("br-lan", false),
            ("br-1a2b3c", false),
            ("veth12ab", true),
            ("virbr0", true),
            ("cni0", true),
            ("wg0", true),
            ("tailscale0", true),
            ("wlan0", false),
            ("eth0", false),
            ("enp3s0", false),
            ("wlp2s0", false),
            ("bridge0", false),
        ] {
            assert_eq!(is_virtual(name), virt, "{name}");
        }
    }

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
