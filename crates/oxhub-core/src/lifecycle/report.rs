//! What a starting server tells the hub about itself: the port it picked where it runs
//! (batchspawner's `POST /hub/api/batchspawner`).

use crate::error::HubError;
use crate::hub::Hub;
use crate::identity::Identity;
use serde_json::{Map, Value};

impl Hub {
    /// A starting server reports where it listens. Only the server's own API token of a
    /// spawn still under way may, and only `port` may be set (batchspawner would set any
    /// attribute of the spawner named in the body).
    pub fn report_server_port(
        &self,
        who: &Identity,
        body: &Map<String, Value>,
    ) -> Result<(), HubError> {
        if let Some(other) = body.keys().find(|k| *k != "port") {
            return Err(HubError::Invalid(format!(
                "only the port may be reported, not {}",
                crate::error::clip(other)
            )));
        }
        let port = body
            .get("port")
            .and_then(Value::as_u64)
            .and_then(|p| u16::try_from(p).ok())
            .filter(|p| *p != 0)
            .ok_or_else(|| HubError::Invalid("port must be an integer from 1 to 65535".into()))?;
        let token = who.token_id.unwrap_or(0);
        let spawns = self
            .spawns
            .lock()
            .map_err(|_| HubError::Internal("spawn table poisoned".into()))?;
        let Some(((user, server), progress)) =
            spawns.iter().find(|(_, p)| p.awaits_report_from(token))
        else {
            return Err(HubError::Invalid(
                "this token belongs to no server that is starting".into(),
            ));
        };
        tracing::info!("Server {user}/{server} reports port {port}");
        progress.report_port(port);
        Ok(())
    }
}
