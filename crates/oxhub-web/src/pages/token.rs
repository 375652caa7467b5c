//! `/hub/token` (pages.md §3.7): the user's API tokens and the applications they authorized,
//! with a form to request a token (note, expiry, scopes) and revoke buttons. The page is
//! rendered on the server; its small script calls the REST API with the page's XSRF token
//! (`POST /hub/api/users/<me>/tokens`, `DELETE …/tokens/<id>`) and reloads.

use super::*;
use oxhub_core::clock::isoformat;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// The expiry choices, JupyterHub's: those above `token_expires_in_max_seconds` are dropped,
/// and a "Max" choice stands in for the limit when it is not one of them.
fn expiry_options(max_seconds: i64) -> Vec<Value> {
    const CHOICES: [(i64, &str); 5] = [
        (3600, "1 Hour"),
        (86400, "1 Day"),
        (604_800, "1 Week"),
        (2_592_000, "1 Month"),
        (31_536_000, "1 Year"),
    ];
    let mut out: Vec<Value> = CHOICES
        .iter()
        .filter(|(s, _)| max_seconds <= 0 || *s <= max_seconds)
        .map(|(s, label)| json!({"value": s.to_string(), "label": label, "selected": false}))
        .collect();
    if max_seconds <= 0 {
        out.push(json!({"value": "", "label": "Never", "selected": false}));
    } else if !CHOICES.iter().any(|(s, _)| *s == max_seconds) {
        let label = if max_seconds < 3 * 86400 {
            format!("Max ({} hours)", max_seconds / 3600)
        } else {
            format!("Max ({} days)", max_seconds / 86400)
        };
        out.push(json!({"value": max_seconds.to_string(), "label": label, "selected": false}));
    }
    if let Some(last) = out.last_mut() {
        last["selected"] = json!(true);
    }
    out
}

/// One OAuth client's tokens, summed up for its row.
#[derive(Default)]
struct ClientRow {
    first_created: Option<i64>,
    last_activity: Option<i64>,
    token_ids: Vec<String>,
    scopes: Vec<String>,
}

pub(super) async fn page(State(hub): S, headers: HeaderMap, page: PageUser) -> Response {
    let tokens = match hub.user_tokens(&page.who, &page.name).await {
        Ok(t) => t,
        Err(e) => return crate::PageError::from_hub(Some(&page.name), e).into_response(),
    };
    let mut api_tokens = Vec::new();
    let mut clients: BTreeMap<String, ClientRow> = BTreeMap::new();
    for t in &tokens {
        let id = format!("a{}", t.id);
        match t.oauth_client.as_deref().filter(|c| *c != "jupyterhub") {
            None => api_tokens.push(json!({
                "api_id": id,
                "note": t.note,
                "scopes": t.scopes,
                "created": isoformat(t.created),
                "last_activity": t.last_activity.map(isoformat),
                "expires_at": t.expires_at.map(isoformat),
                "sort": t.last_activity.unwrap_or(t.created),
            })),
            Some(client) => {
                let row = clients.entry(client.to_owned()).or_default();
                row.first_created = Some(row.first_created.map_or(t.created, |c| c.min(t.created)));
                row.last_activity = row.last_activity.max(t.last_activity);
                row.token_ids.push(id);
                row.scopes.extend(t.scopes.iter().cloned());
            }
        }
    }
    api_tokens.sort_by_key(|t| std::cmp::Reverse(t["sort"].as_i64().unwrap_or(0)));
    let mut oauth_clients = Vec::new();
    for (client, mut row) in clients {
        row.scopes.sort();
        row.scopes.dedup();
        let description = match hub.store.oauth_client(&client).await {
            Ok(Some(c)) if !c.description.is_empty() => c.description,
            _ => client.clone(),
        };
        oauth_clients.push(json!({
            "client": client,
            "description": description,
            "created": row.first_created.map(isoformat),
            "last_activity": row.last_activity.map(isoformat),
            "token_id": row.token_ids.first(),
            "token_count": row.token_ids.len(),
            "scopes": row.scopes,
        }));
    }
    let session = session_id(&headers).unwrap_or_default();
    let (xsrf, cookie) = ensure_xsrf(&hub, &headers, &session);
    let resp = render(
        StatusCode::OK,
        "token.html",
        json!({
            "user": page.name,
            "user_path": path_segment(&page.name),
            "xsrf": xsrf,
            "api_tokens": api_tokens,
            "oauth_clients": oauth_clients,
            "expiry_options": expiry_options(hub.config.hub.token_expires_in_max_seconds),
        }),
    );
    with_cookies(resp, cookie.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(max: i64) -> Vec<String> {
        expiry_options(max)
            .iter()
            .map(|o| {
                format!(
                    "{}{}",
                    o["label"].as_str().unwrap(),
                    if o["selected"] == true { "*" } else { "" }
                )
            })
            .collect()
    }

    #[test]
    fn expiry_choices_follow_the_maximum() {
        assert_eq!(
            values(0),
            ["1 Hour", "1 Day", "1 Week", "1 Month", "1 Year", "Never*"]
        );
        assert_eq!(values(86400), ["1 Hour", "1 Day*"]);
        assert_eq!(values(7200), ["1 Hour", "Max (2 hours)*"]);
        assert_eq!(
            values(10 * 86400),
            ["1 Hour", "1 Day", "1 Week", "Max (10 days)*"]
        );
    }
}
