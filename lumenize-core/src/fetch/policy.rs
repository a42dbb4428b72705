//! [`FetchPolicy`]: which addresses an executor (or a direct fetch) may connect to.
//!
//! A URL often comes from a user. Without a policy, a fetch executor would fetch
//! `http://127.0.0.1:…/admin`, `http://10.0.0.5/` or the cloud metadata service at
//! `http://169.254.169.254/` for anyone who can name a URL, and would follow a redirect from a
//! public site to any of them. The default policy allows the public internet only: loopback,
//! private, link-local (cloud metadata included), unspecified, multicast, shared (CGNAT) and
//! reserved addresses are refused, in every spelling (IPv4-mapped IPv6, NAT64, 6to4, numeric
//! IPv4 forms), and so are the names `localhost`, `*.localhost` and the metadata host names.
//!
//! Where the check happens:
//! - **Natively** ([`HttpClient`](super::HttpClient)): the URL of the request and of every
//!   redirect hop is checked before it is followed, and host names go through a resolver that
//!   checks *every* address a name resolves to, the very addresses the client connects to (so a
//!   public name pointing at a private address, or DNS rebinding, is refused too). System proxy
//!   settings are ignored: a proxy would resolve names where the policy cannot see.
//! - **On Cloudflare** (`lumenize-cloudflare`): the platform's `fetch` takes no resolver, so the
//!   URL of the request and of every redirect hop (followed by hand, `redirect: "manual"`) is
//!   checked; a public *name* that resolves to a private address is not caught there. Cloudflare's
//!   edge does not reach private networks anyway; a self-hosted `workerd` enforces addresses with
//!   its `network` service's `allow`/`deny` lists.
//!
//! Opt-ins are explicit: [`FetchPolicy::allow_loopback`] (local test servers),
//! [`FetchPolicy::allow_private_networks`], and [`FetchPolicy::allow_addr`] for one IP address
//! and port.
//!
//! ```
//! use lumenize_core::fetch::FetchPolicy;
//! let strict = FetchPolicy::default();
//! assert!(strict.check_url("https://example.com/").is_ok());
//! assert!(strict.check_url("http://127.0.0.1:8080/").is_err());
//! assert!(strict.check_url("http://[::ffff:169.254.169.254]/").is_err());
//! let local = FetchPolicy::default().allow_loopback();
//! assert!(local.check_url("http://localhost:8080/").is_ok());
//! ```

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Most redirects an executor follows for one request (each hop checked by the policy).
pub const MAX_REDIRECTS: usize = 10;

/// Most explicitly allowed addresses a policy keeps (a policy is configuration, not data).
pub const MAX_ALLOWED_ADDRS: usize = 64;

/// Host names refused as cloud metadata services (besides their link-local addresses).
const METADATA_NAMES: [&str; 4] = [
    "metadata.google.internal",
    "metadata.goog",
    "metadata",
    "instance-data",
];

/// Which addresses a fetch may reach. `Default` allows public addresses only.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct FetchPolicy {
    loopback: bool,
    private: bool,
    addrs: Vec<SocketAddr>,
}

/// Why an address is not public.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddressClass {
    /// 127.0.0.0/8, `::1`, `localhost`.
    Loopback,
    /// 10/8, 172.16/12, 192.168/16, fc00::/7 (and the deprecated fec0::/10, local NAT64).
    Private,
    /// 169.254/16 and fe80::/10, where cloud metadata services live (169.254.169.254), and
    /// the metadata host names.
    LinkLocal,
    /// 100.64/10, the carrier-grade NAT range (some clouds put metadata there too).
    Shared,
    /// 0.0.0.0/8 and `::` ("this host": connecting there reaches local services).
    Unspecified,
    /// 224/4 and ff00::/8.
    Multicast,
    /// Other special-purpose ranges: 240/4 and broadcast, 192.0.0/24, benchmarking,
    /// documentation, discard-only and Teredo.
    Reserved,
}

impl AddressClass {
    fn describe(self) -> &'static str {
        match self {
            AddressClass::Loopback => "a loopback address",
            AddressClass::Private => "a private-network address",
            AddressClass::LinkLocal => "a link-local or cloud metadata address",
            AddressClass::Shared => "a shared (carrier-grade NAT) address",
            AddressClass::Unspecified => "an unspecified address",
            AddressClass::Multicast => "a multicast address",
            AddressClass::Reserved => "a reserved address",
        }
    }
}

/// A request the [`FetchPolicy`] refuses; nothing was sent to that address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeniedAddress {
    what: String,
    reason: String,
}

impl DeniedAddress {
    fn class(what: impl Into<String>, class: AddressClass) -> DeniedAddress {
        let hint = match class {
            AddressClass::Loopback => " (FetchPolicy::allow_loopback opts in)",
            AddressClass::Private => " (FetchPolicy::allow_private_networks opts in)",
            _ => "",
        };
        DeniedAddress {
            what: what.into(),
            reason: format!("is {}{hint}", class.describe()),
        }
    }

    /// The same refusal, for an address `host` resolved to.
    pub fn resolved_from(self, host: &str) -> DeniedAddress {
        DeniedAddress {
            what: format!("{host}, which resolved to {},", self.what),
            reason: self.reason,
        }
    }

    /// The same refusal, for a redirect target.
    pub fn redirected(self) -> DeniedAddress {
        DeniedAddress {
            what: format!("the redirect to {}", self.what),
            reason: self.reason,
        }
    }

    fn other(what: impl Into<String>, reason: impl Into<String>) -> DeniedAddress {
        DeniedAddress {
            what: what.into(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for DeniedAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "refused by the fetch policy: {} {}",
            self.what, self.reason
        )
    }
}

impl std::error::Error for DeniedAddress {}

impl FetchPolicy {
    /// The default: public addresses only.
    pub fn new() -> FetchPolicy {
        FetchPolicy::default()
    }

    /// Also allows loopback addresses and `localhost` (local test servers, a sidecar).
    pub fn allow_loopback(mut self) -> FetchPolicy {
        self.loopback = true;
        self
    }

    /// Also allows private networks (10/8, 172.16/12, 192.168/16, fc00::/7). Link-local,
    /// metadata and shared (CGNAT) addresses stay refused.
    pub fn allow_private_networks(mut self) -> FetchPolicy {
        self.private = true;
        self
    }

    /// Also allows URLs whose host is this IP address written literally, on this port (say,
    /// one local test server). Host names resolving to it are not covered: a resolver does not
    /// know the port. At most [`MAX_ALLOWED_ADDRS`] are kept; later ones are ignored.
    pub fn allow_addr(mut self, addr: SocketAddr) -> FetchPolicy {
        if self.addrs.len() < MAX_ALLOWED_ADDRS && !self.addrs.contains(&addr) {
            self.addrs.push(addr);
        }
        self
    }

    /// Checks a URL before it is requested (or followed as a redirect): the scheme must be
    /// http(s); an IP-literal host must be allowed (with its port); a host name must not be
    /// `localhost`-like or a metadata name unless allowed. The addresses a name resolves to
    /// are checked separately, with [`FetchPolicy::check_ip`].
    pub fn check_url(&self, url: &str) -> Result<(), DeniedAddress> {
        let parsed = url::Url::parse(url)
            .map_err(|e| DeniedAddress::other(url, format!("is not a URL ({e})")))?;
        let port = parsed.port_or_known_default();
        match parsed.scheme() {
            "http" | "https" => {}
            other => return Err(DeniedAddress::other(url, format!("has scheme `{other}`"))),
        }
        match parsed.host() {
            None => Err(DeniedAddress::other(url, "has no host")),
            Some(url::Host::Ipv4(ip)) => self.check_literal(IpAddr::V4(ip), port),
            Some(url::Host::Ipv6(ip)) => self.check_literal(IpAddr::V6(ip), port),
            Some(url::Host::Domain(name)) => match classify_name(name) {
                Some(class) if !self.allows_class(class) => Err(DeniedAddress::class(name, class)),
                _ => Ok(()),
            },
        }
    }

    /// Checks an address a host name resolved to (any port: see [`FetchPolicy::allow_addr`]).
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), DeniedAddress> {
        match address_class(ip) {
            Some(class) if !self.allows_class(class) => {
                Err(DeniedAddress::class(ip.to_string(), class))
            }
            _ => Ok(()),
        }
    }

    fn check_literal(&self, ip: IpAddr, port: Option<u16>) -> Result<(), DeniedAddress> {
        if port.is_some_and(|p| self.addrs.contains(&SocketAddr::new(ip, p))) {
            return Ok(());
        }
        self.check_ip(ip)
    }

    fn allows_class(&self, class: AddressClass) -> bool {
        match class {
            AddressClass::Loopback => self.loopback,
            AddressClass::Private => self.private,
            _ => false,
        }
    }
}

/// The class of a non-public address, `None` for a public one. IPv6 forms that embed an IPv4
/// address (mapped, compatible, NAT64, 6to4) are classified by that address.
///
/// ```
/// use lumenize_core::fetch::{address_class, AddressClass};
/// assert_eq!(address_class("169.254.169.254".parse().unwrap()), Some(AddressClass::LinkLocal));
/// assert_eq!(address_class("::ffff:10.0.0.1".parse().unwrap()), Some(AddressClass::Private));
/// assert_eq!(address_class("1.1.1.1".parse().unwrap()), None);
/// ```
pub fn address_class(ip: IpAddr) -> Option<AddressClass> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> Option<AddressClass> {
    let [a, b, c, _] = ip.octets();
    Some(match (a, b, c) {
        (0, _, _) => AddressClass::Unspecified,
        (127, _, _) => AddressClass::Loopback,
        (10, _, _) | (192, 168, _) => AddressClass::Private,
        (172, b, _) if (16..32).contains(&b) => AddressClass::Private,
        (169, 254, _) => AddressClass::LinkLocal,
        (100, b, _) if (64..128).contains(&b) => AddressClass::Shared,
        (224..=239, _, _) => AddressClass::Multicast,
        (240..=255, _, _) => AddressClass::Reserved,
        (192, 0, 0) | (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => AddressClass::Reserved,
        (198, 18 | 19, _) => AddressClass::Reserved,
        _ => return None,
    })
}

fn classify_v6(ip: Ipv6Addr) -> Option<AddressClass> {
    let s = ip.segments();
    let embedded =
        |hi: u16, lo: u16| Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8);
    if ip.is_unspecified() {
        return Some(AddressClass::Unspecified);
    }
    if ip.is_loopback() {
        return Some(AddressClass::Loopback);
    }
    match s {
        // ::ffff:a.b.c.d (mapped) and ::a.b.c.d (deprecated compatible form).
        [0, 0, 0, 0, 0, 0xffff, hi, lo] | [0, 0, 0, 0, 0, 0, hi, lo] => {
            return classify_v4(embedded(hi, lo))
        }
        // NAT64 well-known prefix 64:ff9b::/96 reaches the embedded IPv4 address.
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => return classify_v4(embedded(hi, lo)),
        // 6to4 2002:AABB:CCDD::/48 tunnels to AA.BB.CC.DD.
        [0x2002, hi, lo, ..] => return classify_v4(embedded(hi, lo)),
        _ => {}
    }
    let first = s[0];
    Some(match first {
        _ if first & 0xfe00 == 0xfc00 => AddressClass::Private,
        _ if first & 0xffc0 == 0xfec0 => AddressClass::Private,
        _ if first & 0xffc0 == 0xfe80 => AddressClass::LinkLocal,
        _ if first & 0xff00 == 0xff00 => AddressClass::Multicast,
        // Local-use NAT64 (64:ff9b:1::/48).
        0x64 if s[1] == 0xff9b && s[2] == 1 => AddressClass::Private,
        // Discard-only 100::/64, Teredo 2001::/32, documentation 2001:db8::/32.
        0x100 if s[1..4] == [0, 0, 0] => AddressClass::Reserved,
        0x2001 if s[1] == 0 || s[1] == 0xdb8 => AddressClass::Reserved,
        _ => return None,
    })
}

/// Names that are not public whatever DNS says: `localhost` (and `*.localhost`, RFC 6761) and
/// the cloud metadata host names.
fn classify_name(name: &str) -> Option<AddressClass> {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    if name == "localhost" || name.ends_with(".localhost") {
        Some(AddressClass::Loopback)
    } else if METADATA_NAMES.contains(&name.as_str()) {
        Some(AddressClass::LinkLocal)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn denied(p: &FetchPolicy, url: &str) -> bool {
        p.check_url(url).is_err()
    }

    #[test]
    fn the_default_refuses_every_non_public_spelling() {
        let p = FetchPolicy::default();
        for url in [
            "http://127.0.0.1/",
            "http://127.8.9.10:8080/",
            "http://2130706433/",
            "http://0x7f.1/",
            "http://0.0.0.0/",
            "http://10.1.2.3/",
            "http://172.16.0.1/",
            "http://172.31.255.255/",
            "http://192.168.1.1/",
            "http://169.254.169.254/latest/meta-data/",
            "http://100.100.100.200/",
            "http://224.0.0.1/",
            "http://255.255.255.255/",
            "http://[::1]/",
            "http://[::]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::ffff:169.254.169.254]/",
            "http://[::127.0.0.1]/",
            "http://[64:ff9b::a9fe:a9fe]/",
            "http://[2002:7f00:1::]/",
            "http://[fc00::1]/",
            "http://[fd00:ec2::254]/",
            "http://[fe80::1]/",
            "http://[ff02::1]/",
            "http://localhost/",
            "http://LOCALHOST.:3000/",
            "http://api.localhost/",
            "http://metadata.google.internal/computeMetadata/v1/",
            "ftp://example.com/",
            "file:///etc/passwd",
            "not a url",
        ] {
            assert!(denied(&p, url), "{url} was allowed");
        }
        for url in [
            "https://example.com/",
            "http://8.8.8.8/",
            "http://172.32.0.1/",
            "http://100.128.0.1/",
            "http://[2606:4700::1111]/",
            "http://[::ffff:8.8.8.8]/",
            "http://[64:ff9b::808:808]/",
        ] {
            assert!(!denied(&p, url), "{url} was refused");
        }
    }

    #[test]
    fn opt_ins_allow_only_what_they_name() {
        let p = FetchPolicy::default().allow_loopback();
        assert!(!denied(&p, "http://127.0.0.1:9/"));
        assert!(!denied(&p, "http://localhost:9/"));
        assert!(!denied(&p, "http://[::1]:9/"));
        assert!(denied(&p, "http://10.0.0.1/"));
        assert!(denied(&p, "http://169.254.169.254/"));
        let p = FetchPolicy::default().allow_private_networks();
        assert!(!denied(&p, "http://10.0.0.1/"));
        assert!(denied(&p, "http://127.0.0.1/"));
        assert!(denied(&p, "http://100.64.0.1/"));
        let one: SocketAddr = "127.0.0.1:4000".parse().unwrap();
        let p = FetchPolicy::default().allow_addr(one);
        assert!(!denied(&p, "http://127.0.0.1:4000/x"));
        assert!(denied(&p, "http://127.0.0.1:4001/x"));
        assert!(denied(&p, "http://localhost:4000/x"));
        assert!(p.check_ip(one.ip()).is_err(), "names never match an addr");
    }

    #[test]
    fn the_error_says_what_and_how_to_opt_in() {
        let e = FetchPolicy::default()
            .check_url("http://localhost:1/")
            .unwrap_err();
        let text = e.to_string();
        assert!(text.contains("localhost is a loopback address"), "{text}");
        assert!(text.contains("allow_loopback"), "{text}");
    }

    #[test]
    fn the_allow_list_is_bounded() {
        let mut p = FetchPolicy::default();
        for port in 0..1000u16 {
            p = p.allow_addr(SocketAddr::from(([127, 0, 0, 1], port)));
        }
        assert_eq!(p.addrs.len(), MAX_ALLOWED_ADDRS);
    }
}
