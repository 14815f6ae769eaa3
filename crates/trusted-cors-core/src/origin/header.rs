//! A request's `Origin` header: its bytes validated, never normalised, without allocating.

use super::MAX_ORIGIN_LEN;

/// The outcome of validating the bytes of a request's `Origin` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestOrigin<'a> {
    /// A serialized origin, split into its parts.
    Valid(OriginParts<'a>),
    /// `Origin: null`: an opaque origin, never trusted.
    Null,
    /// Not a serialized origin (or several `Origin` headers): treated as untrusted.
    Malformed,
}

/// A validated serialized origin from a request, borrowed from the header bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OriginParts<'a> {
    pub(super) serialized: &'a str,
    pub(super) scheme: &'a str,
    pub(super) host: &'a str,
    pub(super) port: &'a str,
}

impl<'a> OriginParts<'a> {
    /// The whole value, e.g. `https://app.example.com:8443`.
    pub fn serialized(&self) -> &'a str {
        self.serialized
    }

    /// The scheme, e.g. `https`.
    pub fn scheme(&self) -> &'a str {
        self.scheme
    }

    /// The host, e.g. `app.example.com` or `[::1]`.
    pub fn host(&self) -> &'a str {
        self.host
    }

    /// `:8443`, or empty for the scheme's default port.
    pub fn port(&self) -> &'a str {
        self.port
    }

    /// `host[:port]` as it would appear in a `Host` header.
    pub fn authority(&self) -> &'a str {
        // Only `RequestOrigin::parse` makes parts, from `scheme "://" authority`.
        self.serialized
            .get(self.scheme.len() + 3..)
            .unwrap_or_default()
    }
}

/// Where a serialized origin splits into its parts, kept for an exact trusted origin so that a
/// request whose `Origin` is that origin's bytes is split without being parsed again
/// ([`OriginParts::with_split`]). Made only by [`RequestOrigin::parse`] (through
/// [`OriginSplit::of`]), so it describes exactly what parsing the same bytes gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OriginSplit {
    scheme_len: u16,
    host_len: u16,
}

impl OriginSplit {
    /// The split of `text`, when it is a serialized origin as a request sends it.
    pub(crate) fn of(text: &str) -> Option<OriginSplit> {
        let RequestOrigin::Valid(parts) = RequestOrigin::parse(text.as_bytes()) else {
            return None;
        };
        Some(OriginSplit {
            scheme_len: u16::try_from(parts.scheme.len()).ok()?,
            host_len: u16::try_from(parts.host.len()).ok()?,
        })
    }
}

impl<'a> OriginParts<'a> {
    /// The parts of `text`, which has the bytes `split` was made from: what
    /// `RequestOrigin::parse(text)` gives, without parsing. `None` if `split` does not fit
    /// `text` (never, for the bytes it was made from).
    pub(crate) fn with_split(text: &'a str, split: OriginSplit) -> Option<OriginParts<'a>> {
        let scheme_end = usize::from(split.scheme_len);
        let host_start = scheme_end + 3;
        let host_end = host_start + usize::from(split.host_len);
        Some(OriginParts {
            serialized: text,
            scheme: text.get(..scheme_end)?,
            host: text.get(host_start..host_end)?,
            port: text.get(host_end..)?,
        })
    }
}

impl<'a> RequestOrigin<'a> {
    /// Validates `Origin` header bytes without allocating: `scheme "://" host [":" port]`, in
    /// lowercase ASCII, with no path, trailing slash, userinfo or default port.
    pub fn parse(bytes: &'a [u8]) -> RequestOrigin<'a> {
        if bytes == b"null" {
            return RequestOrigin::Null;
        }
        if bytes.len() > MAX_ORIGIN_LEN {
            return RequestOrigin::Malformed;
        }
        match split_origin(bytes) {
            Some(parts) => RequestOrigin::Valid(parts),
            None => RequestOrigin::Malformed,
        }
    }
}

/// Bytes a host name may hold in a serialized origin (lowercase, digits, `-`, `.`, `_`).
pub(super) const HOST_BYTE: [bool; 256] = byte_class(b"abcdefghijklmnopqrstuvwxyz0123456789-._");
/// Bytes an IPv6 literal may hold between its brackets.
const IPV6_BYTE: [bool; 256] = byte_class(b"0123456789abcdef:.");
/// Bytes a scheme may hold after its first letter.
pub(super) const SCHEME_BYTE: [bool; 256] = byte_class(b"abcdefghijklmnopqrstuvwxyz0123456789+-.");

const fn byte_class(members: &[u8]) -> [bool; 256] {
    let mut class = [false; 256];
    let mut i = 0;
    while i < members.len() {
        class[members[i] as usize] = true;
        i += 1;
    }
    class
}

pub(super) fn all_in(bytes: &[u8], class: &[bool; 256]) -> bool {
    bytes.iter().all(|&b| class[usize::from(b)])
}

fn split_origin(bytes: &[u8]) -> Option<OriginParts<'_>> {
    // The first `:` ends the scheme (a scheme holds none).
    let colon = bytes.iter().position(|&b| b == b':')?;
    let (scheme, rest) = (&bytes[..colon], bytes[colon..].strip_prefix(b"://")?);
    match scheme.split_first() {
        Some((first, tail)) if first.is_ascii_lowercase() && all_in(tail, &SCHEME_BYTE) => {}
        _ => return None,
    }
    let host_len = if rest.first() == Some(&b'[') {
        let close = rest.iter().position(|&b| b == b']')?;
        if close < 2 || !all_in(&rest[1..close], &IPV6_BYTE) {
            return None;
        }
        close + 1
    } else {
        let end = rest.iter().position(|&b| b == b':').unwrap_or(rest.len());
        if end == 0 || !all_in(&rest[..end], &HOST_BYTE) {
            return None;
        }
        end
    };
    let port = &rest[host_len..];
    if !port.is_empty() {
        let digits = port.strip_prefix(b":")?;
        if digits.is_empty()
            || digits.len() > 5
            || digits[0] == b'0'
            || !digits.iter().all(u8::is_ascii_digit)
        {
            return None;
        }
        let number = digits
            .iter()
            .fold(0u32, |n, d| n * 10 + u32::from(d - b'0'));
        let default = match scheme {
            b"http" | b"ws" => Some(80),
            b"https" | b"wss" => Some(443),
            _ => None,
        };
        if number > 65535 || default == Some(number) {
            return None;
        }
    }
    // Every byte was checked to be ASCII above.
    let text = std::str::from_utf8(bytes).ok()?;
    let host_start = colon + 3;
    Some(OriginParts {
        serialized: text,
        scheme: &text[..colon],
        host: &text[host_start..host_start + host_len],
        port: &text[host_start + host_len..],
    })
}
