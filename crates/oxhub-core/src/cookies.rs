//! The cookie secret and signed values in tornado's v2 format (cookies-and-urls.md §2):
//! `2|1:0|<len>:<timestamp>|<len>:<name>|<len>:<base64 value>|<hex HMAC-SHA256>`. The name is
//! part of what is signed, so a value signed for one cookie is refused for another.

use crate::error::HubError;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use oxhub_config::HubConfig;
use sha2::Sha256;
use std::path::Path;

type HmacSha256 = Hmac<Sha256>;

/// Values signed more than this far in the future are refused (tornado's rule).
const MAX_FUTURE_S: i64 = 31 * 86_400;

pub struct CookieSigner {
    secret: Vec<u8>,
}

impl std::fmt::Debug for CookieSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CookieSigner(..)")
    }
}

/// Where the secret came from, for the start-up log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    Config,
    Environment,
    File(String),
    Generated(String),
}

impl CookieSigner {
    pub fn new(secret: Vec<u8>) -> CookieSigner {
        CookieSigner { secret }
    }

    /// The secret as JupyterHub finds it: `JupyterHub.cookie_secret`, else `JPY_COOKIE_SECRET`
    /// (hex, `from_env`), else `cookie_secret_file` (hex text; refused when group or others may
    /// read or write it), else 32 random bytes written to that file with mode 0600.
    pub fn load(
        config: &HubConfig,
        from_env: Option<&str>,
    ) -> Result<(CookieSigner, SecretSource), HubError> {
        if let Some(secret) = config.hub.cookie_secret.clone().filter(|s| !s.is_empty()) {
            return Ok((CookieSigner::new(secret), SecretSource::Config));
        }
        if let Some(text) = from_env {
            if !text.trim().is_empty() {
                let secret = hex::decode(text.trim()).map_err(|_| {
                    HubError::Invalid("JPY_COOKIE_SECRET must be hex-encoded".into())
                })?;
                return Ok((CookieSigner::new(secret), SecretSource::Environment));
            }
        }
        let file = if config.hub.cookie_secret_file.is_empty() {
            "jupyterhub_cookie_secret"
        } else {
            config.hub.cookie_secret_file.as_str()
        };
        let path = Path::new(file);
        if path.exists() {
            let secret = read_secret_file(path)?;
            return Ok((
                CookieSigner::new(secret),
                SecretSource::File(file.to_owned()),
            ));
        }
        let mut secret = vec![0u8; 32];
        getrandom::getrandom(&mut secret)
            .map_err(|e| HubError::Internal(format!("randomness: {e}")))?;
        write_secret_file(path, &secret)?;
        Ok((
            CookieSigner::new(secret),
            SecretSource::Generated(file.to_owned()),
        ))
    }

    /// Sign `value` for cookie `name` at Unix time `now_s`.
    pub fn sign(&self, name: &str, value: &[u8], now_s: i64) -> String {
        let field = |s: &str| format!("{}:{s}", s.len());
        let ts = now_s.to_string();
        let body = format!(
            "2|1:0|{}|{}|{}|",
            field(&ts),
            field(name),
            field(&STANDARD.encode(value))
        );
        let sig = self.mac(body.as_bytes());
        format!("{body}{sig}")
    }

    /// The value of a signed `name` cookie if the signature holds and it was signed less than
    /// `max_age_days` ago (and not far in the future).
    pub fn verify(
        &self,
        name: &str,
        signed: &str,
        max_age_days: f64,
        now_s: i64,
    ) -> Option<Vec<u8>> {
        let rest = signed.strip_prefix("2|")?;
        let (key_version, rest) = take_field(rest)?;
        let (ts, rest) = take_field(rest)?;
        let (cookie_name, rest) = take_field(rest)?;
        let (value, sig) = take_field(rest)?;
        if key_version != "0" || cookie_name != name {
            return None;
        }
        let body = &signed[..signed.len() - sig.len()];
        let mut mac = HmacSha256::new_from_slice(&self.secret).ok()?;
        mac.update(body.as_bytes());
        mac.verify_slice(&hex::decode(sig).ok()?).ok()?;
        let ts: i64 = ts.parse().ok()?;
        // Whole seconds, as tornado compares them.
        let max_age_s = (max_age_days * 86_400.0) as i64;
        if ts < now_s - max_age_s || ts > now_s + MAX_FUTURE_S {
            return None;
        }
        STANDARD.decode(value).ok()
    }

    /// HMAC-SHA256 of `data` under the cookie secret, lowercase hex.
    pub fn mac(&self, data: &[u8]) -> String {
        // An HMAC key may have any length, so this cannot fail.
        match HmacSha256::new_from_slice(&self.secret) {
            Ok(mut mac) => {
                mac.update(data);
                hex::encode(mac.finalize().into_bytes())
            }
            Err(_) => String::new(),
        }
    }
}

/// One `<len>:<bytes>|` field; returns it and what follows the `|` (or the remainder when it is
/// the last field, the signature).
fn take_field(s: &str) -> Option<(&str, &str)> {
    let (len, rest) = s.split_once(':')?;
    let len: usize = len.parse().ok()?;
    let field = rest.get(..len)?;
    let after = rest.get(len..)?;
    let after = after.strip_prefix('|')?;
    Some((field, after))
}

fn read_secret_file(path: &Path) -> Result<Vec<u8>, HubError> {
    use std::os::unix::fs::PermissionsExt;
    let shown = path.display();
    let meta = std::fs::metadata(path)
        .map_err(|e| HubError::Invalid(format!("cannot read cookie secret file {shown}: {e}")))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(HubError::Invalid(format!(
            "cookie secret file {shown} has permissions {mode:o}: group and others must have no access (chmod 600 {shown})"
        )));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| HubError::Invalid(format!("cannot read cookie secret file {shown}: {e}")))?;
    let text = text.trim();
    if let Ok(secret) = hex::decode(text) {
        if !secret.is_empty() {
            return Ok(secret);
        }
    }
    // Files from very old JupyterHub versions hold base64.
    match STANDARD.decode(text) {
        Ok(secret) if !secret.is_empty() => {
            tracing::warn!("cookie secret file {shown} is base64, not hex; still accepted");
            Ok(secret)
        }
        _ => Err(HubError::Invalid(format!(
            "cookie secret file {shown} holds no hex-encoded secret"
        ))),
    }
}

fn write_secret_file(path: &Path, secret: &[u8]) -> Result<(), HubError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let shown = path.display();
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| HubError::Invalid(format!("cannot write cookie secret file {shown}: {e}")))?;
    writeln!(file, "{}", hex::encode(secret))
        .map_err(|e| HubError::Invalid(format!("cannot write cookie secret file {shown}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_values_round_trip_and_bind_the_name() {
        let s = CookieSigner::new(b"secret".to_vec());
        let v = s.sign("jupyterhub-hub-login", b"abc", 1_714_564_800);
        assert!(
            v.starts_with("2|1:0|10:1714564800|20:jupyterhub-hub-login|4:YWJj|"),
            "{v}"
        );
        assert_eq!(
            s.verify("jupyterhub-hub-login", &v, 14.0, 1_714_564_900),
            Some(b"abc".to_vec())
        );
        assert_eq!(s.verify("_xsrf", &v, 14.0, 1_714_564_900), None);
        // Too old, and signed by another secret.
        assert_eq!(
            s.verify(
                "jupyterhub-hub-login",
                &v,
                14.0,
                1_714_564_800 + 15 * 86_400
            ),
            None
        );
        let other = CookieSigner::new(b"other".to_vec());
        assert_eq!(
            other.verify("jupyterhub-hub-login", &v, 14.0, 1_714_564_900),
            None
        );
        // A changed value breaks the signature.
        let tampered = v.replace("4:YWJj", "4:YWJk");
        assert_eq!(
            s.verify("jupyterhub-hub-login", &tampered, 14.0, 1_714_564_900),
            None
        );
        assert_eq!(s.verify("x", "garbage", 14.0, 0), None);
        assert_eq!(s.verify("x", "2|999:0|", 14.0, 0), None);
    }

    #[test]
    fn matches_tornado() {
        // tornado.web.create_signed_value("secret", "name", "value", version=2,
        // clock=lambda: 1700000000), printed by tornado 6.
        let s = CookieSigner::new(b"secret".to_vec());
        let expected = "2|1:0|10:1700000000|4:name|8:dmFsdWU=|a10442fe9dfd04c38d66405499eca973aa061c03364bdc2e4d993487049011fd";
        assert_eq!(s.sign("name", b"value", 1_700_000_000), expected);
        assert_eq!(
            s.verify("name", expected, 31.0, 1_700_000_100),
            Some(b"value".to_vec())
        );
    }

    #[test]
    fn secret_files_must_be_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        std::fs::write(&path, "00ff\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = read_secret_file(&path).unwrap_err().to_string();
        assert!(err.contains("chmod 600"), "{err}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(read_secret_file(&path).unwrap(), vec![0, 255]);
        let fresh = dir.path().join("fresh");
        write_secret_file(&fresh, &[1, 2]).unwrap();
        let mode = std::fs::metadata(&fresh).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(read_secret_file(&fresh).unwrap(), vec![1, 2]);
    }
}
