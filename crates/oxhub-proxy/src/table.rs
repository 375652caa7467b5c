//! The routing table: CHP's route keys, longest-prefix matching on whole path segments, and
//! each route's data and activity.
//!
//! Lookups take a read lock for the length of one walk down a segment trie (O(path length));
//! adding or removing a route takes the write lock for one trie edit, so route changes never
//! stall traffic for longer than that. `last_activity` is a per-route atomic.

use crate::clock;
use parking_lot::RwLock;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

/// A proxy target, parsed once when the route is added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub https: bool,
    /// `host:port` (port always present).
    pub authority: String,
    /// The target's path without a trailing `/` ("" for none).
    pub path: String,
}

impl Target {
    pub fn parse(url: &str) -> Result<Target, String> {
        let (https, rest) = if let Some(r) = url.strip_prefix("http://") {
            (false, r)
        } else if let Some(r) = url.strip_prefix("https://") {
            (true, r)
        } else if let Some(r) = url.strip_prefix("ws://") {
            (false, r)
        } else if let Some(r) = url.strip_prefix("wss://") {
            (true, r)
        } else {
            return Err(format!("target {url:?} is not an http:// or https:// URL"));
        };
        let (authority, path) = match rest.find(['/', '?', '#']) {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        let path = path.split(['?', '#']).next().unwrap_or("");
        if authority.is_empty() || authority.contains('@') {
            return Err(format!("target {url:?} has no usable host"));
        }
        let has_port = match authority.rfind(':') {
            Some(i) => !authority[i..].contains(']'),
            None => false,
        };
        let authority = if has_port {
            authority.to_owned()
        } else {
            format!("{authority}:{}", if https { 443 } else { 80 })
        };
        authority
            .parse::<http::uri::Authority>()
            .map_err(|e| format!("target {url:?}: {e}"))?;
        Ok(Target {
            https,
            authority,
            path: path.trim_end_matches('/').to_owned(),
        })
    }
}

/// One route: what was posted, where it goes, and when it was last used.
#[derive(Debug)]
pub struct Route {
    /// The route key as CHP shows it (`/user/alice`).
    pub key: String,
    pub target: Target,
    /// The posted JSON object, verbatim (plus `host` under host routing).
    pub data: Map<String, Value>,
    /// Milliseconds since the Unix epoch.
    last_activity: AtomicI64,
}

impl Route {
    pub fn last_activity_ms(&self) -> i64 {
        self.last_activity.load(Ordering::Relaxed)
    }

    /// Record activity now. Cheap enough for every body chunk: one load, and a store at most
    /// once per millisecond per route.
    #[inline]
    pub fn touch(&self) {
        let now = clock::now_ms();
        if self.last_activity.load(Ordering::Relaxed) < now {
            self.last_activity.store(now, Ordering::Relaxed);
        }
    }

    /// The route as the REST API returns it: the data, with `last_activity` as an ISO 8601 string.
    pub fn to_json(&self) -> Value {
        let mut out = Map::with_capacity(self.data.len() + 1);
        for (k, v) in &self.data {
            if k != "last_activity" {
                out.insert(k.clone(), v.clone());
            }
        }
        out.insert(
            "last_activity".into(),
            Value::String(clock::iso8601(self.last_activity_ms())),
        );
        Value::Object(out)
    }
}

/// CHP's key form: a leading `/`, one trailing `/` removed (except for the root).
pub fn clean_key(path: &str) -> String {
    let mut key = if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("/{path}")
    };
    if key.len() > 1 && key.ends_with('/') {
        key.pop();
    }
    key
}

fn segments(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|s| !s.is_empty())
}

#[derive(Default)]
struct Node {
    route: Option<Arc<Route>>,
    children: HashMap<Box<str>, Node>,
}

#[derive(Default)]
struct Inner {
    trie: Node,
    by_key: BTreeMap<String, Arc<Route>>,
}

/// The routing table, shared by the API and the data plane.
#[derive(Default)]
pub struct RouteTable {
    inner: RwLock<Inner>,
}

impl RouteTable {
    /// Add or replace the route at `key` (already cleaned). Activity starts now.
    pub fn add(&self, key: String, target: Target, data: Map<String, Value>) -> Arc<Route> {
        let route = Arc::new(Route {
            key: key.clone(),
            target,
            data,
            last_activity: AtomicI64::new(clock::now_ms()),
        });
        let mut inner = self.inner.write();
        let mut node = &mut inner.trie;
        for seg in segments(&key) {
            node = node.children.entry(seg.into()).or_default();
        }
        if let Some(old) = node.route.replace(Arc::clone(&route)) {
            if old.key != key {
                // Two keys that differ only in empty segments share a trie node; the newest wins.
                inner.by_key.remove(&old.key);
            }
        }
        inner.by_key.insert(key, Arc::clone(&route));
        route
    }

    /// Remove the route at `key`; `false` if there was none.
    pub fn remove(&self, key: &str) -> bool {
        let mut inner = self.inner.write();
        if inner.by_key.remove(key).is_none() {
            return false;
        }
        let segs: Vec<&str> = segments(key).collect();
        remove_in(&mut inner.trie, &segs);
        true
    }

    pub fn get(&self, key: &str) -> Option<Arc<Route>> {
        self.inner.read().by_key.get(key).cloned()
    }

    /// All routes, by key.
    pub fn all(&self) -> Vec<Arc<Route>> {
        self.inner.read().by_key.values().cloned().collect()
    }

    pub fn len(&self) -> usize {
        self.inner.read().by_key.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The route with the longest prefix of whole segments of `path` (already percent-decoded).
    pub fn lookup(&self, path: &str) -> Option<Arc<Route>> {
        let inner = self.inner.read();
        let mut node = &inner.trie;
        let mut best = node.route.as_ref();
        for seg in segments(path) {
            match node.children.get(seg) {
                Some(child) => {
                    node = child;
                    if node.route.is_some() {
                        best = node.route.as_ref();
                    }
                }
                None => break,
            }
        }
        best.cloned()
    }
}

/// Remove the route at the end of `segs`, pruning the nodes left empty. Iterative: a key's
/// depth never costs stack.
fn remove_in(root: &mut Node, segs: &[&str]) {
    // The deepest node on the path that stays (the root, a node with a route of its own or
    // with other branches); the edge below it goes.
    let mut cut = 0;
    let mut node = &*root;
    for (depth, seg) in segs.iter().enumerate() {
        if depth > 0 && (node.route.is_some() || node.children.len() > 1) {
            cut = depth;
        }
        match node.children.get(*seg) {
            Some(child) => node = child,
            None => return,
        }
    }
    if !node.children.is_empty() || segs.is_empty() {
        // Other routes hang below this one: only its route goes.
        let mut node = &mut *root;
        for seg in segs {
            match node.children.get_mut(*seg) {
                Some(child) => node = child,
                None => return,
            }
        }
        node.route = None;
        return;
    }
    let mut node = &mut *root;
    for seg in &segs[..cut] {
        match node.children.get_mut(*seg) {
            Some(child) => node = child,
            None => return,
        }
    }
    node.children.remove(segs[cut]);
}

/// Dropping a deep trie node by node, not recursively.
impl Drop for Node {
    fn drop(&mut self) {
        let mut stack: Vec<Node> = self.children.drain().map(|(_, n)| n).collect();
        while let Some(mut n) = stack.pop() {
            stack.extend(n.children.drain().map(|(_, c)| c));
        }
    }
}

/// The longest route key the API takes, in bytes.
pub const MAX_KEY_BYTES: usize = 4096;
/// The most path segments a route key may have.
pub const MAX_KEY_SEGMENTS: usize = 256;

/// Route keys are bounded, so no key can make a table operation costly.
pub fn check_key(key: &str) -> Result<(), String> {
    if key.len() > MAX_KEY_BYTES {
        return Err(format!(
            "Route path is {} bytes; the limit is {MAX_KEY_BYTES}",
            key.len()
        ));
    }
    let n = segments(key).count();
    if n > MAX_KEY_SEGMENTS {
        return Err(format!(
            "Route path has {n} segments; the limit is {MAX_KEY_SEGMENTS}"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(keys: &[&str]) -> RouteTable {
        let t = RouteTable::default();
        for (i, k) in keys.iter().enumerate() {
            t.add(
                clean_key(k),
                Target::parse(&format!("http://127.0.0.1:{}", 1000 + i)).unwrap(),
                Map::new(),
            );
        }
        t
    }

    fn matched(t: &RouteTable, path: &str) -> Option<String> {
        t.lookup(path).map(|r| r.key.clone())
    }

    #[test]
    fn longest_prefix_on_whole_segments() {
        let t = table(&["/", "/user/alice", "/user/alice/gpu/", "/hub"]);
        assert_eq!(
            matched(&t, "/user/alice/lab/tree").as_deref(),
            Some("/user/alice")
        );
        assert_eq!(matched(&t, "/user/alice").as_deref(), Some("/user/alice"));
        assert_eq!(
            matched(&t, "/user/alice/gpu/api").as_deref(),
            Some("/user/alice/gpu")
        );
        assert_eq!(matched(&t, "/user/alicex/lab").as_deref(), Some("/"));
        assert_eq!(matched(&t, "/hub/login").as_deref(), Some("/hub"));
        assert_eq!(
            matched(&t, "//user//alice/x").as_deref(),
            Some("/user/alice")
        );
        let t = table(&["/user/alice"]);
        assert_eq!(matched(&t, "/other"), None);
    }

    #[test]
    fn remove_prunes_and_keeps_others() {
        let t = table(&["/", "/a/b/c", "/a"]);
        assert!(t.remove("/a/b/c"));
        assert!(!t.remove("/a/b/c"));
        assert_eq!(matched(&t, "/a/b/c/d").as_deref(), Some("/a"));
        assert!(t.remove("/a"));
        assert_eq!(matched(&t, "/a/b").as_deref(), Some("/"));
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn deep_keys_are_removed_and_dropped_without_recursion() {
        let deep: String = (0..50_000).map(|i| format!("/s{i}")).collect();
        let t = table(&["/a", &deep, "/s0/s1"]);
        assert!(t.remove(&clean_key(&deep)));
        assert_eq!(matched(&t, "/s0/s1/x").as_deref(), Some("/s0/s1"));
        assert_eq!(matched(&t, &deep).as_deref(), Some("/s0/s1"));
        assert!(t.remove("/s0/s1"));
        assert_eq!(matched(&t, &deep), None);
        let t = table(&[&deep]);
        drop(t);
        assert!(check_key(&deep).is_err());
        assert!(check_key(&"/x".repeat(MAX_KEY_SEGMENTS)).is_ok());
        assert!(check_key(&"/x".repeat(MAX_KEY_SEGMENTS + 1)).is_err());
        assert!(check_key(&"y".repeat(MAX_KEY_BYTES + 1)).is_err());
    }

    #[test]
    fn keys_and_targets() {
        assert_eq!(clean_key("user/alice/"), "/user/alice");
        assert_eq!(clean_key("/"), "/");
        assert_eq!(clean_key(""), "/");
        let t = Target::parse("http://127.0.0.1:8081/hub/").unwrap();
        assert_eq!(
            (t.authority.as_str(), t.path.as_str()),
            ("127.0.0.1:8081", "/hub")
        );
        assert_eq!(
            Target::parse("http://localhost").unwrap().authority,
            "localhost:80"
        );
        assert_eq!(
            Target::parse("https://[::1]").unwrap().authority,
            "[::1]:443"
        );
        assert!(Target::parse("ftp://x").is_err());
        assert!(Target::parse("http://").is_err());
    }

    #[test]
    fn json_has_last_activity() {
        let t = RouteTable::default();
        let mut data = Map::new();
        data.insert("target".into(), Value::String("http://127.0.0.1:1".into()));
        data.insert("user".into(), Value::String("alice".into()));
        let r = t.add(
            "/user/alice".into(),
            Target::parse("http://127.0.0.1:1").unwrap(),
            data,
        );
        let j = r.to_json();
        assert_eq!(j["user"], "alice");
        assert!(j["last_activity"].as_str().unwrap().ends_with('Z'));
    }
}
