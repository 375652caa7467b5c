//! Login protection for every authenticator: after repeated failed logins for one name, or
//! from one client address, the next attempts must wait, doubling each time up to a ceiling.
//! Kept in memory per hub process and bounded in size; a success clears the name's record.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;

/// How many failures are free before waiting starts, and the longest wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub free_per_name: u32,
    pub free_per_client: u32,
    pub max_wait_ms: i64,
}

/// Generous: a person mistyping a password is never slowed; a guesser soon is.
pub const DEFAULT_LIMITS: Limits = Limits {
    free_per_name: 5,
    free_per_client: 20,
    max_wait_ms: 5 * 60 * 1000,
};

/// At most this many names and addresses are remembered; past it, the oldest half goes.
const MAX_ENTRIES: usize = 50_000;

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    /// No attempt before this (ms).
    until: i64,
    last: i64,
}

struct Table<K> {
    entries: Mutex<HashMap<K, Failures>>,
}

impl<K: Hash + Eq + Clone> Table<K> {
    fn new() -> Self {
        Table {
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn wait(&self, key: &K, now: i64) -> Option<i64> {
        let entries = self.entries.lock().ok()?;
        let f = entries.get(key)?;
        (f.until > now).then_some(f.until - now)
    }

    fn fail(&self, key: K, free: u32, max_wait: i64, now: i64) {
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if entries.len() >= MAX_ENTRIES && !entries.contains_key(&key) {
            let mut ages: Vec<i64> = entries.values().map(|f| f.last).collect();
            ages.sort_unstable();
            let cut = ages[ages.len() / 2];
            entries.retain(|_, f| f.last > cut);
        }
        let f = entries.entry(key).or_insert(Failures {
            count: 0,
            until: 0,
            last: now,
        });
        f.count = f.count.saturating_add(1);
        f.last = now;
        if f.count > free {
            let doublings = (f.count - free - 1).min(20);
            f.until = now + (1000i64 << doublings).min(max_wait);
        }
    }

    fn clear(&self, key: &K) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(key);
        }
    }
}

pub struct Throttle {
    limits: Limits,
    names: Table<String>,
    clients: Table<IpAddr>,
}

impl Throttle {
    pub fn new(limits: Limits) -> Throttle {
        Throttle {
            limits,
            names: Table::new(),
            clients: Table::new(),
        }
    }

    /// How long (ms) this attempt must wait, if at all. An empty name (a redirect login names
    /// nobody until it returns) is counted by address only.
    pub fn wait(&self, name: &str, client: Option<IpAddr>, now: i64) -> Option<i64> {
        let by_name = (!name.is_empty())
            .then(|| self.names.wait(&name.to_owned(), now))
            .flatten();
        let by_client = client.and_then(|c| self.clients.wait(&c, now));
        by_name.max(by_client)
    }

    pub fn failed(&self, name: &str, client: Option<IpAddr>, now: i64) {
        let l = self.limits;
        if !name.is_empty() {
            self.names
                .fail(name.to_owned(), l.free_per_name, l.max_wait_ms, now);
        }
        if let Some(c) = client {
            self.clients.fail(c, l.free_per_client, l.max_wait_ms, now);
        }
    }

    pub fn succeeded(&self, name: &str) {
        self.names.clear(&name.to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_failures_then_doubling_waits_up_to_the_ceiling() {
        let t = Throttle::new(Limits {
            free_per_name: 2,
            free_per_client: 100,
            max_wait_ms: 4000,
        });
        let now = 1_000_000;
        t.failed("alice", None, now);
        t.failed("alice", None, now);
        assert_eq!(t.wait("alice", None, now), None);
        t.failed("alice", None, now);
        assert_eq!(t.wait("alice", None, now), Some(1000));
        t.failed("alice", None, now);
        assert_eq!(t.wait("alice", None, now), Some(2000));
        for _ in 0..10 {
            t.failed("alice", None, now);
        }
        assert_eq!(t.wait("alice", None, now), Some(4000));
        assert_eq!(t.wait("alice", None, now + 4000), None);
        assert_eq!(t.wait("bob", None, now), None);
        t.succeeded("alice");
        assert_eq!(t.wait("alice", None, now), None);
    }

    #[test]
    fn nameless_attempts_count_by_address_only() {
        let t = Throttle::new(Limits {
            free_per_name: 1,
            free_per_client: 100,
            max_wait_ms: 60_000,
        });
        for _ in 0..5 {
            t.failed("", None, 0);
        }
        assert_eq!(t.wait("", None, 0), None);
    }

    #[test]
    fn one_address_guessing_many_names_is_slowed() {
        let t = Throttle::new(Limits {
            free_per_name: 100,
            free_per_client: 3,
            max_wait_ms: 60_000,
        });
        let ip: IpAddr = "203.0.113.9".parse().unwrap();
        let now = 5_000;
        for n in 0..4 {
            t.failed(&format!("user{n}"), Some(ip), now);
        }
        assert_eq!(t.wait("someone-else", Some(ip), now), Some(1000));
        assert_eq!(t.wait("someone-else", None, now), None);
        // A success for a name does not clear the address.
        t.succeeded("user0");
        assert_eq!(t.wait("user0", Some(ip), now), Some(1000));
    }
}
