//! Who is calling: THE one place a request becomes an [`Identity`]. An API token in
//! `Authorization` (`token` or `bearer`), else the signed login cookie; a caller known by
//! cookie must also present the XSRF token whenever the request needs it
//! ([`session::needs_xsrf`]: every write, and reads made by scripts), in a header, the query's
//! `_xsrf`, or the `_xsrf` field of the form the handler read.
//!
//! Handlers take one of the extractors: [`ApiCaller`] (the REST API: no caller is a 403
//! JSON answer), [`PageUser`] (pages: a browser without a login is sent to the login page),
//! or [`PageForm`] (pages that take a form: the caller and the fields, XSRF checked against
//! the form).

use crate::error::{ApiError, PageError};
use crate::session;
use axum::extract::{FromRequest, FromRequestParts, OptionalFromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use oxhub_core::{Hub, HubError, Identity, Subject};
use std::sync::Arc;

/// Why a request has no acceptable caller although it presented credentials.
#[derive(Debug)]
pub enum Refused {
    /// The token is unknown, expired or revoked.
    BadToken,
    /// A cookie caller did not present the right XSRF token.
    Xsrf(&'static str),
    /// The hub could not tell (its database failed): not the caller's fault.
    Failed(HubError),
}

/// When a cookie caller must present the XSRF token.
#[derive(Debug, Clone, Copy)]
pub enum Xsrf<'a> {
    /// When [`session::needs_xsrf`] says so, from a header or the query's `_xsrf`.
    WhenNeeded,
    /// Always: a submitted form, from a header or the form's own `_xsrf`.
    Form(Option<&'a str>),
}

/// The token of `Authorization: token <t>` or `bearer <t>` (case-insensitive).
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let mut parts = v.split_whitespace();
            let scheme = parts.next()?;
            let token = parts.next()?;
            (parts.next().is_none()
                && (scheme.eq_ignore_ascii_case("token") || scheme.eq_ignore_ascii_case("bearer")))
            .then_some(token)
        })
}

/// The caller of a request: `Ok(None)` when it presents no credential at all. A token that
/// does not resolve is refused on the API (`token_only`); pages fall back to the cookie, as
/// JupyterHub's handlers do.
pub async fn identify(
    hub: &Hub,
    method: &Method,
    headers: &HeaderMap,
    uri: &Uri,
    xsrf: Xsrf<'_>,
    token_only: bool,
) -> Result<Option<Identity>, Refused> {
    if let Some(token) = bearer(headers) {
        match hub.authenticate(token).await {
            Ok(Some(who)) => return Ok(Some(who)),
            Ok(None) if token_only => return Err(Refused::BadToken),
            Ok(None) => {}
            Err(e) => return Err(Refused::Failed(e)),
        }
    }
    let Some(who) = session::cookie_identity(hub, headers).await else {
        return Ok(None);
    };
    // A login that no longer holds (`auth_refresh_age`) ends its browser session.
    if let Subject::User { name, .. } = &who.subject {
        match hub.refresh_user(name, false).await {
            Ok(true) => {}
            Ok(false) => {
                if let Some(session) = &who.session_id {
                    if let Err(e) = hub.end_session(session).await {
                        tracing::warn!("ending the expired session of {name}: {e}");
                    }
                }
                return Ok(None);
            }
            // The identity provider is down: the login stands until it answers again.
            Err(e) => tracing::warn!("refreshing the auth of {name}: {e}"),
        }
    }
    let presented = match xsrf {
        Xsrf::WhenNeeded if !session::needs_xsrf(method, headers) => return Ok(Some(who)),
        Xsrf::WhenNeeded => uri
            .query()
            .and_then(|q| session::form_value(q, "_xsrf"))
            .map(std::borrow::Cow::Owned),
        // A form's own field, else the query's (JupyterHub's spawn form carries it there).
        Xsrf::Form(field) => field.map(std::borrow::Cow::Borrowed).or_else(|| {
            uri.query()
                .and_then(|q| session::form_value(q, "_xsrf"))
                .map(std::borrow::Cow::Owned)
        }),
    };
    session::check_xsrf(
        hub,
        headers,
        session::presented_xsrf(headers, presented.as_deref()),
    )
    .map_err(Refused::Xsrf)?;
    Ok(Some(who))
}

/// An authenticated API caller.
pub struct ApiCaller(pub Identity);

impl FromRequestParts<Arc<Hub>> for ApiCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, hub: &Arc<Hub>) -> Result<Self, ApiError> {
        match identify_parts(hub, parts, true).await {
            Ok(Some(who)) => Ok(ApiCaller(who)),
            Ok(None) | Err(Refused::BadToken) => Err(HubError::Unauthenticated.into()),
            Err(Refused::Xsrf(why)) => Err(ApiError::with_status(StatusCode::FORBIDDEN, why)),
            Err(Refused::Failed(e)) => Err(e.into()),
        }
    }
}

/// The request's URI as the client sent it (a nested router strips its prefix from `uri`).
fn original_uri(parts: &Parts) -> Uri {
    parts
        .extensions
        .get::<axum::extract::OriginalUri>()
        .map_or_else(|| parts.uri.clone(), |o| o.0.clone())
}

/// [`identify`] for an extractor: no form, XSRF when needed.
async fn identify_parts(
    hub: &Hub,
    parts: &Parts,
    token_only: bool,
) -> Result<Option<Identity>, Refused> {
    identify(
        hub,
        &parts.method,
        &parts.headers,
        &parts.uri,
        Xsrf::WhenNeeded,
        token_only,
    )
    .await
}

/// The login page's URL with `next` set to where the browser was going.
pub fn login_url(hub: &Hub, uri: &Uri) -> String {
    let target = uri.path_and_query().map_or("/", |p| p.as_str());
    format!(
        "{}hub/login?next={}",
        hub.config.hub.base_url,
        session::encode(target)
    )
}

/// The address of the browser: the connection's peer, or, when the peer is a trusted
/// downstream (loopback — the hub's own proxy — or `JupyterHub.trusted_downstream_ips`), the
/// last address it put in `X-Forwarded-For`.
pub struct ClientAddr(pub Option<std::net::IpAddr>);

impl FromRequestParts<Arc<Hub>> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        hub: &Arc<Hub>,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip());
        let trusted = peer.is_some_and(|p| {
            p.is_loopback()
                || hub
                    .config
                    .hub
                    .trusted_downstream_ips
                    .iter()
                    .any(|t| t.parse::<std::net::IpAddr>().is_ok_and(|t| t == p))
        });
        if !trusted {
            return Ok(ClientAddr(peer));
        }
        let forwarded = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|a| a.trim().parse::<std::net::IpAddr>().ok())
            .next_back();
        Ok(ClientAddr(forwarded.or(peer)))
    }
}

/// A user logged in to a page (a service is not a user): else a GET is sent to the login
/// page and anything else is refused (403).
pub struct PageUser {
    pub who: Identity,
    pub name: String,
}

impl PageUser {
    fn from_identity(
        hub: &Hub,
        method: &Method,
        uri: &Uri,
        found: Result<Option<Identity>, Refused>,
    ) -> Result<PageUser, PageError> {
        let who = match found {
            Ok(who) => who,
            Err(Refused::Xsrf(why)) => {
                return Err(PageError::new(None, StatusCode::FORBIDDEN, why))
            }
            Err(Refused::Failed(e)) => return Err(PageError::from_hub(None, e)),
            Err(Refused::BadToken) => None,
        };
        if let Some(who) = who {
            if let Subject::User { name, .. } = &who.subject {
                let name = name.clone();
                return Ok(PageUser { who, name });
            }
        }
        if matches!(*method, Method::GET | Method::HEAD) {
            Err(PageError::Redirect(login_url(hub, uri)))
        } else {
            Err(PageError::new(
                None,
                StatusCode::FORBIDDEN,
                "Login required",
            ))
        }
    }
}

impl FromRequestParts<Arc<Hub>> for PageUser {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, hub: &Arc<Hub>) -> Result<Self, PageError> {
        let found = identify_parts(hub, parts, false).await;
        PageUser::from_identity(hub, &parts.method, &original_uri(parts), found)
    }
}

/// `Option<PageUser>`: the logged-in user if there is one (pages that also serve visitors).
impl OptionalFromRequestParts<Arc<Hub>> for PageUser {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        hub: &Arc<Hub>,
    ) -> Result<Option<Self>, Self::Rejection> {
        let found = identify_parts(hub, parts, false).await;
        Ok(PageUser::from_identity(hub, &parts.method, &original_uri(parts), found).ok())
    }
}

/// A submitted form of a logged-in user: its fields, with the XSRF check made against the
/// form's `_xsrf` (or the headers).
pub struct PageForm {
    pub user: PageUser,
    pub fields: Vec<(String, String)>,
}

impl PageForm {
    pub fn field(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// The text fields of a form body: `application/x-www-form-urlencoded`, or
/// `multipart/form-data` (the spawn page's enctype, as JupyterHub's). Uploaded files are not
/// kept: no built-in options form asks for one.
async fn form_fields(
    headers: &HeaderMap,
    bytes: axum::body::Bytes,
) -> Result<Vec<(String, String)>, PageError> {
    let content_type = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let Ok(boundary) = multer::parse_boundary(content_type) else {
        return Ok(session::form_pairs(&String::from_utf8_lossy(&bytes)));
    };
    let bad = |e: multer::Error| {
        PageError::new(
            None,
            StatusCode::BAD_REQUEST,
            &format!("Malformed form: {e}"),
        )
    };
    let stream =
        futures_util::stream::once(async move { Ok::<_, std::convert::Infallible>(bytes) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    let mut fields = Vec::new();
    while let Some(field) = multipart.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or_default().to_owned();
        if field.file_name().is_some() {
            continue;
        }
        let value = field.text().await.map_err(bad)?;
        fields.push((name, value));
    }
    Ok(fields)
}

impl FromRequest<Arc<Hub>> for PageForm {
    type Rejection = PageError;

    async fn from_request(req: Request, hub: &Arc<Hub>) -> Result<Self, PageError> {
        let (parts, body) = req.into_parts();
        let limit = usize::try_from(crate::MAX_BODY_BYTES).unwrap_or(usize::MAX);
        let bytes = axum::body::to_bytes(body, limit)
            .await
            .map_err(|_| PageError::new(None, StatusCode::PAYLOAD_TOO_LARGE, "Form too large"))?;
        let fields = form_fields(&parts.headers, bytes).await?;
        let form_xsrf = fields
            .iter()
            .find(|(k, _)| k == "_xsrf")
            .map(|(_, v)| v.as_str());
        // A form post always needs the XSRF token, whatever its headers say.
        let xsrf = Xsrf::Form(form_xsrf);
        let found = identify(hub, &parts.method, &parts.headers, &parts.uri, xsrf, false).await;
        let user = PageUser::from_identity(hub, &parts.method, &original_uri(&parts), found)?;
        Ok(PageForm { user, fields })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_takes_token_and_bearer_schemes_only() {
        let mut h = HeaderMap::new();
        h.insert(http::header::AUTHORIZATION, "Token abc".parse().unwrap());
        assert_eq!(bearer(&h), Some("abc"));
        h.insert(http::header::AUTHORIZATION, "bearer xyz".parse().unwrap());
        assert_eq!(bearer(&h), Some("xyz"));
        h.insert(http::header::AUTHORIZATION, "Basic abc".parse().unwrap());
        assert_eq!(bearer(&h), None);
        h.insert(http::header::AUTHORIZATION, "token a b".parse().unwrap());
        assert_eq!(bearer(&h), None);
    }
}
