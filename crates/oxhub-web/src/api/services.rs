//! `/services...`.

use super::*;
use crate::caller::ApiCaller;

/// The service model as `scopes` may see it (`read:services` → all but roles;
/// `read:services:name` → kind, name, admin; `read:roles:services` → kind, name, roles, admin).
pub(super) async fn service_json(
    hub: &Hub,
    who: &Identity,
    row: &oxhub_store::ServiceRow,
    roles: Option<&[String]>,
) -> Result<Option<Value>, ApiError> {
    let res = Resource::Service(&row.name);
    let none = Groups::default();
    let read = who.scopes.permits("read:services", &res, &none);
    let name_only = read || who.scopes.permits("read:services:name", &res, &none);
    let read_roles = who.scopes.permits("read:roles:services", &res, &none);
    if !(name_only || read_roles) {
        return Ok(None);
    }
    let mut m = serde_json::Map::new();
    m.insert("kind".into(), json!("service"));
    m.insert("name".into(), json!(row.name));
    m.insert("admin".into(), json!(row.admin));
    if read_roles {
        let roles: Vec<String> = match roles {
            Some(r) => r.to_vec(),
            None => hub
                .store
                .member_roles(oxhub_store::MemberKind::Service, &row.name)
                .await
                .map_err(HubError::from)?
                .into_iter()
                .map(|r| r.name)
                .collect(),
        };
        m.insert("roles".into(), json!(roles));
    }
    if read {
        let spec = hub.service_spec(row);
        let field = |k: &str| spec.get(k).cloned();
        let url = field("url").unwrap_or(json!(""));
        let has_url = url.as_str().is_some_and(|u| !u.is_empty());
        m.insert("url".into(), url);
        m.insert(
            "prefix".into(),
            json!(if has_url {
                format!("{}services/{}/", hub.config.hub.base_url, row.name)
            } else {
                String::new()
            }),
        );
        m.insert("command".into(), field("command").unwrap_or(json!("")));
        m.insert("pid".into(), json!(0));
        m.insert("info".into(), field("info").unwrap_or(json!({})));
        m.insert("display".into(), field("display").unwrap_or(json!(true)));
    }
    Ok(Some(Value::Object(m)))
}

/// `GET /services`: an object keyed by service name (not a list, not paginated; hub-api.md ⚠).
pub(super) async fn list_services(
    State(hub): S,
    ApiCaller(who): ApiCaller,
) -> Result<Json<Value>, ApiError> {
    forbid(
        who.scopes.check_listing(&["list:services"]),
        &["list:services"],
    )?;
    let mut out = serde_json::Map::new();
    for row in hub.store.services().await.map_err(HubError::from)? {
        if !who.scopes.permits(
            "list:services",
            &Resource::Service(&row.name),
            &Groups::default(),
        ) {
            continue;
        }
        if let Some(model) = service_json(&hub, &who, &row, None).await? {
            out.insert(row.name.clone(), model);
        }
    }
    Ok(Json(Value::Object(out)))
}

const READ_SERVICE: &[&str] = &["read:services", "read:services:name", "read:roles:services"];

pub(super) async fn get_service(
    State(hub): S,
    ApiCaller(who): ApiCaller,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    forbid(
        who.scopes
            .check(READ_SERVICE, &Resource::Service(&name), &Groups::default()),
        READ_SERVICE,
    )?;
    let row = hub
        .store
        .service(&name)
        .await
        .map_err(HubError::from)?
        .ok_or_else(|| ApiError::from(HubError::NotFound(format!("No such service: {name}"))))?;
    service_json(&hub, &who, &row, None)
        .await?
        .map(Json)
        .ok_or_else(|| HubError::NotFound(format!("No such service: {name}")).into())
}

pub(super) async fn create_service(
    State(hub): S,
    ApiCaller(who): ApiCaller,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let map = match json_body(&body)? {
        None | Some(Value::Null) => serde_json::Map::new(),
        Some(Value::Object(m)) => m,
        Some(_) => return Err(ApiError::bad_request("Body must be a JSON object")),
    };
    let row = hub.create_service(&who, &name, &map).await?;
    let model = service_json(&hub, &who, &row, None)
        .await?
        .unwrap_or_else(|| json!({"kind": "service", "name": row.name}));
    Ok((StatusCode::CREATED, Json(model)).into_response())
}

pub(super) async fn delete_service(
    State(hub): S,
    ApiCaller(who): ApiCaller,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    hub.delete_service(&who, &name).await?;
    Ok(StatusCode::OK)
}
