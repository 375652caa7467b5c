//! The HTTP half of OAuth: the token endpoint (code and refresh grants), the userinfo
//! endpoint, a provider's REST API for presets, and OpenID discovery with id_token
//! verification (openidconnect does the JOSE work).

use super::OAuthSettings;
use base64::Engine as _;
use openidconnect::core::{
    CoreIdToken, CoreIdTokenVerifier, CoreJsonWebKeySet, CoreProviderMetadata,
};
use openidconnect::{ClientId, ClientSecret, IssuerUrl, Nonce};
use oxhub_plugin::auth::AuthError;
use serde_json::{Map, Value};
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// How long discovered endpoints and keys are trusted before they are fetched again.
const DISCOVERY_TTL: Duration = Duration::from_secs(600);
/// The largest answer read from a provider.
const MAX_BODY: usize = 1 << 20;

/// What an OpenID issuer published.
#[derive(Clone)]
struct Discovered {
    authorize: String,
    token: String,
    userinfo: Option<String>,
    issuer: IssuerUrl,
    jwks: CoreJsonWebKeySet,
    algs: Vec<openidconnect::core::CoreJwsSigningAlgorithm>,
}

pub(crate) struct Http {
    client: reqwest::Client,
    class: String,
    client_id: String,
    client_secret: String,
    authorize_url: String,
    token_url: String,
    userdata_url: String,
    issuer: String,
    basic_auth: bool,
    token_params: Vec<(String, String)>,
    userdata_params: Vec<(String, String)>,
    userdata_token_in_url: bool,
    discovered: Mutex<Option<(Instant, Discovered)>>,
}

/// The userinfo endpoint's answer.
pub(crate) enum UserInfo {
    Found(Map<String, Value>),
    /// A 4xx: the access token is not (or no longer) good.
    Refused(u16),
}

/// A provider API answer (presets' membership checks).
pub(crate) struct ApiAnswer {
    pub status: u16,
    pub body: Value,
    /// The `rel="next"` URL of a paginated answer.
    pub next: Option<String>,
}

fn unavailable(class: &str, what: &str, e: impl std::fmt::Display) -> AuthError {
    AuthError::Unavailable(format!("{class}: {what}: {e}"))
}

impl Http {
    pub(crate) fn new(s: &OAuthSettings) -> Result<Http, String> {
        let mut builder = reqwest::Client::builder()
            // Never follow a redirect to somewhere else with a token (SSRF).
            .redirect(reqwest::redirect::Policy::none())
            .timeout(s.request_timeout)
            .user_agent("JupyterHub")
            .danger_accept_invalid_certs(!s.validate_server_cert);
        if let Some(path) = &s.ca_certs {
            let pem = std::fs::read(path).map_err(|e| format!("ca_certs {path}: {e}"))?;
            for cert in reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| format!("ca_certs {path}: {e}"))?
            {
                builder = builder.add_root_certificate(cert);
            }
        }
        let client = builder
            .build()
            .map_err(|e| format!("{}: HTTP client: {e}", s.class))?;
        Ok(Http {
            client,
            class: s.class.clone(),
            client_id: s.client_id.clone(),
            client_secret: s.client_secret.clone(),
            authorize_url: s.authorize_url.clone(),
            token_url: s.token_url.clone(),
            userdata_url: s.userdata_url.clone(),
            issuer: s.issuer.clone(),
            basic_auth: s.basic_auth,
            token_params: s.token_params.clone(),
            userdata_params: s.userdata_params.clone(),
            userdata_token_in_url: s.userdata_token_in_url,
            discovered: Mutex::new(None),
        })
    }

    /// The issuer's published configuration, fetched on first use and again after a while.
    async fn discovered(&self) -> Result<Option<Discovered>, AuthError> {
        if self.issuer.is_empty() {
            return Ok(None);
        }
        let mut cache = self.discovered.lock().await;
        if let Some((at, d)) = cache.as_ref() {
            if at.elapsed() < DISCOVERY_TTL {
                return Ok(Some(d.clone()));
            }
        }
        let issuer = IssuerUrl::new(self.issuer.clone())
            .map_err(|e| AuthError::Internal(format!("oidc_issuer {:?}: {e}", self.issuer)))?;
        let meta = CoreProviderMetadata::discover_async(issuer.clone(), &self.client)
            .await
            .map_err(|e| unavailable(&self.class, "OpenID discovery", e))?;
        let d = Discovered {
            authorize: meta.authorization_endpoint().to_string(),
            token: meta
                .token_endpoint()
                .map(|t| t.to_string())
                .unwrap_or_default(),
            userinfo: meta.userinfo_endpoint().map(|u| u.to_string()),
            issuer,
            jwks: meta.jwks().clone(),
            algs: meta.id_token_signing_alg_values_supported().clone(),
        };
        *cache = Some((Instant::now(), d.clone()));
        Ok(Some(d))
    }

    /// An explicit endpoint, else the discovered one.
    async fn endpoint(
        &self,
        explicit: &str,
        pick: fn(&Discovered) -> Option<String>,
        what: &str,
    ) -> Result<String, AuthError> {
        if !explicit.is_empty() {
            return Ok(explicit.to_owned());
        }
        self.discovered()
            .await?
            .as_ref()
            .and_then(pick)
            .filter(|u| !u.is_empty())
            .ok_or_else(|| AuthError::Internal(format!("{}: no {what} is known", self.class)))
    }

    pub(crate) async fn authorize_url(&self) -> Result<String, AuthError> {
        self.endpoint(
            &self.authorize_url,
            |d| Some(d.authorize.clone()),
            "authorize_url",
        )
        .await
    }

    /// `POST token_url`: credentials in the body, or as HTTP Basic when `basic_auth`.
    /// `Ok(None)` when the provider refuses the grant (a used or forged code, say).
    async fn token_request(
        &self,
        mut form: Vec<(String, String)>,
    ) -> Result<Option<Map<String, Value>>, AuthError> {
        let url = self
            .endpoint(&self.token_url, |d| Some(d.token.clone()), "token_url")
            .await?;
        if !self.basic_auth {
            form.push(("client_id".into(), self.client_id.clone()));
            form.push(("client_secret".into(), self.client_secret.clone()));
        }
        let mut req = self
            .client
            .post(&url)
            .header("Accept", "application/json")
            .form(&form);
        if self.basic_auth {
            req = req.basic_auth(&self.client_id, Some(&self.client_secret));
        }
        let resp = req
            .send()
            .await
            .map_err(|e| unavailable(&self.class, "token endpoint", e.without_url()))?;
        let status = resp.status();
        let body = read_json(resp).await;
        if status.is_server_error() {
            return Err(unavailable(&self.class, "token endpoint", status));
        }
        match body {
            Some(Value::Object(map)) if status.is_success() && !map.contains_key("error") => {
                Ok(Some(map))
            }
            Some(Value::Object(map)) => {
                let why = map
                    .get("error_description")
                    .or_else(|| map.get("error"))
                    .and_then(Value::as_str)
                    .unwrap_or("no access token");
                tracing::warn!(
                    "{}: an access token was not returned ({status}): {}",
                    self.class,
                    oxhub_model::names::clip(why)
                );
                Ok(None)
            }
            _ => {
                tracing::warn!(
                    "{}: the token endpoint answered {status} without JSON",
                    self.class
                );
                Ok(None)
            }
        }
    }

    pub(crate) async fn exchange_code(
        &self,
        code: &str,
        redirect_uri: &str,
        code_verifier: Option<&str>,
    ) -> Result<Option<Map<String, Value>>, AuthError> {
        let mut form = vec![
            ("code".to_owned(), code.to_owned()),
            ("grant_type".to_owned(), "authorization_code".to_owned()),
            ("redirect_uri".to_owned(), redirect_uri.to_owned()),
        ];
        if let Some(v) = code_verifier {
            form.push(("code_verifier".into(), v.to_owned()));
        }
        form.extend(self.token_params.iter().cloned());
        self.token_request(form).await
    }

    pub(crate) async fn refresh(
        &self,
        refresh_token: &str,
    ) -> Result<Option<Map<String, Value>>, AuthError> {
        self.token_request(vec![
            ("grant_type".to_owned(), "refresh_token".to_owned()),
            ("refresh_token".to_owned(), refresh_token.to_owned()),
        ])
        .await
    }

    /// `GET userdata_url` with the access token.
    pub(crate) async fn userinfo(
        &self,
        access_token: &str,
        token_type: &str,
    ) -> Result<UserInfo, AuthError> {
        let url = self
            .endpoint(&self.userdata_url, |d| d.userinfo.clone(), "userdata_url")
            .await?;
        let mut query = self.userdata_params.clone();
        if self.userdata_token_in_url {
            query.push(("access_token".into(), access_token.to_owned()));
        }
        let scheme = if token_type.eq_ignore_ascii_case("bearer") {
            "Bearer"
        } else {
            token_type
        };
        let resp = self
            .client
            .get(&url)
            .query(&query)
            .header("Accept", "application/json")
            .header("Authorization", format!("{scheme} {access_token}"))
            .send()
            .await
            .map_err(|e| unavailable(&self.class, "userinfo endpoint", e.without_url()))?;
        let status = resp.status();
        if status.is_server_error() {
            return Err(unavailable(&self.class, "userinfo endpoint", status));
        }
        if !status.is_success() {
            return Ok(UserInfo::Refused(status.as_u16()));
        }
        match read_json(resp).await {
            Some(Value::Object(map)) => Ok(UserInfo::Found(map)),
            _ => Err(unavailable(
                &self.class,
                "userinfo endpoint",
                "the answer is not a JSON object",
            )),
        }
    }

    /// `GET` a provider API URL with the user's token.
    pub(crate) async fn api_get(
        &self,
        url: &str,
        access_token: &str,
    ) -> Result<ApiAnswer, AuthError> {
        let resp = self
            .client
            .get(url)
            .header("Accept", "application/json")
            .header("Authorization", format!("Bearer {access_token}"))
            .send()
            .await
            .map_err(|e| unavailable(&self.class, "provider API", e.without_url()))?;
        let status = resp.status();
        if status.is_server_error() {
            return Err(unavailable(&self.class, "provider API", status));
        }
        let next = resp
            .headers()
            .get_all("link")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(next_link);
        let body = read_json(resp).await.unwrap_or(Value::Null);
        Ok(ApiAnswer {
            status: status.as_u16(),
            body,
            next,
        })
    }

    /// Check an id_token: with a known issuer, its signature against the issuer's keys, the
    /// issuer, the audience (this client), the expiry and — when the login sent one — the
    /// nonce; without one, as upstream: audience and expiry only. Its claims on success.
    pub(crate) async fn verify_id_token(
        &self,
        token: &str,
        nonce: Option<&str>,
    ) -> Result<Map<String, Value>, String> {
        let parsed: CoreIdToken = token.parse().map_err(|e| format!("malformed: {e}"))?;
        let client_id = ClientId::new(self.client_id.clone());
        let secret = ClientSecret::new(self.client_secret.clone());
        let discovered = self.discovered().await.map_err(|e| e.to_string())?;
        let verifier = match &discovered {
            Some(d) => {
                let v = CoreIdTokenVerifier::new_confidential_client(
                    client_id,
                    secret,
                    d.issuer.clone(),
                    d.jwks.clone(),
                );
                if d.algs.is_empty() {
                    v
                } else {
                    v.set_allowed_algs(d.algs.clone())
                }
            }
            None => {
                let anywhere =
                    IssuerUrl::new("https://issuer.invalid".into()).map_err(|e| e.to_string())?;
                CoreIdTokenVerifier::new_confidential_client(
                    client_id,
                    secret,
                    anywhere,
                    CoreJsonWebKeySet::new(Vec::new()),
                )
                .insecure_disable_signature_check()
                .require_issuer_match(false)
            }
        };
        let expected = nonce.map(|n| Nonce::new(n.to_owned()));
        let checked = match &expected {
            Some(n) => parsed.claims(&verifier, n).map(|_| ()),
            None => parsed
                .claims(&verifier, |_: Option<&Nonce>| Ok(()))
                .map(|_| ()),
        };
        checked.map_err(|e| e.to_string())?;
        payload(token).ok_or_else(|| "the payload is not a JSON object".to_owned())
    }
}

/// The claims of a JWT, read without any check (only for a token checked before).
pub(crate) fn payload(token: &str) -> Option<Map<String, Value>> {
    let middle = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(middle.trim_end_matches('='))
        .ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

/// The body as JSON, read up to [`MAX_BODY`].
async fn read_json(mut resp: reqwest::Response) -> Option<Value> {
    let mut buf = Vec::new();
    while let Ok(Some(chunk)) = resp.chunk().await {
        if buf.len() + chunk.len() > MAX_BODY {
            return None;
        }
        buf.extend_from_slice(&chunk);
    }
    serde_json::from_slice(&buf).ok()
}

/// The URL of a `Link` header's `rel="next"` entry.
fn next_link(header: &str) -> Option<String> {
    header.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        params
            .split(';')
            .any(|p| {
                let p = p.trim().replace(' ', "");
                p == "rel=\"next\"" || p == "rel=next"
            })
            .then(|| {
                url.trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_owned()
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_links_are_found_among_others() {
        let h = r#"<https://api.example/user/teams?page=2>; rel="next", <https://api.example/user/teams?page=5>; rel="last""#;
        assert_eq!(
            next_link(h).as_deref(),
            Some("https://api.example/user/teams?page=2")
        );
        assert_eq!(next_link(r#"<https://x/?page=1>; rel="prev""#), None);
        assert_eq!(next_link("garbage"), None);
    }

    #[test]
    fn payloads_are_read_only_when_they_are_objects() {
        let enc = |v: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
        let token = format!("{}.{}.sig", enc("{}"), enc(r#"{"sub":"alice"}"#));
        assert_eq!(payload(&token).unwrap()["sub"], "alice");
        assert!(payload(&format!("h.{}.s", enc("[1]"))).is_none());
        assert!(payload("no-dots").is_none());
    }
}
