//! The provider presets: their endpoints and defaults, and what each checks beyond the
//! generic flow (GitHub organisations and teams, GitLab groups and projects, Google's
//! workspace domain and verified e-mail, Azure AD's id_token claims).

use super::wire::Http;
use super::{at_path, OAuthSettings};
use oxhub_plugin::auth::AuthError;
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use serde_json::{Map, Value};

/// Which provider an OAuth authenticator talks to.
#[derive(Debug, Clone, Default)]
pub enum Provider {
    /// `GenericOAuthenticator`: everything comes from the settings (or discovery).
    #[default]
    Generic,
    GitHub(GitHub),
    GitLab(GitLab),
    Google(Google),
    /// `AzureAdOAuthenticator`: the user's facts come from the id_token.
    AzureAd {
        tenant_id: String,
    },
    Auth0(Auth0),
    CILogon(CILogon),
}

#[derive(Debug, Clone, Default)]
pub struct Auth0 {
    pub domain: String,
    /// `allow_unverified_email`: off, an `email_verified` other than true refuses the login.
    pub allow_unverified_email: bool,
}

#[derive(Debug, Clone, Default)]
pub struct CILogon {
    /// `cilogon_host`; empty: `cilogon.org`.
    pub host: String,
    /// `allowed_idps`: entity id → how to make a username of that provider's users.
    pub allowed_idps: Vec<(String, Derivation)>,
}

/// CILogon's `username_derivation` for one identity provider.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Derivation {
    /// The userinfo claim the name comes from (default `email`).
    pub username_claim: String,
    /// `strip_idp_domain` (drop `@domain` when it is the given one) or `prefix`.
    pub action: String,
    pub domain: String,
    pub prefix: String,
}

#[derive(Debug, Clone, Default)]
pub struct GitHub {
    /// `github_url`; empty: `https://github.com`.
    pub url: String,
    /// `github_api`; empty: derived from the URL.
    pub api: String,
    /// `allowed_organizations`: `org` or `org:team` (the team's slug).
    pub allowed_organizations: Vec<String>,
    pub populate_teams_in_auth_state: bool,
}

#[derive(Debug, Clone, Default)]
pub struct GitLab {
    /// `gitlab_url`; empty: `https://gitlab.com`.
    pub url: String,
    pub allowed_gitlab_groups: Vec<String>,
    pub allowed_project_ids: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Google {
    /// `hosted_domain`, lower case: the `hd` claim must be one of them.
    pub hosted_domain: Vec<String>,
    /// `google_api_url`; empty: `https://www.googleapis.com`.
    pub api_url: String,
}

/// What a preset made of a user's data.
pub(crate) enum Verdict {
    /// Extra auth_state entries (GitHub's `teams`).
    Accepted(Map<String, Value>),
    /// An identity check failed; the reason is logged, not shown.
    Refused(String),
}

fn or(value: &mut String, default: impl Into<String>) {
    if value.is_empty() {
        *value = default.into();
    }
}

/// A value as one URL path segment.
fn segment(s: &str) -> String {
    utf8_percent_encode(s, NON_ALPHANUMERIC).to_string()
}

impl GitHub {
    fn api(&self) -> String {
        if !self.api.is_empty() {
            return self.api.trim_end_matches('/').to_owned();
        }
        let url = self.url.trim_end_matches('/');
        if url.is_empty() || url == "https://github.com" {
            "https://api.github.com".into()
        } else {
            format!("{url}/api/v3")
        }
    }
}

impl GitLab {
    fn url(&self) -> &str {
        match self.url.trim_end_matches('/') {
            "" => "https://gitlab.com",
            url => url,
        }
    }
    fn api(&self) -> String {
        format!("{}/api/v4", self.url())
    }
}

impl Google {
    fn api_url(&self) -> &str {
        match self.api_url.trim_end_matches('/') {
            "" => "https://www.googleapis.com",
            url => url,
        }
    }
}

impl Provider {
    /// The preset's endpoints and defaults, where the settings leave them empty.
    pub(crate) fn fill_defaults(&self, s: &mut OAuthSettings) {
        let (service, claim) = match self {
            Provider::Generic => ("OAuth 2.0", "username"),
            Provider::GitHub(gh) => {
                let url = match gh.url.trim_end_matches('/') {
                    "" => "https://github.com",
                    url => url,
                };
                or(&mut s.authorize_url, format!("{url}/login/oauth/authorize"));
                or(&mut s.token_url, format!("{url}/login/oauth/access_token"));
                or(&mut s.userdata_url, format!("{}/user", gh.api()));
                ("GitHub", "login")
            }
            Provider::GitLab(gl) => {
                or(
                    &mut s.authorize_url,
                    format!("{}/oauth/authorize", gl.url()),
                );
                or(&mut s.token_url, format!("{}/oauth/token", gl.url()));
                or(&mut s.userdata_url, format!("{}/user", gl.api()));
                ("GitLab", "username")
            }
            Provider::Google(g) => {
                or(
                    &mut s.authorize_url,
                    "https://accounts.google.com/o/oauth2/v2/auth",
                );
                or(&mut s.token_url, format!("{}/oauth2/v4/token", g.api_url()));
                or(
                    &mut s.userdata_url,
                    format!("{}/oauth2/v1/userinfo", g.api_url()),
                );
                if s.scope.is_empty() {
                    s.scope = vec!["openid".into(), "email".into()];
                }
                ("Google", "email")
            }
            Provider::Auth0(a) => {
                let base = format!("https://{}", a.domain);
                or(&mut s.authorize_url, format!("{base}/authorize"));
                or(&mut s.token_url, format!("{base}/oauth/token"));
                or(&mut s.userdata_url, format!("{base}/userinfo"));
                or(&mut s.logout_redirect_url, format!("{base}/v2/logout"));
                if s.scope.is_empty() {
                    s.scope = vec!["openid".into(), "email".into()];
                }
                ("Auth0", "email")
            }
            Provider::CILogon(c) => {
                let host = if c.host.is_empty() {
                    "cilogon.org"
                } else {
                    &c.host
                };
                or(&mut s.authorize_url, format!("https://{host}/authorize"));
                or(&mut s.token_url, format!("https://{host}/oauth2/token"));
                or(
                    &mut s.userdata_url,
                    format!("https://{host}/oauth2/userinfo"),
                );
                if s.scope.is_empty() {
                    s.scope = vec![
                        "openid".into(),
                        "email".into(),
                        "org.cilogon.userinfo".into(),
                    ];
                }
                ("CILogon", "email")
            }
            Provider::AzureAd { tenant_id } => {
                let tenant = if tenant_id.is_empty() {
                    "common"
                } else {
                    tenant_id
                };
                let base = format!("https://login.microsoftonline.com/{tenant}/oauth2/v2.0");
                or(&mut s.authorize_url, format!("{base}/authorize"));
                or(&mut s.token_url, format!("{base}/token"));
                if s.scope.is_empty() {
                    s.scope = vec!["openid".into()];
                }
                s.userdata_from_id_token = true;
                ("Azure AD", "name")
            }
        };
        or(&mut s.login_service, service);
        or(&mut s.username_claim, claim);
        or(&mut s.groups_key, format!("{}.groups", self.user_key()));
    }

    /// Settings that cannot work (upstream raises at start-up).
    pub(crate) fn check(&self) -> Result<(), String> {
        if let Provider::CILogon(c) = self {
            if c.allowed_idps.is_empty() {
                return Err(
                    "CILogonOAuthenticator.allowed_idps must name at least one identity provider"
                        .into(),
                );
            }
            if let Some((idp, d)) = c
                .allowed_idps
                .iter()
                .find(|(_, d)| !matches!(d.action.as_str(), "" | "strip_idp_domain" | "prefix"))
            {
                return Err(format!(
                    "CILogonOAuthenticator.allowed_idps[{idp:?}]: unknown action {:?}",
                    d.action
                ));
            }
        }
        if let Provider::GitHub(gh) = self {
            if let Some(bad) = gh
                .allowed_organizations
                .iter()
                .find(|o| o.matches(':').count() > 1 || o.starts_with(':') || o.ends_with(':'))
            {
                return Err(format!(
                    "GitHubOAuthenticator.allowed_organizations: {bad:?} is neither org nor org:team"
                ));
            }
        }
        Ok(())
    }

    /// The auth_state key holding the provider's user data.
    pub(crate) fn user_key(&self) -> &'static str {
        match self {
            Provider::Generic => "oauth_user",
            Provider::GitHub(_) => "github_user",
            Provider::GitLab(_) => "gitlab_user",
            Provider::Google(_) => "google_user",
            Provider::AzureAd { .. } => "user",
            Provider::Auth0(_) => "auth0_user",
            Provider::CILogon(_) => "cilogon_user",
        }
    }

    /// Whether authorize requests carry a nonce (an OpenID login: `openid` is asked for, or
    /// an issuer is configured).
    pub(crate) fn sends_nonce(&self, s: &OAuthSettings) -> bool {
        !s.issuer.is_empty() || s.scope.iter().any(|x| x == "openid")
    }

    /// The hub username from the user's data (`username_claim`).
    pub(crate) fn username(&self, s: &OAuthSettings, user: &Map<String, Value>) -> Option<String> {
        let user = Value::Object(user.clone());
        if let Provider::CILogon(c) = self {
            return cilogon_username(c, &user);
        }
        let name = match at_path(&user, &s.username_claim)? {
            Value::String(name) => name.clone(),
            Value::Number(n) => n.to_string(),
            _ => return None,
        };
        let name = match self {
            // `strip_domain`: with one hosted domain, `alice@example.org` is `alice`.
            Provider::Google(g) if g.hosted_domain.len() == 1 => match name.rsplit_once('@') {
                Some((local, domain)) if domain.eq_ignore_ascii_case(&g.hosted_domain[0]) => {
                    local.to_owned()
                }
                _ => name,
            },
            _ => name,
        };
        (!name.trim().is_empty()).then_some(name)
    }

    /// Identity checks and extra data, run on every login whatever the allow rules say.
    pub(crate) async fn enrich(
        &self,
        http: &Http,
        s: &OAuthSettings,
        access_token: &str,
        token_response: &Map<String, Value>,
        user: &mut Map<String, Value>,
    ) -> Result<Verdict, AuthError> {
        let mut extra = Map::new();
        match self {
            Provider::Google(g) => {
                let email = user
                    .get("email")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned();
                let domain = email.rsplit_once('@').map(|(_, d)| d.to_lowercase());
                if let Some(domain) = domain {
                    user.insert("domain".into(), Value::from(domain));
                }
                if !g.hosted_domain.is_empty() {
                    // The workspace is the `hd` claim, never the e-mail's domain
                    // (GHSA-55m3-44xf-hg4h).
                    let hd = user
                        .get("hd")
                        .and_then(Value::as_str)
                        .map(str::to_lowercase);
                    if !hd.as_ref().is_some_and(|hd| g.hosted_domain.contains(hd)) {
                        return Ok(Verdict::Refused(format!(
                            "hosted domain {hd:?} is not one of {:?}",
                            g.hosted_domain
                        )));
                    }
                }
                let verified = user
                    .get("verified_email")
                    .or_else(|| user.get("email_verified"));
                if verified == Some(&Value::Bool(false)) {
                    return Ok(Verdict::Refused(format!(
                        "the e-mail {} is not verified",
                        oxhub_model::names::clip(&email)
                    )));
                }
            }
            Provider::GitHub(gh) => {
                let granted = super::granted_scopes(token_response);
                let email_empty = user
                    .get("email")
                    .and_then(Value::as_str)
                    .is_none_or(str::is_empty);
                if email_empty && granted.iter().any(|g| g == "user" || g == "user:email") {
                    let a = http
                        .api_get(&format!("{}/user/emails", gh.api()), access_token)
                        .await?;
                    let primary = a.body.as_array().and_then(|list| {
                        list.iter()
                            .find(|e| e.get("primary") == Some(&Value::Bool(true)))
                            .and_then(|e| e.get("email").cloned())
                    });
                    if let Some(email) = primary {
                        user.insert("email".into(), email);
                    }
                }
                if gh.populate_teams_in_auth_state {
                    if s.scope.iter().any(|x| x == "read:org") {
                        let mut teams = Vec::new();
                        let mut url = Some(format!("{}/user/teams?per_page=100", gh.api()));
                        // Bounded: 100 pages of 100 teams.
                        for _ in 0..100 {
                            let Some(u) = url.take() else { break };
                            let a = http.api_get(&u, access_token).await?;
                            if let Value::Array(page) = a.body {
                                teams.extend(page);
                            }
                            url = a.next;
                        }
                        extra.insert("teams".into(), Value::Array(teams));
                    } else {
                        tracing::error!(
                            "GitHubOAuthenticator.populate_teams_in_auth_state needs 'read:org' in scope"
                        );
                    }
                }
            }
            Provider::Auth0(a) => {
                // The e-mail is the identity: an unverified one proves nothing
                // (GHSA-rrvg-cxh4-qhrv), whatever the allow rules say.
                if !a.allow_unverified_email
                    && user.get("email_verified") != Some(&Value::Bool(true))
                {
                    return Ok(Verdict::Refused("the e-mail is not verified".into()));
                }
            }
            Provider::CILogon(c) => {
                // Decided by the identity provider the user came through, never by the
                // e-mail's domain (GHSA-r7v4-jwx9-wx43).
                let idp = user.get("idp").and_then(Value::as_str).unwrap_or("");
                if !c.allowed_idps.iter().any(|(allowed, _)| allowed == idp) {
                    return Ok(Verdict::Refused(format!(
                        "identity provider {} is not in allowed_idps",
                        oxhub_model::names::clip(idp)
                    )));
                }
            }
            Provider::Generic | Provider::GitLab(_) | Provider::AzureAd { .. } => {}
        }
        Ok(Verdict::Accepted(extra))
    }

    /// The preset's allow rule, asked after the generic ones said no.
    pub(crate) async fn check_allowed(
        &self,
        http: &Http,
        _s: &OAuthSettings,
        name: &str,
        auth_state: &Value,
    ) -> Result<bool, AuthError> {
        let token = auth_state
            .get("access_token")
            .and_then(Value::as_str)
            .unwrap_or("");
        match self {
            Provider::GitHub(gh) if !gh.allowed_organizations.is_empty() => {
                // The GitHub login, not the (possibly mapped) hub name.
                let login = at_path(auth_state, "github_user.login")
                    .and_then(Value::as_str)
                    .unwrap_or(name);
                for entry in &gh.allowed_organizations {
                    let url = match entry.split_once(':') {
                        Some((org, team)) => format!(
                            "{}/orgs/{}/teams/{}/members/{}",
                            gh.api(),
                            segment(org),
                            segment(team),
                            segment(login)
                        ),
                        None => format!(
                            "{}/orgs/{}/members/{}",
                            gh.api(),
                            segment(entry),
                            segment(login)
                        ),
                    };
                    let a = http.api_get(&url, token).await?;
                    if a.status == 204 {
                        return Ok(true);
                    }
                    tracing::debug!("GitHub: {login} is not a member of {entry} ({})", a.status);
                }
                Ok(false)
            }
            Provider::GitLab(gl)
                if !gl.allowed_gitlab_groups.is_empty() || !gl.allowed_project_ids.is_empty() =>
            {
                // Membership of this user id, by the member endpoint (CVE-2018-7206).
                let Some(id) = at_path(auth_state, "gitlab_user.id").and_then(Value::as_i64) else {
                    return Ok(false);
                };
                let api = gl.api();
                let version = http.api_get(&format!("{api}/version"), token).await?;
                let variant = match version.body.get("version").and_then(Value::as_str) {
                    Some(v) if version_below(v, (12, 4)) => "",
                    _ => "all/",
                };
                for group in &gl.allowed_gitlab_groups {
                    let url = format!("{api}/groups/{}/members/{variant}{id}", segment(group));
                    if http.api_get(&url, token).await?.status == 200 {
                        return Ok(true);
                    }
                }
                for project in &gl.allowed_project_ids {
                    let url = format!("{api}/projects/{}/members/{variant}{id}", segment(project));
                    let a = http.api_get(&url, token).await?;
                    let level = a.body.get("access_level").and_then(Value::as_i64);
                    if a.status == 200 && level.is_some_and(|l| l >= 30) {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            _ => Ok(false),
        }
    }
}

/// A CILogon username, by the `username_derivation` of the user's identity provider.
fn cilogon_username(c: &CILogon, user: &Value) -> Option<String> {
    let idp = user.get("idp")?.as_str()?;
    let (_, d) = c.allowed_idps.iter().find(|(allowed, _)| allowed == idp)?;
    let claim = if d.username_claim.is_empty() {
        "email"
    } else {
        &d.username_claim
    };
    let raw = at_path(user, claim)?.as_str()?.to_owned();
    let name = match d.action.as_str() {
        "strip_idp_domain" => match raw.rsplit_once('@') {
            Some((local, domain)) if domain.eq_ignore_ascii_case(&d.domain) => local.to_owned(),
            _ => raw,
        },
        "prefix" => format!("{}:{raw}", d.prefix),
        _ => raw,
    };
    (!name.trim().is_empty()).then_some(name)
}

/// Whether a `major.minor.patch` version is below `(major, minor)`.
fn version_below(version: &str, (major, minor): (u64, u64)) -> bool {
    let mut parts = version
        .split(['.', '-'])
        .map(|p| p.parse::<u64>().unwrap_or(0));
    let v = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    v < (major, minor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_fill_their_endpoints_and_defaults() {
        let mut s = OAuthSettings::default();
        Provider::GitHub(GitHub::default()).fill_defaults(&mut s);
        assert_eq!(s.authorize_url, "https://github.com/login/oauth/authorize");
        assert_eq!(s.token_url, "https://github.com/login/oauth/access_token");
        assert_eq!(s.userdata_url, "https://api.github.com/user");
        assert_eq!(
            (s.username_claim.as_str(), s.login_service.as_str()),
            ("login", "GitHub")
        );
        let mut s = OAuthSettings::default();
        let ghe = GitHub {
            url: "https://ghe.example.org/".into(),
            ..GitHub::default()
        };
        Provider::GitHub(ghe).fill_defaults(&mut s);
        assert_eq!(s.userdata_url, "https://ghe.example.org/api/v3/user");
        let mut s = OAuthSettings::default();
        Provider::GitLab(GitLab {
            url: "https://git.example.org".into(),
            ..GitLab::default()
        })
        .fill_defaults(&mut s);
        assert_eq!(s.token_url, "https://git.example.org/oauth/token");
        assert_eq!(s.userdata_url, "https://git.example.org/api/v4/user");
        let mut s = OAuthSettings {
            authorize_url: "http://127.0.0.1:1/auth".into(),
            ..OAuthSettings::default()
        };
        Provider::Google(Google::default()).fill_defaults(&mut s);
        assert_eq!(s.authorize_url, "http://127.0.0.1:1/auth", "explicit wins");
        assert_eq!(s.scope, ["openid", "email"]);
        assert_eq!(s.username_claim, "email");
        assert_eq!(s.groups_key, "google_user.groups");
        let mut s = OAuthSettings::default();
        Provider::AzureAd {
            tenant_id: "t1".into(),
        }
        .fill_defaults(&mut s);
        assert_eq!(
            s.token_url,
            "https://login.microsoftonline.com/t1/oauth2/v2.0/token"
        );
        assert!(s.userdata_from_id_token);
        assert_eq!(s.username_claim, "name");
    }

    #[test]
    fn github_entries_with_two_colons_are_refused() {
        let gh = |orgs: &[&str]| {
            Provider::GitHub(GitHub {
                allowed_organizations: orgs.iter().map(|s| s.to_string()).collect(),
                ..GitHub::default()
            })
        };
        assert!(gh(&["org", "org:team"]).check().is_ok());
        assert!(gh(&["org:team:x"]).check().is_err());
        assert!(gh(&[":team"]).check().is_err());
    }

    #[test]
    fn google_strips_its_one_hosted_domain() {
        let mut s = OAuthSettings::default();
        let p = Provider::Google(Google {
            hosted_domain: vec!["example.org".into()],
            ..Google::default()
        });
        p.fill_defaults(&mut s);
        let user = |email: &str| {
            let mut m = Map::new();
            m.insert("email".into(), Value::from(email));
            m
        };
        assert_eq!(
            p.username(&s, &user("alice@example.org")).as_deref(),
            Some("alice")
        );
        assert_eq!(
            p.username(&s, &user("eve@evil.org")).as_deref(),
            Some("eve@evil.org")
        );
        assert_eq!(p.username(&s, &Map::new()), None);
    }

    #[test]
    fn cilogon_names_follow_the_identity_providers_derivation() {
        let c = CILogon {
            allowed_idps: vec![
                (
                    "https://idp.example.org".into(),
                    Derivation {
                        action: "strip_idp_domain".into(),
                        domain: "example.org".into(),
                        ..Derivation::default()
                    },
                ),
                (
                    "https://other.example".into(),
                    Derivation {
                        username_claim: "eppn".into(),
                        action: "prefix".into(),
                        prefix: "other".into(),
                        ..Derivation::default()
                    },
                ),
            ],
            ..CILogon::default()
        };
        let user =
            serde_json::json!({"idp": "https://idp.example.org", "email": "alice@example.org"});
        assert_eq!(cilogon_username(&c, &user).as_deref(), Some("alice"));
        let user = serde_json::json!({"idp": "https://other.example", "eppn": "bob@x"});
        assert_eq!(cilogon_username(&c, &user).as_deref(), Some("other:bob@x"));
        let user = serde_json::json!({"idp": "https://evil.example", "email": "eve@example.org"});
        assert_eq!(cilogon_username(&c, &user), None);
        assert!(Provider::CILogon(CILogon::default()).check().is_err());
    }

    #[test]
    fn gitlab_versions_compare_by_major_and_minor() {
        assert!(version_below("12.3.9", (12, 4)));
        assert!(!version_below("12.4.0", (12, 4)));
        assert!(!version_below("16.11.2-ee", (12, 4)));
        assert!(version_below("garbage", (12, 4)));
    }
}
