//! Rejection codes and causes.

use super::*;

#[test]
fn codes_are_unique_snake_case() {
    let mut codes: Vec<_> = RejectionKind::ALL.iter().map(|k| k.code()).collect();
    assert!(codes
        .iter()
        .all(|c| c.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')));
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(codes.len(), RejectionKind::ALL.len());
}

#[test]
fn printable_escapes_and_truncates() {
    assert_eq!(printable(b"a\r\nb"), "a\\r\\nb");
    assert_eq!(printable(&[0xff]), "\u{fffd}");
    assert_eq!(printable("x".repeat(500).as_bytes()).chars().count(), 129);
}
