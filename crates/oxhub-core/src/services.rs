//! Services added and removed through the API (those from the configuration are fixed).

use crate::error::{clip, HubError};
use crate::hub::Hub;
use crate::identity::Identity;
use oxhub_model::names::ServiceName;
use oxhub_model::scope::Resource;
use oxhub_store::ServiceRow;
use serde_json::Value;

/// The keys a runtime service definition may have, with their JSON types.
const SERVICE_KEYS: &[(&str, &str)] = &[
    ("name", "string"),
    ("admin", "boolean"),
    ("url", "string"),
    ("oauth_client_allowed_scopes", "array"),
    ("api_token", "string"),
    ("info", "object"),
    ("display", "boolean"),
    ("oauth_no_confirm", "boolean"),
    ("command", "array"),
    ("cwd", "string"),
    ("environment", "object"),
    ("user", "string"),
    ("oauth_client_id", "string"),
    ("oauth_redirect_uri", "string"),
];

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

impl Hub {
    /// The definition of a service as JSON: its entry in `JupyterHub.services`, or for one
    /// added through the API the definition stored with it.
    pub fn service_spec(&self, row: &ServiceRow) -> Value {
        let name = oxhub_config::Value::Str("name".into());
        self.config
            .hub
            .services
            .iter()
            .find(|s| {
                matches!(s, oxhub_config::Value::Dict(p)
                    if oxhub_config::Value::dict_get(p, &name).and_then(|v| v.as_str())
                        == Some(row.name.as_str()))
            })
            .map(oxhub_config::Value::to_json)
            .unwrap_or_else(|| row.spec.clone())
    }

    /// `POST /services/{name}`: add an external service (no `command`: the hub does not run
    /// services added at runtime). An `api_token` in the body becomes the service's token.
    pub async fn create_service(
        &self,
        who: &Identity,
        name: &str,
        body: &serde_json::Map<String, Value>,
    ) -> Result<ServiceRow, HubError> {
        self.require(who, &["admin:services"], Resource::Service(name))
            .await?;
        let parsed = ServiceName::parse(name)
            .map_err(|e| HubError::Invalid(format!("Invalid service name {}: {e}", clip(name))))?;
        for (k, v) in body {
            let Some((_, want)) = SERVICE_KEYS.iter().find(|(key, _)| key == k) else {
                return Err(HubError::Invalid(format!(
                    "Unexpected key in service model: {k}"
                )));
            };
            if json_type(v) != *want {
                return Err(HubError::Invalid(format!(
                    "{k} must be of type {want}, not {}",
                    json_type(v)
                )));
            }
        }
        if body
            .get("name")
            .and_then(Value::as_str)
            .is_some_and(|n| n != name)
        {
            return Err(HubError::Invalid(
                "name in the body must match the name in the URL".into(),
            ));
        }
        if body.contains_key("command") {
            return Err(HubError::Invalid(
                "services added through the API cannot be managed: remove command".into(),
            ));
        }
        let admin = body.get("admin").and_then(Value::as_bool).unwrap_or(false);
        if admin && !who.subject.is_admin() {
            return Err(HubError::Refused(
                "Only admins can create admin services".into(),
            ));
        }
        if self.store.service(parsed.as_str()).await?.is_some() {
            return Err(HubError::Conflict(format!("Service {name} already exists")));
        }
        let mut spec = body.clone();
        let token = spec
            .remove("api_token")
            .and_then(|t| t.as_str().map(str::to_owned));
        if let Some(t) = &token {
            if t.len() < 8 || t.len() > crate::tokens::MAX_LEN {
                return Err(HubError::Invalid(format!(
                    "api_token must be 8 to {} characters",
                    crate::tokens::MAX_LEN
                )));
            }
        }
        spec.insert("name".into(), Value::String(name.to_owned()));
        let row = self
            .store
            .create_runtime_service(name, admin, &Value::Object(spec))
            .await?;
        if admin {
            self.store
                .grant_role(
                    crate::hub::ADMIN_ROLE,
                    oxhub_store::MemberKind::Service,
                    name,
                )
                .await?;
        }
        if let Some(token) = token {
            let new = oxhub_store::NewToken {
                prefix: crate::tokens::prefix(&token).to_owned(),
                hash: crate::tokens::hash(&token),
                owner: oxhub_store::Owner::Service(name.to_owned()),
                scopes: vec!["inherit".into()],
                note: "service api_token".into(),
                expires_at: None,
                session_id: None,
                oauth_client: None,
            };
            if let Err(e) = self.store.insert_token(&new, crate::clock::now_ms()).await {
                self.store.delete_service(name).await?;
                return Err(match e {
                    oxhub_store::StoreError::Conflict(_) => {
                        HubError::Invalid("api_token is already in use".into())
                    }
                    other => other.into(),
                });
            }
        }
        tracing::info!("{} added service {name}", who.subject.name());
        Ok(row)
    }

    /// `DELETE /services/{name}`: only services added through the API.
    pub async fn delete_service(&self, who: &Identity, name: &str) -> Result<(), HubError> {
        self.require(who, &["admin:services"], Resource::Service(name))
            .await?;
        let row = self
            .store
            .service(name)
            .await?
            .ok_or_else(|| HubError::NotFound(format!("No such service: {name}")))?;
        if row.from_config {
            return Err(HubError::NotAllowed(format!(
                "Service {name} is defined in the configuration and cannot be deleted"
            )));
        }
        self.store.delete_service(name).await?;
        tracing::info!("{} deleted service {name}", who.subject.name());
        Ok(())
    }
}
