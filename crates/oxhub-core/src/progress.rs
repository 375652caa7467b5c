//! The progress of spawns: one tracker per server's latest spawn, holding its events in
//! order (the spawn-pending page and `/progress` stream them) and whether it has finished.
//! A tracker registered in [`Spawns`] is also what makes a spawn the only one for its server.

use oxhub_plugin::spawn::ProgressSink;
use oxhub_plugin::BoxFuture;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

/// The progress of one spawn: events in order, and a signal when one is added; and what the
/// spawner and the server tell the hub on the way (a checkpointed state, a reported port).
pub struct Progress {
    events: Mutex<Vec<Value>>,
    added: watch::Sender<usize>,
    finished: AtomicBool,
    /// The id of the server's API token (0 until issued): only that token may report the
    /// server's port.
    token_id: AtomicI64,
    port: watch::Sender<Option<u16>>,
    checkpoint: watch::Sender<Option<Value>>,
}

impl Progress {
    pub(crate) fn new() -> Arc<Progress> {
        Arc::new(Progress {
            events: Mutex::new(Vec::new()),
            added: watch::channel(0).0,
            finished: AtomicBool::new(false),
            token_id: AtomicI64::new(0),
            port: watch::channel(None).0,
            checkpoint: watch::channel(None).0,
        })
    }

    pub(crate) fn set_token(&self, id: i64) {
        self.token_id.store(id, Ordering::Release);
    }

    /// Whether this spawn is still starting with the server token `id`.
    pub(crate) fn awaits_report_from(&self, id: i64) -> bool {
        !self.finished() && id != 0 && self.token_id.load(Ordering::Acquire) == id
    }

    pub(crate) fn report_port(&self, port: u16) {
        self.port.send_replace(Some(port));
    }

    /// Checkpointed spawner states, as they come.
    pub(crate) fn checkpoints(&self) -> watch::Receiver<Option<Value>> {
        self.checkpoint.subscribe()
    }

    pub(crate) fn push(&self, event: Value) {
        let n = match self.events.lock() {
            Ok(mut events) => {
                events.push(event);
                events.len()
            }
            Err(_) => return,
        };
        self.added.send_replace(n);
    }

    pub(crate) fn finish(&self, event: Value) {
        self.finished.store(true, Ordering::Release);
        self.push(event);
    }

    pub fn finished(&self) -> bool {
        self.finished.load(Ordering::Acquire)
    }

    /// Events from index `from` on.
    pub fn events_from(&self, from: usize) -> Vec<Value> {
        self.events
            .lock()
            .map(|e| e.get(from..).map(<[Value]>::to_vec).unwrap_or_default())
            .unwrap_or_default()
    }

    /// The final event if the spawn ended.
    pub fn outcome(&self) -> Option<Value> {
        if !self.finished() {
            return None;
        }
        self.events.lock().ok().and_then(|e| e.last().cloned())
    }

    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<usize> {
        self.added.subscribe()
    }
}

/// A spawner's own progress events go between the hub's (which mark 0, 10, 50 and 100).
impl ProgressSink for Progress {
    fn progress(&self, percent: u8, message: &str) {
        self.push(json!({ "progress": percent.min(99), "message": message }));
    }

    fn message(&self, message: &str) {
        self.push(json!({ "message": message }));
    }

    fn event(&self, mut event: Value) {
        if let Value::Object(m) = &mut event {
            // The hub's own events say when a spawn is ready or failed.
            for key in ["ready", "failed", "url", "html_message"] {
                m.remove(key);
            }
            if let Some(p) = m.get("progress").and_then(Value::as_u64) {
                m.insert("progress".into(), json!(p.min(99)));
            }
            self.push(event);
        }
    }

    fn checkpoint(&self, state: &Value) {
        // The same state again (a job still pending) is not written again.
        self.checkpoint.send_if_modified(|current| {
            if current.as_ref() == Some(state) {
                return false;
            }
            *current = Some(state.clone());
            true
        });
    }

    fn reported_port(&self) -> BoxFuture<'_, u16> {
        let mut reports = self.port.subscribe();
        Box::pin(async move {
            loop {
                if let Some(port) = *reports.borrow_and_update() {
                    return port;
                }
                if reports.changed().await.is_err() {
                    std::future::pending::<()>().await;
                }
            }
        })
    }
}

/// Spawns in flight or finished, by (user, server).
pub type Spawns = Mutex<HashMap<(String, String), Arc<Progress>>>;

pub(crate) fn failed(message: &str) -> Value {
    json!({ "progress": 100, "failed": true, "message": format!("Spawn failed: {message}") })
}
