//! `/hub/accept-share?code=` (pages.md §3.9): what a share code grants, and a form (POST with
//! the XSRF token) that accepts it and goes on to the shared server (or a checked `next`).

use super::*;
use crate::caller::PageForm;
use serde_json::json;

pub(super) async fn page(
    State(hub): S,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    page: PageUser,
) -> Response {
    let ctx = Ctx::of(&hub);
    let code = query_value(&uri, "code").unwrap_or_default();
    let invitation = match hub.invitation(&page.who, &code).await {
        Ok(i) => i,
        Err(e) => return crate::PageError::from_hub(Some(&page.name), e).into_response(),
    };
    let server_url = server_url(&ctx.base, &invitation.owner, &invitation.server);
    let next = query_value(&uri, "next")
        .and_then(|n| safe_next(&n, &hub.config.hub.public_url, &headers))
        .unwrap_or_else(|| server_url.clone());
    let ready = matches!(
        hub.server_state(&invitation.owner, &invitation.server)
            .await,
        Ok(ServerState::Ready)
    );
    let scopes = scope_descriptions(&invitation.scopes);
    let session = session_id(&headers).unwrap_or_default();
    let (xsrf, cookie) = ensure_xsrf(&hub, &headers, &session);
    let mut action = ctx.hub("accept-share");
    if let Some(n) = query_value(&uri, "next") {
        action.push_str(&format!("?next={}", encode(&n)));
    }
    let resp = render(
        StatusCode::OK,
        "accept-share.html",
        json!({
            "user": page.name,
            "xsrf": xsrf,
            "code": code,
            "owner": invitation.owner,
            "server_name": invitation.server,
            "server_url": server_url,
            "server_ready": ready,
            "scope_descriptions": scopes,
            "next_url": next,
            "action": action,
        }),
    );
    with_cookies(resp, cookie.into_iter().collect())
}

pub(super) async fn accept(
    State(hub): S,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    form: PageForm,
) -> Response {
    let ctx = Ctx::of(&hub);
    let code = form
        .field("code")
        .map(str::to_owned)
        .or_else(|| query_value(&uri, "code"))
        .unwrap_or_default();
    match hub.accept_invitation(&form.user.who, &code).await {
        Ok(invitation) => {
            let next = query_value(&uri, "next")
                .and_then(|n| safe_next(&n, &hub.config.hub.public_url, &headers))
                .unwrap_or_else(|| server_url(&ctx.base, &invitation.owner, &invitation.server));
            redirect(&next)
        }
        Err(oxhub_core::HubError::NotFound(_)) => ctx.page_error(
            Some(&form.user.name),
            StatusCode::BAD_REQUEST,
            &format!("Invalid share code: {}", oxhub_core::error::clip(&code)),
        ),
        Err(e) => crate::PageError::from_hub(Some(&form.user.name), e).into_response(),
    }
}
