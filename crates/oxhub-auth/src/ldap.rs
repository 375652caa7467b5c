//! `LDAPAuthenticator` as ldapauthenticator 2.0.2 behaves (authenticators.md §6), on `ldap3`:
//! one connection per login (StartTLS before the bind by default, LDAPS, or plain when asked),
//! the user's DN from `bind_dn_template` or a `lookup_dn` search, a bind as the user, then the
//! optional `search_filter`, `allowed_groups` and `auth_state_attributes` searches as the user.
//!
//! Every value a user typed is escaped for where it goes: RFC 4514 in a DN, RFC 4515 in a
//! filter (ldap3's `dn_escape` and `ldap_escape`). A directory that cannot be reached is an
//! outage (503), never a refusal that looks like a wrong password.

use ldap3::{dn_escape, ldap_escape, Ldap, LdapConnAsync, LdapConnSettings, Scope, SearchEntry};
use oxhub_plugin::auth::{AuthError, Authenticated, Authenticator, LoginRequest};
use oxhub_plugin::BoxFuture;
use serde_json::{json, Map, Value};
use std::sync::Arc;
use std::time::Duration;

/// `tls_strategy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TlsStrategy {
    /// Plain connection, StartTLS before the bind (the default).
    #[default]
    BeforeBind,
    /// LDAPS.
    OnConnect,
    /// No TLS at all.
    Insecure,
}

/// `LDAPAuthenticator`'s traits.
#[derive(Debug, Clone, Default)]
pub struct LdapSettings {
    pub server_address: String,
    /// 0: 636 with `on_connect`, else 389.
    pub server_port: u16,
    pub tls_strategy: TlsStrategy,
    /// `tls_kwargs["ca_certs_file"]`: a PEM file of trusted roots (else the system's).
    pub ca_certs_file: Option<String>,
    /// `tls_kwargs["validate"]` is `ssl.CERT_NONE` (0): certificates are not checked.
    pub no_tls_verify: bool,
    pub bind_dn_template: Vec<String>,
    pub lookup_dn: bool,
    pub lookup_dn_search_filter: String,
    pub lookup_dn_search_user: Option<String>,
    pub lookup_dn_search_password: Option<String>,
    pub user_search_base: String,
    pub user_attribute: String,
    pub lookup_dn_user_dn_attribute: String,
    pub search_filter: String,
    pub attributes: Vec<String>,
    pub allowed_groups: Vec<String>,
    pub group_search_filter: String,
    pub group_attributes: Vec<String>,
    pub auth_state_attributes: Vec<String>,
    pub use_lookup_dn_username: bool,
    pub valid_username_regex: String,
    /// For each network step (connect, bind, search).
    pub timeout: Duration,
}

pub struct LdapAuthenticator {
    settings: LdapSettings,
    valid_name: regex_lite::Regex,
    tls: Option<Arc<rustls::ClientConfig>>,
}

/// A Python `str.format` template with named fields: `{name}` replaced, `{{`/`}}` literal.
fn fill(template: &str, fields: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(i) = rest.find(['{', '}']) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if tail.starts_with("{{") || tail.starts_with("}}") {
            out.push_str(&tail[..1]);
            rest = &tail[2..];
            continue;
        }
        if let Some(end) = tail.find('}').filter(|_| tail.starts_with('{')) {
            let key = &tail[1..end];
            match fields.iter().find(|(k, _)| *k == key) {
                Some((_, v)) => out.push_str(v),
                None => out.push_str(&tail[..=end]),
            }
            rest = &tail[end + 1..];
        } else {
            out.push_str(&tail[..1]);
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    out
}

fn outage(e: impl std::fmt::Display) -> AuthError {
    AuthError::Unavailable(format!("LDAP server: {e}"))
}

impl LdapAuthenticator {
    pub fn new(mut settings: LdapSettings) -> Result<LdapAuthenticator, String> {
        if settings.server_address.is_empty() {
            return Err("LDAPAuthenticator.server_address is not set".into());
        }
        settings.bind_dn_template.retain(|t| {
            let blank = t.trim().is_empty();
            if blank {
                tracing::warn!("LDAPAuthenticator.bind_dn_template: a blank entry is ignored");
            }
            !blank
        });
        if !settings.lookup_dn && settings.bind_dn_template.is_empty() {
            return Err("LDAPAuthenticator needs bind_dn_template or lookup_dn = True".into());
        }
        if settings.lookup_dn
            && (settings.user_search_base.is_empty() || settings.user_attribute.is_empty())
        {
            return Err(
                "LDAPAuthenticator.lookup_dn needs user_search_base and user_attribute".into(),
            );
        }
        if !settings.allowed_groups.is_empty()
            && (settings.group_search_filter.is_empty() || settings.group_attributes.is_empty())
        {
            return Err(
                "LDAPAuthenticator.allowed_groups needs group_search_filter and group_attributes"
                    .into(),
            );
        }
        let pattern = if settings.valid_username_regex.is_empty() {
            "^[a-z][.a-z0-9_-]*$".to_owned()
        } else {
            settings.valid_username_regex.clone()
        };
        // Python's re.match: anchored at the start only.
        let valid_name = regex_lite::Regex::new(&format!("^(?:{pattern})"))
            .map_err(|e| format!("LDAPAuthenticator.valid_username_regex: {e}"))?;
        let tls = match &settings.ca_certs_file {
            Some(path) => Some(Arc::new(client_config(path)?)),
            None => None,
        };
        Ok(LdapAuthenticator {
            settings,
            valid_name,
            tls,
        })
    }

    async fn connect(&self) -> Result<Ldap, AuthError> {
        let s = &self.settings;
        let (scheme, default_port) = match s.tls_strategy {
            TlsStrategy::OnConnect => ("ldaps", 636),
            _ => ("ldap", 389),
        };
        let port = if s.server_port == 0 {
            default_port
        } else {
            s.server_port
        };
        let host = if s.server_address.contains(':') && !s.server_address.starts_with('[') {
            format!("[{}]", s.server_address)
        } else {
            s.server_address.clone()
        };
        let url = format!("{scheme}://{host}:{port}");
        let mut settings = LdapConnSettings::new()
            .set_conn_timeout(s.timeout)
            .set_starttls(s.tls_strategy == TlsStrategy::BeforeBind)
            .set_no_tls_verify(s.no_tls_verify);
        if let Some(config) = &self.tls {
            settings = settings.set_config(Arc::clone(config));
        }
        let (conn, mut ldap) = LdapConnAsync::with_settings(settings, &url)
            .await
            .map_err(outage)?;
        ldap3::drive!(conn);
        ldap.with_timeout(s.timeout);
        Ok(ldap)
    }

    /// `lookup_dn`: the user's entry by a search; `(resolved name, DN)`, or `None` unless
    /// exactly one entry with exactly one value of `lookup_dn_user_dn_attribute` is found.
    async fn resolve(&self, login: &str) -> Result<Option<(String, String)>, AuthError> {
        let s = &self.settings;
        let mut ldap = self.connect().await?;
        let bound = match (&s.lookup_dn_search_user, &s.lookup_dn_search_password) {
            (Some(user), Some(pw)) => ldap.simple_bind(user, pw).await,
            _ => ldap.simple_bind("", "").await,
        };
        if let Err(e) = bound.map_err(outage)?.success() {
            tracing::warn!("LDAP: the lookup_dn bind failed: {e}");
            return Ok(None);
        }
        let filter = fill(
            &s.lookup_dn_search_filter,
            &[
                ("login_attr", &s.user_attribute),
                ("login", &ldap_escape(login)),
            ],
        );
        let attr = if s.lookup_dn_user_dn_attribute.is_empty() {
            s.user_attribute.clone()
        } else {
            s.lookup_dn_user_dn_attribute.clone()
        };
        let found = ldap
            .search(
                &s.user_search_base,
                Scope::Subtree,
                &filter,
                vec![attr.as_str()],
            )
            .await
            .map_err(outage)?;
        let _ = ldap.unbind().await;
        let entries = match found.success() {
            Ok((entries, _)) => entries,
            Err(e) => {
                tracing::warn!("LDAP: the lookup_dn search failed: {e}");
                return Ok(None);
            }
        };
        if entries.len() != 1 {
            tracing::warn!(
                "LDAP: lookup_dn found {} entries for {}, not one",
                entries.len(),
                oxhub_model::names::clip(login)
            );
            return Ok(None);
        }
        let entry = entries.into_iter().next().map(SearchEntry::construct);
        let Some(entry) = entry else { return Ok(None) };
        let values = entry
            .attrs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(&attr))
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        match values.as_slice() {
            [one] => Ok(Some((one.clone(), entry.dn))),
            _ => {
                tracing::warn!(
                    "LDAP: {attr} of {} has {} values, not one",
                    entry.dn,
                    values.len()
                );
                Ok(None)
            }
        }
    }

    async fn login(&self, login: &str, password: &str) -> Result<Option<Authenticated>, AuthError> {
        let s = &self.settings;
        if !self.valid_name.is_match(login) {
            tracing::warn!(
                "LDAP: username {} does not match valid_username_regex",
                oxhub_model::names::clip(login)
            );
            return Ok(None);
        }
        if password.trim().is_empty() {
            return Ok(None);
        }
        let (resolved, templates) = if s.lookup_dn {
            let Some((name, dn)) = self.resolve(login).await? else {
                return Ok(None);
            };
            let templates = if s.bind_dn_template.is_empty() {
                vec![dn.replace('{', "{{").replace('}', "}}")]
            } else {
                s.bind_dn_template.clone()
            };
            (name, templates)
        } else {
            (login.to_owned(), s.bind_dn_template.clone())
        };
        // Bind as the user: the first template that binds wins.
        let mut ldap = self.connect().await?;
        let mut user_dn = None;
        for template in &templates {
            let dn = fill(template, &[("username", &dn_escape(resolved.as_str()))]);
            match ldap
                .simple_bind(&dn, password)
                .await
                .map_err(outage)?
                .success()
            {
                Ok(_) => {
                    user_dn = Some(dn);
                    break;
                }
                Err(e) => tracing::debug!("LDAP: bind as {dn} failed: {e}"),
            }
        }
        let Some(user_dn) = user_dn else {
            tracing::warn!(
                "LDAP: invalid password for {}",
                oxhub_model::names::clip(login)
            );
            return Ok(None);
        };
        let escaped = ldap_escape(resolved.as_str()).into_owned();
        if !s.search_filter.is_empty() {
            let filter = fill(
                &s.search_filter,
                &[("userattr", &s.user_attribute), ("username", &escaped)],
            );
            let attrs: Vec<&str> = s.attributes.iter().map(String::as_str).collect();
            let found = ldap
                .search(&s.user_search_base, Scope::Subtree, &filter, attrs)
                .await
                .map_err(outage)?;
            let n = found.success().map(|(e, _)| e.len()).unwrap_or(0);
            if n != 1 {
                tracing::warn!("LDAP: search_filter found {n} entries for {user_dn}, not one");
                return Ok(None);
            }
        }
        let mut ldap_groups = Vec::new();
        for group in &s.allowed_groups {
            let filter = fill(
                &s.group_search_filter,
                &[
                    ("userdn", &ldap_escape(user_dn.as_str())),
                    ("uid", &escaped),
                ],
            );
            let attrs: Vec<&str> = s.group_attributes.iter().map(String::as_str).collect();
            let found = ldap
                .search(group, Scope::Base, &filter, attrs)
                .await
                .map_err(outage)?;
            if found.success().is_ok_and(|(e, _)| !e.is_empty()) {
                ldap_groups.push(Value::from(group.as_str()));
            }
        }
        let mut user_attributes = Map::new();
        if !s.auth_state_attributes.is_empty() {
            let attrs: Vec<&str> = s.auth_state_attributes.iter().map(String::as_str).collect();
            let found = ldap
                .search(&user_dn, Scope::Subtree, "(objectClass=*)", attrs)
                .await
                .map_err(outage)?;
            match found.success() {
                Ok((entries, _)) if entries.len() == 1 => {
                    for entry in entries.into_iter().map(SearchEntry::construct) {
                        for (k, v) in entry.attrs {
                            user_attributes.insert(k, json!(v));
                        }
                    }
                }
                other => tracing::error!(
                    "LDAP: auth_state_attributes of {user_dn}: {} entries, not one",
                    other.map(|(e, _)| e.len()).unwrap_or(0)
                ),
            }
        }
        let _ = ldap.unbind().await;
        let name = if s.use_lookup_dn_username {
            resolved
        } else {
            login.to_owned()
        };
        Ok(Some(Authenticated {
            name,
            admin: None,
            groups: None,
            auth_state: Some(json!({
                "ldap_groups": ldap_groups,
                "user_attributes": user_attributes,
            })),
            roles: None,
        }))
    }
}

/// A rustls client configuration trusting the roots of a PEM file.
fn client_config(path: &str) -> Result<rustls::ClientConfig, String> {
    let pem = std::fs::read(path).map_err(|e| format!("tls_kwargs ca_certs_file {path}: {e}"))?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
        let cert = cert.map_err(|e| format!("tls_kwargs ca_certs_file {path}: {e}"))?;
        roots
            .add(cert)
            .map_err(|e| format!("tls_kwargs ca_certs_file {path}: {e}"))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

impl Authenticator for LdapAuthenticator {
    fn class(&self) -> &str {
        "LDAPAuthenticator"
    }

    fn authenticate<'a>(
        &'a self,
        request: &'a LoginRequest,
    ) -> BoxFuture<'a, Result<Option<Authenticated>, AuthError>> {
        Box::pin(async move {
            self.login(request.field("username"), request.field("password"))
                .await
        })
    }

    fn check_allowed<'a>(
        &'a self,
        _name: &'a str,
        model: &'a Authenticated,
    ) -> BoxFuture<'a, Result<bool, AuthError>> {
        Box::pin(async move {
            let groups = model
                .auth_state
                .as_ref()
                .and_then(|s| s.get("ldap_groups"))
                .and_then(Value::as_array);
            Ok(groups.is_some_and(|g| {
                g.iter()
                    .filter_map(Value::as_str)
                    .any(|g| self.settings.allowed_groups.iter().any(|a| a == g))
            }))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_fill_named_fields_like_str_format() {
        assert_eq!(
            fill("uid={username},ou=people,dc=x", &[("username", "alice")]),
            "uid=alice,ou=people,dc=x"
        );
        assert_eq!(
            fill(
                "({login_attr}={login})",
                &[("login_attr", "uid"), ("login", "a\\2a")]
            ),
            "(uid=a\\2a)"
        );
        assert_eq!(fill("{{literal}} {unknown}", &[]), "{literal} {unknown}");
        assert_eq!(fill("unclosed {", &[]), "unclosed {");
    }

    #[test]
    fn typed_values_are_escaped_for_dns_and_filters() {
        // RFC 4514 in a DN: a comma cannot start a new RDN.
        assert_eq!(dn_escape("a,ou=admins"), "a\\2cou\\3dadmins");
        assert_eq!(dn_escape("#x "), "\\23x\\20");
        // RFC 4515 in a filter: no wildcards, no new clauses, no NUL.
        assert_eq!(ldap_escape("*)(uid=*"), "\\2a\\29\\28uid=\\2a");
        assert_eq!(ldap_escape("a\0b"), "a\\00b");
    }

    #[test]
    fn settings_that_cannot_work_are_refused() {
        let base = LdapSettings {
            server_address: "127.0.0.1".into(),
            bind_dn_template: vec!["uid={username},dc=x".into()],
            group_search_filter: "(member={userdn})".into(),
            group_attributes: vec!["member".into()],
            ..LdapSettings::default()
        };
        assert!(LdapAuthenticator::new(base.clone()).is_ok());
        let no_server = LdapSettings {
            server_address: String::new(),
            ..base.clone()
        };
        assert!(LdapAuthenticator::new(no_server).is_err());
        let no_dn = LdapSettings {
            bind_dn_template: vec!["  ".into()],
            ..base.clone()
        };
        assert!(LdapAuthenticator::new(no_dn).is_err());
        let lookup = LdapSettings {
            lookup_dn: true,
            ..base.clone()
        };
        assert!(
            LdapAuthenticator::new(lookup).is_err(),
            "needs a search base"
        );
        let bad_regex = LdapSettings {
            valid_username_regex: "([".into(),
            ..base
        };
        assert!(LdapAuthenticator::new(bad_regex).is_err());
    }

    #[tokio::test]
    async fn bad_names_and_blank_passwords_never_reach_the_server() {
        // Port 9 on loopback: anything that tried to connect would fail with an outage.
        let a = LdapAuthenticator::new(LdapSettings {
            server_address: "127.0.0.1".into(),
            server_port: 9,
            tls_strategy: TlsStrategy::Insecure,
            bind_dn_template: vec!["uid={username},dc=x".into()],
            timeout: Duration::from_secs(2),
            ..LdapSettings::default()
        })
        .unwrap();
        for (name, pw) in [
            ("Alice", "pw"),
            ("*", "pw"),
            ("a)(uid=*", "pw"),
            ("a,b", "pw"),
            ("a\0", "pw"),
            ("alice", "  "),
        ] {
            let r = a.authenticate(&LoginRequest::password(name, pw)).await;
            assert_eq!(r, Ok(None), "{name:?}");
        }
        let r = a.authenticate(&LoginRequest::password("alice", "pw")).await;
        assert!(matches!(r, Err(AuthError::Unavailable(_))), "{r:?}");
    }
}
