//! Who is making a request, and the scopes they hold for it.

use oxhub_model::scope::{Membership, ScopeSet};
use std::collections::{BTreeSet, HashMap};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    User { name: String, admin: bool },
    Service { name: String, admin: bool },
}

impl Subject {
    pub fn name(&self) -> &str {
        match self {
            Subject::User { name, .. } | Subject::Service { name, .. } => name,
        }
    }

    pub fn is_admin(&self) -> bool {
        match self {
            Subject::User { admin, .. } | Subject::Service { admin, .. } => *admin,
        }
    }
}

/// An authenticated request: the subject, its effective scopes (token ∩ owner, already
/// expanded), and the token that proved it.
#[derive(Debug, Clone)]
pub struct Identity {
    pub subject: Subject,
    pub scopes: ScopeSet,
    pub token_id: Option<i64>,
    pub session_id: Option<String>,
}

/// Group memberships loaded from the store for the users a request is about.
#[derive(Debug, Clone, Default)]
pub struct Groups(pub HashMap<String, BTreeSet<String>>);

impl Membership for Groups {
    fn user_in_group(&self, user: &str, group: &str) -> bool {
        self.0
            .get(user)
            .is_some_and(|groups| groups.contains(group))
    }
}
