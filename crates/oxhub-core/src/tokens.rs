//! API tokens: 32 random hex characters (like JupyterHub's `uuid4().hex`), stored only as a
//! SHA-256 hash plus a 4-character lookup prefix. Tokens are high-entropy, so a fast hash is
//! the right tool (no salt or stretching needed to stop guessing).

use sha2::{Digest, Sha256};

/// The OAuth client id of login-session tokens; they are hidden from token listings.
pub const LOGIN_CLIENT: &str = "jupyterhub-login";
/// The note of login-session tokens.
pub const LOGIN_NOTE: &str = "login session";

/// The longest lifetime a token may be given through the API: 100 years, in seconds.
pub const MAX_EXPIRES_IN_S: i64 = 100 * 365 * 24 * 3600;

/// JupyterHub ignores tokens longer than this (6.1 `_TOKEN_MAX_LEN`).
pub const MAX_LEN: usize = 64;
const PREFIX_LEN: usize = 4;

/// A new random token.
pub fn generate() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

pub fn prefix(token: &str) -> &str {
    token.get(..PREFIX_LEN).unwrap_or(token)
}

pub fn hash(token: &str) -> String {
    let digest = Sha256::digest(format!("oxhub-api-token:{token}").as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Constant-time comparison of two hashes.
pub fn same_hash(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_hex_and_hashes_are_stable() {
        let a = generate().unwrap();
        let b = generate().unwrap();
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
        assert_eq!(hash(&a), hash(&a));
        assert!(same_hash(&hash(&a), &hash(&a)));
        assert!(!same_hash(&hash(&a), &hash(&b)));
        assert_eq!(prefix(&a), &a[..4]);
    }
}
