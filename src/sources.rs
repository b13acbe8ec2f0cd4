//! Where a delivery may come from: an allow-list of source addresses, off by default.
//!
//! Commerce Layer publishes the addresses its deliveries leave from ([`COMMERCE_LAYER`]). A
//! receiver that allows only those answers any other caller 403 before it reads anything else
//! (the signature is never checked). Behind a proxy the socket's peer is the proxy: the
//! [`Sources`] say which proxies are trusted and which header carries the caller's address, and
//! nothing else is believed.

use crate::error::{Error, Result};

/// The addresses Commerce Layer delivers webhooks from (eu-west-1, then us-east-1), as its
/// callbacks-security page lists them; `"commercelayer"` in an allow-list stands for them.
pub const COMMERCE_LAYER: [&str; 6] =
    ["54.246.59.198", "99.81.212.137", "54.74.119.33", "3.220.172.67", "34.202.177.238", "52.0.55.171"];

/// An IP address. (Parsed here rather than with `std::net`, whose parser and formatting would
/// double the size of the WebAssembly a receiver loads; `tests/sources.rs` checks that both
/// read every address the same.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Address {
    /// IPv4, and IPv4 mapped into IPv6 (`::ffff:1.2.3.4`, as Node reports IPv4 peers on a
    /// dual-stack socket).
    V4(u32),
    /// IPv6.
    V6(u128),
}

fn parse_v4(text: &str) -> Option<u32> {
    let mut out = 0u32;
    let mut count = 0;
    for part in text.split('.') {
        count += 1;
        let plain = !part.is_empty() && part.len() <= 3 && part.bytes().all(|b| b.is_ascii_digit());
        if count > 4 || !plain || (part.len() > 1 && part.starts_with('0')) {
            return None;
        }
        let octet: u32 = part.parse().ok().filter(|&o| o <= 255)?;
        out = (out << 8) | octet;
    }
    (count == 4).then_some(out)
}

/// The 16-bit groups of one side of `::`; an IPv4 address may end the last side.
fn groups(text: &str, last: bool, out: &mut Vec<u16>) -> Option<()> {
    if text.is_empty() {
        return Some(());
    }
    let parts: Vec<&str> = text.split(':').collect();
    for (i, part) in parts.iter().enumerate() {
        if last && i + 1 == parts.len() && part.contains('.') {
            let v4 = parse_v4(part)?;
            out.push(u16::try_from(v4 >> 16).ok()?);
            out.push(u16::try_from(v4 & 0xffff).ok()?);
        } else {
            if part.is_empty() || part.len() > 4 || !part.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            out.push(u16::from_str_radix(part, 16).ok()?);
        }
    }
    Some(())
}

/// Where `::` is in a text, by bytes (a string pattern would pull string-search machinery, and
/// its panic messages, into WebAssembly).
fn double_colon(text: &str) -> Option<usize> {
    text.as_bytes().windows(2).position(|pair| pair == b"::")
}

fn parse_v6(text: &str) -> Option<u128> {
    let (head, tail) = match double_colon(text) {
        Some(at) => {
            let (head, tail) = (text.get(..at)?, text.get(at + 2..)?);
            if double_colon(tail).is_some() {
                return None;
            }
            (head, Some(tail))
        }
        None => (text, None),
    };
    let mut front = Vec::with_capacity(8);
    let mut back = Vec::with_capacity(8);
    groups(head, tail.is_none(), &mut front)?;
    if let Some(tail) = tail {
        groups(tail, true, &mut back)?;
    }
    let given = front.len() + back.len();
    let fits = if tail.is_some() { given < 8 } else { given == 8 };
    if !fits {
        return None;
    }
    let zeros = 8 - given;
    let all = front.iter().chain(std::iter::repeat_n(&0, zeros)).chain(back.iter());
    Some(all.fold(0u128, |acc, &g| (acc << 16) | u128::from(g)))
}

impl Address {
    /// An address: `1.2.3.4` or `2001:db8::1`.
    #[must_use]
    pub fn parse(text: &str) -> Option<Address> {
        if let Some(v4) = parse_v4(text) {
            return Some(Address::V4(v4));
        }
        let v6 = parse_v6(text)?;
        // ::ffff:a.b.c.d is the IPv4 address.
        Some(if v6 >> 32 == 0xffff {
            Address::V4(u32::try_from(v6 & 0xffff_ffff).ok()?)
        } else {
            Address::V6(v6)
        })
    }
}

/// Parses an address as a peer or a header gives it: `1.2.3.4`, `::1`, `[::1]`, with a port or
/// not (`1.2.3.4:5678`, `[::1]:80`), spaces around.
#[must_use]
pub fn parse_address(text: &str) -> Option<Address> {
    let text = text.trim();
    if let Some(address) = Address::parse(text) {
        return Some(address);
    }
    if let Some(rest) = text.strip_prefix('[') {
        let (inside, after) = rest.split_once(']')?;
        let port_ok = after.is_empty() || after.strip_prefix(':').is_some_and(|p| p.parse::<u16>().is_ok());
        return if port_ok { Address::parse(inside) } else { None };
    }
    // `1.2.3.4:port` (an IPv6 address without brackets has parsed above, or is not one).
    let (host, port) = text.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    parse_v4(host).map(Address::V4)
}

/// An address or a CIDR block, IPv4 or IPv6.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Block {
    address: Address,
    prefix: u8,
}

impl Block {
    /// `1.2.3.4`, `10.0.0.0/8`, `2001:db8::/32`, `::1`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidSource`].
    pub fn parse(text: &str) -> Result<Block> {
        let invalid = || Error::InvalidSource { input: text.to_owned() };
        let (address, prefix) = match text.trim().split_once('/') {
            Some((address, prefix)) => (address, Some(prefix.parse::<u8>().map_err(|_| invalid())?)),
            None => (text.trim(), None),
        };
        let address = Address::parse(address).ok_or_else(invalid)?;
        let bits = if matches!(address, Address::V4(_)) { 32 } else { 128 };
        let prefix = prefix.unwrap_or(bits);
        if prefix > bits {
            return Err(invalid());
        }
        Ok(Block { address, prefix })
    }

    /// Whether an address is in the block.
    #[must_use]
    pub fn contains(&self, address: Address) -> bool {
        let shift = |width: u32| width.saturating_sub(u32::from(self.prefix));
        match (self.address, address) {
            (Address::V4(block), Address::V4(address)) => {
                let shift = shift(32);
                block.checked_shr(shift).unwrap_or(0) == address.checked_shr(shift).unwrap_or(0)
            }
            (Address::V6(block), Address::V6(address)) => {
                let shift = shift(128);
                block.checked_shr(shift).unwrap_or(0) == address.checked_shr(shift).unwrap_or(0)
            }
            _ => false,
        }
    }
}

/// Which header carries the caller's address, when a trusted proxy stands in front.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Forwarded {
    /// None: the socket's peer is the caller (the default).
    #[default]
    None,
    /// `X-Forwarded-For`, believed from a trusted proxy only: the caller is the last address
    /// in it that is not one of the trusted proxies.
    XForwardedFor,
    /// A header a platform sets to the caller's single address, such as Cloudflare's
    /// `CF-Connecting-IP` (a Worker has no socket peer to check).
    Header(String),
}

impl Forwarded {
    /// The header named `name`: `x-forwarded-for` (in any case), or another header; `None` for
    /// an empty name.
    #[must_use]
    pub fn named(name: &str) -> Option<Forwarded> {
        let name = name.trim();
        if name.eq_ignore_ascii_case("x-forwarded-for") {
            Some(Forwarded::XForwardedFor)
        } else if name.is_empty() {
            None
        } else {
            Some(Forwarded::Header(name.to_owned()))
        }
    }
}

/// An allow-list of the addresses deliveries may come from, and how the caller's address is
/// found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Sources {
    allow: Vec<Block>,
    proxies: Vec<Block>,
    forwarded: Forwarded,
}

impl Sources {
    /// Allows these addresses or blocks; `"commercelayer"` stands for [`COMMERCE_LAYER`].
    ///
    /// ```
    /// use clhooks::sources::Sources;
    /// let sources = Sources::allow(["commercelayer", "10.0.0.0/8"])?;
    /// assert!(sources.admits(Some("54.246.59.198"), &[]).is_ok());
    /// assert!(sources.admits(Some("::ffff:10.1.2.3"), &[]).is_ok());
    /// assert_eq!(sources.admits(Some("127.0.0.1"), &[]).unwrap_err().code(), "forbidden_source");
    /// # Ok::<(), clhooks::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::InvalidSource`] for an entry that is neither.
    pub fn allow<I: IntoIterator<Item = S>, S: AsRef<str>>(entries: I) -> Result<Sources> {
        let mut allow = Vec::new();
        for entry in entries {
            let entry = entry.as_ref();
            if entry.trim().eq_ignore_ascii_case("commercelayer") {
                allow.extend(COMMERCE_LAYER.iter().filter_map(|a| Block::parse(a).ok()));
            } else {
                allow.push(Block::parse(entry)?);
            }
        }
        Ok(Sources { allow, ..Sources::default() })
    }

    /// Trusts these proxies to say, in `forwarded`, who called them.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidSource`].
    pub fn behind<I: IntoIterator<Item = S>, S: AsRef<str>>(
        mut self,
        proxies: I,
        forwarded: Forwarded,
    ) -> Result<Sources> {
        self.proxies = proxies.into_iter().map(|p| Block::parse(p.as_ref())).collect::<Result<_>>()?;
        self.forwarded = forwarded;
        Ok(self)
    }

    /// The header the caller's address is read from, when one is trusted.
    #[must_use]
    pub fn forwarded_header(&self) -> Option<&str> {
        match &self.forwarded {
            Forwarded::None => None,
            Forwarded::XForwardedFor => Some("X-Forwarded-For"),
            Forwarded::Header(name) => Some(name),
        }
    }

    /// Whether there is an allow-list at all.
    #[must_use]
    pub fn is_on(&self) -> bool {
        !self.allow.is_empty()
    }

    fn trusted(&self, address: Address) -> bool {
        self.proxies.iter().any(|p| p.contains(address))
    }

    /// The caller's address: the peer's, or what the trusted header says.
    fn caller(&self, peer: Option<&str>, headers: &[(&str, &str)]) -> Option<(Address, String)> {
        let peer = peer.and_then(|p| parse_address(p).map(|a| (a, p.trim().to_owned())));
        let header_of = |wanted: &str| {
            headers.iter().find(|(name, _)| name.eq_ignore_ascii_case(wanted)).map(|&(_, v)| v)
        };
        match &self.forwarded {
            Forwarded::None => peer,
            Forwarded::Header(name) => match peer {
                // With a peer, the header is believed from a trusted proxy only.
                Some(peer) if !self.trusted(peer.0) => Some(peer),
                _ => header_of(name).and_then(|v| parse_address(v).map(|a| (a, v.trim().to_owned()))),
            },
            Forwarded::XForwardedFor => match peer {
                Some(peer) if self.trusted(peer.0) => {
                    let chain = header_of("X-Forwarded-For").unwrap_or_default();
                    let mut caller = Some(peer);
                    for hop in chain.rsplit(',').map(str::trim).filter(|h| !h.is_empty()) {
                        match parse_address(hop) {
                            Some(address) if self.trusted(address) => {
                                caller = Some((address, hop.to_owned()))
                            }
                            Some(address) => return Some((address, hop.to_owned())),
                            // A hop that is not an address: nothing before it can be believed.
                            None => return None,
                        }
                    }
                    caller
                }
                other => other,
            },
        }
    }

    /// Whether a request from `peer` (the socket's address, when there is one) with these
    /// headers may be received: always without an allow-list.
    ///
    /// # Errors
    ///
    /// [`Error::ForbiddenSource`] when its caller is not allowed, or cannot be told.
    pub fn admits(&self, peer: Option<&str>, headers: &[(&str, &str)]) -> Result<()> {
        if !self.is_on() {
            return Ok(());
        }
        match self.caller(peer, headers) {
            Some((address, _)) if self.allow.iter().any(|b| b.contains(address)) => Ok(()),
            Some((_, text)) => Err(Error::ForbiddenSource { address: text }),
            None => Err(Error::ForbiddenSource { address: "unknown".into() }),
        }
    }
}
