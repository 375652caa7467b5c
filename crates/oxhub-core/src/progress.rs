//! The progress of spawns: one tracker per server's latest spawn, holding its events in
//! order (the spawn-pending page and `/progress` stream them) and whether it has finished.
//! A tracker registered in [`Spawns`] is also what makes a spawn the only one for its server.

use oxhub_plugin::spawn::ProgressSink;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// The progress of one spawn: events in order, and a signal when one is added.
pub struct Progress {
    events: Mutex<Vec<Value>>,
    added: tokio::sync::watch::Sender<usize>,
    finished: AtomicBool,
}

impl Progress {
    pub(crate) fn new() -> Arc<Progress> {
        Arc::new(Progress {
            events: Mutex::new(Vec::new()),
            added: tokio::sync::watch::channel(0).0,
            finished: AtomicBool::new(false),
        })
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
}

/// Spawns in flight or finished, by (user, server).
pub type Spawns = Mutex<HashMap<(String, String), Arc<Progress>>>;

pub(crate) fn failed(message: &str) -> Value {
    json!({ "progress": 100, "failed": true, "message": format!("Spawn failed: {message}") })
}
