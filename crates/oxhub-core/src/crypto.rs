//! `auth_state` encryption at rest, compatible with JupyterHub's CryptKeeper: Fernet with the
//! keys of `JUPYTERHUB_CRYPT_KEY` (`;`-separated, each 32 bytes as hex or URL-safe base64);
//! the first key encrypts, every key decrypts (key rotation).

use base64::Engine;
use fernet::{Fernet, MultiFernet};

/// The keys, or why there are none.
pub struct CryptKeeper {
    fernet: Option<MultiFernet>,
}

#[derive(Debug, thiserror::Error)]
pub enum CryptError {
    #[error("auth_state encryption is not available: set JUPYTERHUB_CRYPT_KEY (32 bytes, hex or base64; `openssl rand -hex 32`)")]
    Unavailable,
    #[error("JUPYTERHUB_CRYPT_KEY: key {index} is not 32 bytes of hex or URL-safe base64")]
    BadKey { index: usize },
    #[error("auth_state could not be decrypted with any configured key")]
    Undecryptable,
}

fn key_bytes(key: &str) -> Option<Vec<u8>> {
    let key = key.trim();
    if let Ok(b) = hex::decode(key) {
        return Some(b);
    }
    base64::engine::general_purpose::URL_SAFE
        .decode(key)
        .or_else(|_| base64::engine::general_purpose::STANDARD.decode(key))
        .ok()
}

impl CryptKeeper {
    /// Build from the configured keys; no keys is valid (encryption then unavailable), a
    /// malformed key is an error at start-up.
    pub fn new(keys: &[String]) -> Result<CryptKeeper, CryptError> {
        let keys: Vec<&String> = keys.iter().filter(|k| !k.trim().is_empty()).collect();
        if keys.is_empty() {
            return Ok(CryptKeeper { fernet: None });
        }
        let mut fernets = Vec::new();
        for (index, key) in keys.iter().enumerate() {
            let bytes = key_bytes(key)
                .filter(|b| b.len() == 32)
                .ok_or(CryptError::BadKey { index })?;
            let encoded = base64::engine::general_purpose::URL_SAFE.encode(bytes);
            fernets.push(Fernet::new(&encoded).ok_or(CryptError::BadKey { index })?);
        }
        Ok(CryptKeeper {
            fernet: Some(MultiFernet::new(fernets)),
        })
    }

    pub fn available(&self) -> bool {
        self.fernet.is_some()
    }

    /// Encrypt a JSON value (as JupyterHub does: its JSON text, Fernet token bytes).
    pub fn encrypt(&self, value: &serde_json::Value) -> Result<Vec<u8>, CryptError> {
        let f = self.fernet.as_ref().ok_or(CryptError::Unavailable)?;
        Ok(f.encrypt(value.to_string().as_bytes()).into_bytes())
    }

    pub fn decrypt(&self, data: &[u8]) -> Result<serde_json::Value, CryptError> {
        let f = self.fernet.as_ref().ok_or(CryptError::Unavailable)?;
        let token = std::str::from_utf8(data).map_err(|_| CryptError::Undecryptable)?;
        let clear = f.decrypt(token).map_err(|_| CryptError::Undecryptable)?;
        serde_json::from_slice(&clear).map_err(|_| CryptError::Undecryptable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn round_trip_and_rotation() {
        let old = CryptKeeper::new(&[HEX.to_owned()]).unwrap();
        let value = serde_json::json!({"access_token": "s3cret", "n": 1});
        let sealed = old.encrypt(&value).unwrap();
        assert!(!String::from_utf8_lossy(&sealed).contains("s3cret"));
        // A new first key encrypts; the old one still decrypts what it sealed.
        let b64 = base64::engine::general_purpose::URL_SAFE.encode([7u8; 32]);
        let rotated = CryptKeeper::new(&[b64, HEX.to_owned()]).unwrap();
        assert_eq!(rotated.decrypt(&sealed).unwrap(), value);
        let resealed = rotated.encrypt(&value).unwrap();
        assert!(old.decrypt(&resealed).is_err());
    }

    #[test]
    fn bad_and_missing_keys() {
        assert!(matches!(
            CryptKeeper::new(&["short".into()]),
            Err(CryptError::BadKey { index: 0 })
        ));
        let none = CryptKeeper::new(&[]).unwrap();
        assert!(!none.available());
        assert!(matches!(
            none.encrypt(&serde_json::json!({})),
            Err(CryptError::Unavailable)
        ));
    }
}
