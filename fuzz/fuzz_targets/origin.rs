//! Origins: `RequestOrigin::parse` on the raw input; `Origin` and `OriginPattern` parsing of the
//! first line and the matching of the other lines (and of look-alikes derived from the pattern)
//! against it.
//!
//! Invariants: a valid request origin is exactly its parts, lowercase, with a non-default port;
//! parse → serialize → parse is stable; a pattern never matches a host with an empty label or a
//! leading dot; the pattern, an independent label matcher and the registry's index agree.

#![no_main]

use libfuzzer_sys::fuzz_target;
use trusted_cors_core::{
    NewTrustedOrigin, Origin, OriginPattern, Registry, RequestOrigin, ScopeType,
};
use trusted_cors_fuzz::{oracle_matches, Input};

fuzz_target!(|data: &[u8]| {
    check_request_origin(data);
    let input = Input::new(data, 0);
    let fields = input.fields();
    let Some(first) = fields.first().and_then(|f| std::str::from_utf8(f).ok()) else {
        return;
    };
    check_origin(first);
    if let Ok(pattern) = OriginPattern::parse(first) {
        check_pattern(&pattern, &fields[1..]);
    }
});

fn check_request_origin(data: &[u8]) {
    match RequestOrigin::parse(data) {
        RequestOrigin::Null => assert_eq!(data, b"null"),
        RequestOrigin::Malformed => assert_ne!(data, b"null"),
        RequestOrigin::Valid(parts) => {
            assert!(data.len() <= Origin::MAX_LEN);
            assert_eq!(parts.serialized().as_bytes(), data);
            assert_eq!(
                format!("{}://{}{}", parts.scheme(), parts.host(), parts.port()),
                parts.serialized()
            );
            assert_eq!(parts.authority(), format!("{}{}", parts.host(), parts.port()));
            assert!(!parts.host().is_empty());
            assert!(parts.scheme().starts_with(|c: char| c.is_ascii_lowercase()));
            assert!(!parts.serialized().bytes().any(|b| b.is_ascii_uppercase()));
            // No path, userinfo, query or fragment: the only slashes are the `//`.
            assert_eq!(parts.serialized().matches('/').count(), 2);
            assert!(!parts.serialized().contains(['@', '?', '#', ' ']));
            if let Some(digits) = parts.port().strip_prefix(':') {
                let number: u32 = digits.parse().expect("a port is digits");
                assert!(number <= 65535 && !digits.starts_with('0'));
                let default = match parts.scheme() {
                    "http" | "ws" => Some(80),
                    "https" | "wss" => Some(443),
                    _ => None,
                };
                assert_ne!(Some(number), default, "a default port is not serialized");
            } else {
                assert!(parts.port().is_empty());
            }
        }
    }
}

fn check_origin(text: &str) {
    let Ok(origin) = Origin::parse(text) else {
        return;
    };
    assert_eq!(
        Origin::parse(origin.as_str()).as_ref(),
        Ok(&origin),
        "{text:?}"
    );
    assert_eq!(origin.to_string(), origin.as_str());
    // An app or extension origin (`capacitor://localhost`) has a scheme a URL may have, and
    // never one whose documents have no trustworthy origin.
    assert!(origin
        .scheme()
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+-.".contains(&b)));
    assert!(!matches!(
        origin.scheme(),
        "file" | "data" | "blob" | "javascript" | "about" | "ws" | "wss" | "ftp"
    ));
    assert_eq!(origin.is_web(), matches!(origin.scheme(), "http" | "https"));
    assert!(!origin.authority().is_empty());
    // A configured origin is one a browser can send.
    assert!(
        matches!(
            RequestOrigin::parse(origin.as_str().as_bytes()),
            RequestOrigin::Valid(_)
        ),
        "{text:?} → {origin:?} can never match a request"
    );
    let json = serde_json::to_string(&origin).expect("serializes");
    assert_eq!(
        serde_json::from_str::<Origin>(&json).ok().as_ref(),
        Some(&origin)
    );
}

fn check_pattern(pattern: &OriginPattern, others: &[&[u8]]) {
    let text = pattern.as_str();
    assert_eq!(
        OriginPattern::parse(text).as_ref(),
        Ok(pattern),
        "not stable: {text:?}"
    );
    assert_eq!(pattern.to_string(), text);
    let json = serde_json::to_string(pattern).expect("serializes");
    assert_eq!(
        serde_json::from_str::<OriginPattern>(&json).ok().as_ref(),
        Some(pattern)
    );
    assert_eq!(pattern.is_wildcard(), pattern.exact().is_none());
    if pattern.is_wildcard() {
        assert!(
            text.starts_with("http://*.") || text.starts_with("https://*."),
            "{text:?}"
        );
    }

    // The registry indexes the pattern; it must find what the pattern matches. The REDIRECT
    // scope, as a plain-http wildcard may not have CORS.
    let registry =
        Registry::with_origins([NewTrustedOrigin::new("fuzz", text, [ScopeType::Redirect])]).ok();
    let snapshot = registry.as_ref().map(Registry::snapshot);

    let mut candidates: Vec<Vec<u8>> = others.iter().map(|o| o.to_vec()).collect();
    if let Some(rest) = text.split_once("://*.") {
        let (scheme, wild) = rest;
        let (base, port) = match wild.rfind(':') {
            Some(colon) => wild.split_at(colon),
            None => (wild, ""),
        };
        for (host, expected) in [
            (format!("a.{base}"), true),
            (format!("a-1.b_2.{base}"), true),
            (format!(".a.{base}"), false),
            (format!("a..{base}"), false),
            (format!(".{base}"), false),
            (format!("..{base}"), false),
            (base.to_owned(), false),
            (format!("a.{base}."), false),
            (format!("A.{base}"), false),
        ] {
            let candidate = format!("{scheme}://{host}{port}");
            assert_eq!(
                pattern.matches(&candidate),
                expected,
                "{text:?} against {candidate:?}"
            );
            candidates.push(candidate.into_bytes());
        }
    } else if let Some(origin) = pattern.exact() {
        assert!(pattern.matches(origin.as_str()));
    }

    for candidate in &candidates {
        let Ok(candidate) = std::str::from_utf8(candidate) else {
            continue;
        };
        let matched = pattern.matches(candidate);
        if matched {
            let RequestOrigin::Valid(parts) = RequestOrigin::parse(candidate.as_bytes()) else {
                panic!("{text:?} matched {candidate:?}, which is not a serialized origin");
            };
            assert!(
                parts.host().starts_with('[') || parts.host().split('.').all(|l| !l.is_empty()),
                "{text:?} matched {candidate:?}, a host with an empty label or a leading dot"
            );
        }
        assert_eq!(
            matched,
            oracle_matches(text, candidate.as_bytes()),
            "{text:?} against {candidate:?}: the pattern and the label oracle disagree"
        );
        if let Some(snapshot) = &snapshot {
            assert_eq!(
                snapshot.trusted(candidate, ScopeType::Redirect).is_some(),
                matched,
                "{text:?} against {candidate:?}: the registry and the pattern disagree"
            );
        }
    }
}
