//! The API tokens, checked in constant time.
//!
//! The tokens are kept only as SHA-256 digests. A presented token is hashed once and compared with
//! every digest using `subtle`, so the time taken depends neither on where a guess differs from a
//! token, nor on which token matched, nor on the length of the configured tokens. Hashing the
//! presented token takes time that depends on its own length, which the caller knows anyway.

use std::sync::Arc;

use sha2::{Digest, Sha256};
use subtle::{ConditionallySelectable, ConstantTimeEq};

type TokenDigest = [u8; 32];

/// The accepted `SSWS` tokens.
#[derive(Clone)]
pub(crate) struct ApiTokens(Arc<[TokenDigest]>);

impl ApiTokens {
    pub(crate) fn new<I, T>(tokens: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: AsRef<str>,
    {
        // An empty token is no secret: it is never accepted, whatever the configuration says.
        ApiTokens(
            tokens
                .into_iter()
                .filter(|token| !token.as_ref().is_empty())
                .map(|token| digest(token.as_ref().as_bytes()))
                .collect(),
        )
    }

    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    /// The position of the first token equal to `presented`, if any.
    pub(crate) fn find(&self, presented: &[u8]) -> Option<usize> {
        let presented = digest(presented);
        // 1 + the position of the first match; 0 while none matched.
        let mut found = 0u64;
        for (position, known) in (1u64..).zip(self.0.iter()) {
            let first_match = known.ct_eq(&presented) & found.ct_eq(&0);
            found.conditional_assign(&position, first_match);
        }
        usize::try_from(found).ok()?.checked_sub(1)
    }
}

fn digest(secret: &[u8]) -> TokenDigest {
    Sha256::digest(secret).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_first_equal_token() {
        let tokens = ApiTokens::new(["00alpha", "00beta", "00alpha"]);
        assert_eq!(tokens.len(), 3);
        assert_eq!(tokens.find(b"00alpha"), Some(0));
        assert_eq!(tokens.find(b"00beta"), Some(1));
        for wrong in [&b"00gamma"[..], b"00alph", b"00alphaa", b"", b"00ALPHA"] {
            assert_eq!(tokens.find(wrong), None, "{wrong:?}");
        }
        assert_eq!(ApiTokens::new(Vec::<String>::new()).find(b"00alpha"), None);
        // An empty token configured by mistake never lets an empty one in.
        let with_empty = ApiTokens::new(["", "00beta"]);
        assert_eq!(with_empty.find(b""), None);
        assert_eq!(with_empty.find(b"00beta"), Some(0));
    }
}
