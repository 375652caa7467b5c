//! Spawning from the browser: `/hub/spawn[/<user>[/<server>]]` (the options form, or a start
//! through the core's lifecycle) and `/hub/spawn-pending/...` (progress while it starts, the
//! failure when it failed).

use super::*;
use crate::caller::PageForm;
use crate::PageError;
use oxhub_core::lifecycle::Started;
use oxhub_core::HubError;
use oxhub_model::scope::Resource;
use serde_json::{json, Value};

/// What the spawn page was asked: whose server, and the submitted form if it was a POST.
struct SpawnAsk {
    target: Option<String>,
    server: String,
    form: Option<Vec<(String, String)>>,
}

pub(super) async fn own(
    state: S,
    headers: HeaderMap,
    uri: OriginalUri,
    page: PageUser,
) -> Response {
    let ask = SpawnAsk {
        target: None,
        server: String::new(),
        form: None,
    };
    spawn_page(state, headers, uri, page, ask).await
}

pub(super) async fn own_post(
    state: S,
    headers: HeaderMap,
    uri: OriginalUri,
    form: PageForm,
) -> Response {
    let ask = SpawnAsk {
        target: None,
        server: String::new(),
        form: Some(form.fields),
    };
    spawn_page(state, headers, uri, form.user, ask).await
}

pub(super) async fn default(
    state: S,
    headers: HeaderMap,
    uri: OriginalUri,
    Path(user): Path<String>,
    page: PageUser,
) -> Response {
    let ask = SpawnAsk {
        target: Some(user),
        server: String::new(),
        form: None,
    };
    spawn_page(state, headers, uri, page, ask).await
}

pub(super) async fn default_post(
    state: S,
    headers: HeaderMap,
    uri: OriginalUri,
    Path(user): Path<String>,
    form: PageForm,
) -> Response {
    let ask = SpawnAsk {
        target: Some(user),
        server: String::new(),
        form: Some(form.fields),
    };
    spawn_page(state, headers, uri, form.user, ask).await
}

pub(super) async fn named(
    state: S,
    headers: HeaderMap,
    uri: OriginalUri,
    Path((user, server)): Path<(String, String)>,
    page: PageUser,
) -> Response {
    let ask = SpawnAsk {
        target: Some(user),
        server,
        form: None,
    };
    spawn_page(state, headers, uri, page, ask).await
}

pub(super) async fn named_post(
    state: S,
    headers: HeaderMap,
    uri: OriginalUri,
    Path((user, server)): Path<(String, String)>,
    form: PageForm,
) -> Response {
    let ask = SpawnAsk {
        target: Some(user),
        server,
        form: Some(form.fields),
    };
    spawn_page(state, headers, uri, form.user, ask).await
}

/// User options from `opt-<key>=value` query arguments, or from a submitted form (each key a
/// list of values, as JupyterHub's default `options_from_form`).
fn options_from(pairs: &[(String, String)], prefix: &str) -> Option<Value> {
    let mut map = serde_json::Map::new();
    for (k, v) in pairs {
        if k == "_xsrf" || k == "next" {
            continue;
        }
        let Some(key) = k.strip_prefix(prefix) else {
            continue;
        };
        let entry = map
            .entry(key.to_owned())
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(list) = entry {
            list.push(Value::String(v.clone()));
        }
    }
    (!map.is_empty()).then_some(Value::Object(map))
}

async fn spawn_page(
    State(hub): S,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    page: PageUser,
    ask: SpawnAsk,
) -> Response {
    match spawn_or_form(&hub, &headers, &uri, page, ask).await {
        Ok(resp) => resp,
        Err(e) => e.into_response(),
    }
}

async fn spawn_or_form(
    hub: &Arc<Hub>,
    headers: &HeaderMap,
    uri: &http::Uri,
    PageUser { who, name: me }: PageUser,
    ask: SpawnAsk,
) -> Result<Response, PageError> {
    let ctx = Ctx::of(hub);
    let SpawnAsk {
        target,
        server,
        form,
    } = ask;
    let user = target.unwrap_or_else(|| me.clone());
    let resource = Resource::Server {
        user: &user,
        server: &server,
    };
    if hub.require(&who, &["servers"], resource).await.is_err() {
        return Err(ctx.error(
            Some(&me),
            StatusCode::FORBIDDEN,
            &format!("You do not have permission to start {user}'s server"),
        ));
    }
    if !server.is_empty() && !hub.config.hub.allow_named_servers {
        return Err(ctx.error(
            Some(&me),
            StatusCode::BAD_REQUEST,
            "Named servers are not enabled.",
        ));
    }
    let next = query_value(uri, "next");
    let server_path = server_url(&ctx.base, &user, &server);
    let pending_url = {
        let mut u = ctx.server_page("spawn-pending", &user, &server);
        if let Some(n) = &next {
            u.push_str(&format!("?next={}", encode(n)));
        }
        u
    };
    let state = hub
        .server_state(&user, &server)
        .await
        .unwrap_or(ServerState::Absent);
    match state {
        ServerState::Ready if form.is_some() => {
            return Err(ctx.error(
                Some(&me),
                StatusCode::BAD_REQUEST,
                "Server is already running",
            ))
        }
        ServerState::Ready => {
            let to = next
                .as_deref()
                .and_then(|n| safe_next(n, &hub.config.hub.public_url, headers))
                .unwrap_or(server_path);
            return Ok(redirect(&to));
        }
        ServerState::Spawning | ServerState::Stopping if form.is_some() => {
            return Err(ctx.error(
                Some(&me),
                StatusCode::BAD_REQUEST,
                "Server is already pending",
            ))
        }
        ServerState::Spawning | ServerState::Stopping => return Ok(redirect(&pending_url)),
        ServerState::Absent | ServerState::Stopped => {}
    }
    // `profile_list` stands in for an options form when no HTML form is configured.
    let profiles = hub.config.spawner.options_form.is_empty() && !hub.profiles.is_empty();
    let has_form = profiles || !hub.config.spawner.options_form.is_empty();
    let options = match &form {
        Some(fields) if profiles => Some(hub.profiles.options_from_form(fields)),
        Some(fields) => Some(options_from(fields, "").unwrap_or_else(|| json!({}))),
        None => {
            let pairs = uri.query().map(form_pairs).unwrap_or_default();
            let opts = if profiles {
                let stripped: Vec<(String, String)> = pairs
                    .iter()
                    .filter_map(|(k, v)| Some((k.strip_prefix("opt-")?.to_owned(), v.clone())))
                    .collect();
                let o = hub.profiles.options_from_form(&stripped);
                (o.get("profile").is_some()).then_some(o)
            } else {
                options_from(&pairs, "opt-")
            };
            if opts.is_none() && has_form {
                return Ok(options_page(
                    hub,
                    headers,
                    uri,
                    &me,
                    &user,
                    &server,
                    StatusCode::OK,
                    None,
                )
                .await);
            }
            opts
        }
    };
    match hub.start_server(&who, &user, &server, options).await {
        Ok(Started::Ready | Started::Pending) | Err(HubError::SpawnFailed(_)) => {
            Ok(redirect(&pending_url))
        }
        // Options the form's profiles do not allow: the form again, saying why.
        Err(HubError::Invalid(why)) if has_form && form.is_some() => Ok(options_page(
            hub,
            headers,
            uri,
            &me,
            &user,
            &server,
            StatusCode::BAD_REQUEST,
            Some(&why),
        )
        .await),
        Err(e) => Err(crate::PageError::from_hub(Some(&me), e)),
    }
}

/// The options form: the configured HTML, or the `profile_list` as KubeSpawner lays it out
/// (each profile a radio button, each of its options a select), pre-set from the server's
/// last `user_options`.
#[allow(clippy::too_many_arguments)]
async fn options_page(
    hub: &Hub,
    headers: &HeaderMap,
    uri: &http::Uri,
    me: &str,
    user: &str,
    server: &str,
    status: StatusCode,
    error: Option<&str>,
) -> Response {
    let session = session_id(headers).unwrap_or_default();
    let (xsrf, cookie) = ensure_xsrf(hub, headers, &session);
    let saved = match hub.store.server(user, server).await {
        Ok(Some(row)) => row.user_options,
        _ => json!({}),
    };
    let resp = render(
        status,
        "spawn.html",
        json!({
            "user": me, "xsrf": xsrf, "for_user": user,
            "url": uri.path_and_query().map_or("", |p| p.as_str()),
            "spawner_options_form": hub.config.spawner.options_form,
            "profile_list": profile_view(&hub.profiles, &saved),
            "error_message": error,
        }),
    );
    with_cookies(resp, cookie.into_iter().collect())
}

/// The profiles as the spawn page shows them, with the saved choices selected.
fn profile_view(profiles: &oxhub_core::profiles::Profiles, saved: &Value) -> Value {
    let saved_slug = saved.get("profile").and_then(Value::as_str);
    let chosen = profiles
        .list
        .iter()
        .find(|p| Some(p.slug.as_str()) == saved_slug)
        .or_else(|| profiles.list.iter().find(|p| p.default))
        .map(|p| p.slug.clone());
    let items: Vec<Value> = profiles
        .list
        .iter()
        .map(|p| {
            let mine = chosen.as_deref() == Some(p.slug.as_str());
            let options: Vec<Value> = p
                .options
                .iter()
                .map(|o| {
                    let typed = mine
                        .then(|| saved.get(format!("{}--{}", o.key, oxhub_core::profiles::UNLISTED)))
                        .flatten()
                        .and_then(Value::as_str)
                        .unwrap_or("");
                    let picked = mine.then(|| saved.get(&o.key)).flatten().and_then(Value::as_str);
                    let field = format!("profile-option-{}--{}", p.slug, o.key);
                    json!({
                        "key": o.key,
                        "display_name": o.display_name,
                        "field": field,
                        "choices": o.choices.iter().map(|c| json!({
                            "key": c.key,
                            "display_name": c.display_name,
                            "selected": typed.is_empty() && picked.map_or(c.default, |k| k == c.key),
                        })).collect::<Vec<_>>(),
                        "unlisted": o.unlisted.as_ref().map(|u| json!({
                            "field": format!("{field}--{}", oxhub_core::profiles::UNLISTED),
                            "display_name": if u.display_name.is_empty() { &o.display_name } else { &u.display_name },
                            "display_name_in_choices": u.display_name_in_choices,
                            "pattern": u.validation_regex,
                            "message": u.validation_message,
                            "value": typed,
                            "selected": !typed.is_empty() || o.choices.is_empty(),
                        })),
                    })
                })
                .collect();
            json!({
                "slug": p.slug,
                "display_name": p.display_name,
                "description": p.description,
                "checked": mine,
                "options": options,
            })
        })
        .collect();
    Value::Array(items)
}

pub(super) async fn pending_default(
    state: S,
    headers: HeaderMap,
    uri: OriginalUri,
    Path(user): Path<String>,
    page: PageUser,
) -> Response {
    spawn_pending(state, headers, uri, page, user, String::new()).await
}

pub(super) async fn pending_named(
    state: S,
    headers: HeaderMap,
    uri: OriginalUri,
    Path((user, server)): Path<(String, String)>,
    page: PageUser,
) -> Response {
    spawn_pending(state, headers, uri, page, user, server).await
}

async fn spawn_pending(
    State(hub): S,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    PageUser { who, name: me }: PageUser,
    user: String,
    server: String,
) -> Response {
    let ctx = Ctx::of(&hub);
    let resource = Resource::Server {
        user: &user,
        server: &server,
    };
    if hub.require(&who, &["servers"], resource).await.is_err() {
        return ctx.page_error(Some(&me), StatusCode::NOT_FOUND, "No such server");
    }
    let state = hub
        .server_state(&user, &server)
        .await
        .unwrap_or(ServerState::Absent);
    let next =
        query_value(&uri, "next").and_then(|n| safe_next(&n, &hub.config.hub.public_url, &headers));
    let server_path = server_url(&ctx.base, &user, &server);
    let spawn_url = ctx.server_page("spawn", &user, &server);
    match state {
        ServerState::Ready => return redirect(next.as_deref().unwrap_or(&server_path)),
        ServerState::Spawning => {
            let session = session_id(&headers).unwrap_or_default();
            let (xsrf, cookie) = ensure_xsrf(&hub, &headers, &session);
            let api = if server.is_empty() {
                format!("{}api/users/{}/server", ctx.hub(""), path_segment(&user))
            } else {
                format!(
                    "{}api/users/{}/servers/{}",
                    ctx.hub(""),
                    path_segment(&user),
                    path_segment(&server)
                )
            };
            let xsrf_query = format!("?_xsrf={}", encode(&xsrf));
            let resp = render(
                StatusCode::OK,
                "spawn_pending.html",
                json!({
                    "user": me, "xsrf": xsrf,
                    "progress_url": format!("{api}/progress{xsrf_query}"),
                    // The Stop button stops the server this page is about (JupyterHub's
                    // always stops the default server).
                    "stop_url": format!("{api}{xsrf_query}"),
                    "next_url": next.clone().unwrap_or_default(),
                }),
            );
            return with_cookies(resp, cookie.into_iter().collect());
        }
        ServerState::Stopping => {
            return render(StatusCode::OK, "stop_pending.html", json!({ "user": me }))
        }
        ServerState::Absent | ServerState::Stopped => {}
    }
    let failure = hub
        .spawn_progress(&user, &server)
        .and_then(|p| p.outcome())
        .filter(|o| o.get("failed") == Some(&Value::Bool(true)))
        .and_then(|o| o.get("message").and_then(Value::as_str).map(str::to_owned));
    let status = if failure.is_some() {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    };
    render(
        status,
        "not_running.html",
        json!({
            "user": me,
            "failed": failure.is_some(), "failed_message": failure,
            "server_name": server, "spawn_url": spawn_url,
        }),
    )
}
