//! JupyterHub's RBAC scope engine, as `shared/reference/scopes.md` describes it.
//!
//! A scope string is `base[!filter]`. The flow is:
//! raw scopes (roles, tokens, OAuth requests) → [`Vocabulary::expand`] for an owner → a
//! reduced [`ScopeSet`] → [`ScopeSet::intersect`] (token ∩ owner) → [`ScopeSet::check`] for a
//! request. Group membership, the one fact that needs the database, comes in through
//! [`Membership`].

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde_json::{Map, Value};

// ---------------------------------------------------------------------------------------------
// The vocabulary (scopes.md §1)
// ---------------------------------------------------------------------------------------------

/// One row of the scope table: name, description (shown on the OAuth consent page), and the
/// scopes it directly implies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScopeDef {
    /// The base scope, e.g. `read:users`.
    pub name: &'static str,
    /// One line on what the scope grants (shown on the authorization page); oxhub's own wording.
    pub description: &'static str,
    /// Direct subscopes; [`Vocabulary::full_expansion`] follows them recursively.
    pub subscopes: &'static [&'static str],
}

const fn def(
    name: &'static str,
    description: &'static str,
    subscopes: &'static [&'static str],
) -> ScopeDef {
    ScopeDef {
        name,
        description,
        subscopes,
    }
}

/// The built-in scopes of JupyterHub 6.1.1, in the order of scopes.md §1.
pub static SCOPES: &[ScopeDef] = &[
    def("(no_scope)", "Identify owner only.", &[]),
    def("self", "Metascope: the user's own resources.", &[]),
    def("inherit", "Metascope: everything the token owner has.", &[]),
    def("admin-ui", "View /hub/admin page.", &[]),
    def(
        "admin:users",
        "Read/modify/create/delete users + auth_state (not servers/tokens).",
        &[
            "admin:auth_state",
            "users",
            "read:roles:users",
            "delete:users",
        ],
    ),
    def("admin:auth_state", "Read user auth_state.", &[]),
    def(
        "users",
        "Read/write user models (no servers, tokens, auth_state).",
        &["read:users", "list:users", "users:activity"],
    ),
    def("delete:users", "Delete users.", &[]),
    def(
        "list:users",
        "List users (names at least).",
        &["read:users:name"],
    ),
    def(
        "read:users",
        "Read user model incl. default-server URL.",
        &[
            "read:users:name",
            "read:users:groups",
            "read:users:activity",
        ],
    ),
    def(
        "read:users:name",
        "Read user names (with the admin and user_info fields).",
        &[],
    ),
    def("read:users:groups", "Read users' group membership.", &[]),
    def("read:users:activity", "Read users' last_activity.", &[]),
    def(
        "read:roles",
        "Role assignments.",
        &[
            "read:roles:users",
            "read:roles:services",
            "read:roles:groups",
        ],
    ),
    def("read:roles:users", "The roles field of user models.", &[]),
    def(
        "read:roles:services",
        "The roles field of service models.",
        &[],
    ),
    def("read:roles:groups", "The roles field of group models.", &[]),
    def("users:activity", "POST activity.", &["read:users:activity"]),
    def(
        "admin:servers",
        "Everything on servers incl. state.",
        &["admin:server_state", "servers"],
    ),
    def("admin:server_state", "Read/write spawner state.", &[]),
    def(
        "servers",
        "Start/stop servers.",
        &["read:servers", "start:servers", "delete:servers"],
    ),
    def(
        "read:servers",
        "Server models (no state).",
        &["read:users:name"],
    ),
    def("start:servers", "Start/create/edit servers.", &[]),
    def("delete:servers", "Stop/remove servers.", &[]),
    def("tokens", "Create/read/delete tokens.", &["read:tokens"]),
    def("read:tokens", "Read tokens.", &[]),
    def(
        "admin:groups",
        "Create/delete/modify groups.",
        &["groups", "read:roles:groups", "delete:groups"],
    ),
    def(
        "groups",
        "Modify membership/properties.",
        &["read:groups", "list:groups"],
    ),
    def("list:groups", "List groups.", &["read:groups:name"]),
    def("read:groups", "Group models.", &["read:groups:name"]),
    def("read:groups:name", "Group names.", &[]),
    def("delete:groups", "Delete groups.", &[]),
    def(
        "admin:services",
        "Runtime create/delete services.",
        &["list:services", "read:services", "read:roles:services"],
    ),
    def("list:services", "List services.", &["read:services:name"]),
    def("read:services", "Service models.", &["read:services:name"]),
    def("read:services:name", "Service names.", &[]),
    def("read:hub", "GET /info.", &[]),
    def(
        "access:servers",
        "Use a single-user server (browser or API).",
        &[],
    ),
    def("access:services", "Use a service.", &[]),
    def(
        "users:shares",
        "Read/revoke a user's received shares.",
        &["read:users:shares"],
    ),
    def("read:users:shares", "Read a user's received shares.", &[]),
    def(
        "groups:shares",
        "Read/revoke a group's received shares.",
        &["read:groups:shares"],
    ),
    def("read:groups:shares", "Read a group's received shares.", &[]),
    def("read:shares", "Read shares of servers (owner side).", &[]),
    def(
        "shares",
        "Manage shares of servers.",
        &[
            "access:servers",
            "read:shares",
            "users:shares",
            "groups:shares",
        ],
    ),
    def("proxy", "/proxy endpoints.", &[]),
    def("shutdown", "POST /shutdown.", &[]),
    def("read:metrics", "/hub/metrics.", &[]),
];

/// What `self` stands for (§3); each is fully expanded and filtered `!user=<owner>`.
const SELF_SCOPES: &[&str] = &[
    "read:users",
    "users:shares",
    "read:shares",
    "users:activity",
    "servers",
    "tokens",
    "access:servers",
];

/// The identify scopes in owner-filter form, as an OAuth request carries them (§3).
pub const RAW_IDENTIFY_SCOPES: [&str; 2] = ["read:users:name!user", "read:users:groups!user"];

fn builtin(name: &str) -> Option<&'static ScopeDef> {
    SCOPES.iter().find(|d| d.name == name)
}

/// A scope defined in `JupyterHub.custom_scopes` (§7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomScope {
    /// Shown on the OAuth consent page.
    pub description: String,
    /// Direct subscopes, all custom scopes of the same definition.
    pub subscopes: Vec<String>,
}

/// The scopes that exist: the built-in table plus the configured custom scopes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Vocabulary {
    custom: BTreeMap<String, CustomScope>,
}

/// Why a scope or a scope definition was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    /// The base scope is neither built in nor custom.
    #[error("Scope '{0}' does not exist")]
    Unknown(String),
    /// The pre-2.0 draft name `all`.
    #[error("Draft scope 'all' is now called 'inherit'")]
    LegacyAll,
    /// The text after `!` is none of the filter forms of §2.
    #[error("Scope filter '!{filter}' in scope '{scope}' does not exist")]
    BadFilter {
        /// The whole scope.
        scope: String,
        /// The text after `!`.
        filter: String,
    },
    /// `!user=` (or another kind) with nothing after `=`, or a bare trailing `!`.
    #[error("Empty string is not a valid filter: {0}")]
    EmptyFilter(String),
    /// An owner filter (`!user`) where only resolved filters are allowed.
    #[error("Unexpanded scope filter {0} not allowed. Use expanded scopes.")]
    Unexpanded(String),
    /// A custom scope name that does not match `^custom:[a-z0-9][a-z0-9_\-\*:]+[a-z0-9_\*]$`.
    #[error(
        "Invalid scope name: '{0}'. Custom scopes must start with `custom:` and contain only \
         lowercase ascii letters, numbers, hyphen, underscore, colon, and asterisk (-_:*). The \
         part after `custom:` must start with a letter or number. Scopes may not end with a \
         hyphen or colon."
    )]
    InvalidCustomName(String),
    /// A custom scope named like a built-in one.
    #[error("Cannot redefine scope {0}")]
    Redefined(String),
    /// A custom scope definition that is not an object with a string `description`.
    #[error("scope {0} missing key 'description' (a string)")]
    MissingDescription(String),
    /// `subscopes` that is not a list of strings.
    #[error("subscopes of {0} must be a list of scope strings")]
    BadSubscopes(String),
    /// A built-in scope listed as a custom scope's subscope.
    #[error(
        "non-custom subscope {subscope} in {scope} is not allowed. Custom scopes may only have \
         custom subscopes. Roles should be used to assign multiple scopes together."
    )]
    NonCustomSubscope {
        /// The custom scope being defined.
        scope: String,
        /// The offending subscope.
        subscope: String,
    },
    /// A subscope that the same definition does not define.
    #[error("subscope {subscope} in {scope} not found. All scopes must be defined.")]
    UnknownSubscope {
        /// The custom scope being defined.
        scope: String,
        /// The missing subscope.
        subscope: String,
    },
}

/// `^custom:[a-z0-9][a-z0-9_\-\*:]+[a-z0-9_\*]$`, matched by hand.
fn is_custom_scope_name(name: &str) -> bool {
    let Some(rest) = name.strip_prefix("custom:") else {
        return false;
    };
    let Some((&first, tail)) = rest.as_bytes().split_first() else {
        return false;
    };
    let Some((&last, middle)) = tail.split_last() else {
        return false;
    };
    let lower_alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    lower_alnum(first)
        && !middle.is_empty()
        && middle
            .iter()
            .all(|&c| lower_alnum(c) || matches!(c, b'_' | b'-' | b'*' | b':'))
        && (lower_alnum(last) || matches!(last, b'_' | b'*'))
}

impl Vocabulary {
    /// The built-in scopes only.
    pub fn builtin() -> Self {
        Self::default()
    }

    /// Built-ins plus `JupyterHub.custom_scopes` (a JSON object of definitions), checked as §7
    /// says. Returns the vocabulary and warnings for ignored keys.
    pub fn with_custom_scopes(
        defs: &Map<String, Value>,
    ) -> Result<(Self, Vec<String>), ScopeError> {
        let mut custom = BTreeMap::new();
        let mut warnings = Vec::new();
        for (name, definition) in defs {
            if builtin(name).is_some() {
                return Err(ScopeError::Redefined(name.clone()));
            }
            if !is_custom_scope_name(name) {
                return Err(ScopeError::InvalidCustomName(name.clone()));
            }
            let Some(fields) = definition.as_object() else {
                return Err(ScopeError::MissingDescription(name.clone()));
            };
            let Some(description) = fields.get("description").and_then(Value::as_str) else {
                return Err(ScopeError::MissingDescription(name.clone()));
            };
            let mut subscopes = Vec::new();
            if let Some(list) = fields.get("subscopes") {
                let items = list
                    .as_array()
                    .ok_or_else(|| ScopeError::BadSubscopes(name.clone()))?;
                for item in items {
                    let sub = item
                        .as_str()
                        .ok_or_else(|| ScopeError::BadSubscopes(name.clone()))?;
                    if !defs.contains_key(sub) {
                        let (scope, subscope) = (name.clone(), sub.to_owned());
                        return Err(if builtin(sub).is_some() {
                            ScopeError::NonCustomSubscope { scope, subscope }
                        } else {
                            ScopeError::UnknownSubscope { scope, subscope }
                        });
                    }
                    subscopes.push(sub.to_owned());
                }
            }
            let extra: Vec<&str> = fields
                .keys()
                .map(String::as_str)
                .filter(|k| !matches!(*k, "description" | "subscopes"))
                .collect();
            if !extra.is_empty() {
                warnings.push(format!(
                    "Ignoring unrecognized key(s) {} in custom scope {name}",
                    extra.join(", ")
                ));
            }
            let description = description.to_owned();
            custom.insert(
                name.clone(),
                CustomScope {
                    description,
                    subscopes,
                },
            );
        }
        Ok((Self { custom }, warnings))
    }

    /// The description of a base scope, built-in or custom.
    pub fn description(&self, base: &str) -> Option<&str> {
        match builtin(base) {
            Some(d) => Some(d.description),
            None => self.custom.get(base).map(|c| c.description.as_str()),
        }
    }

    fn direct_subscopes(&self, base: &str) -> Option<Vec<&str>> {
        match builtin(base) {
            Some(d) => Some(d.subscopes.to_vec()),
            None => self
                .custom
                .get(base)
                .map(|c| c.subscopes.iter().map(String::as_str).collect()),
        }
    }

    /// A base scope and everything it implies, recursively (sorted, itself included).
    pub fn full_expansion<'a>(&'a self, base: &'a str) -> Result<BTreeSet<&'a str>, ScopeError> {
        let mut seen = BTreeSet::new();
        let mut todo = vec![base];
        while let Some(name) = todo.pop() {
            let subs = self.direct_subscopes(name).ok_or_else(|| unknown(name))?;
            if seen.insert(name) {
                todo.extend(subs);
            }
        }
        Ok(seen)
    }

    /// Parses one raw scope and checks that its base exists (`_check_scopes_exist`).
    pub fn check(&self, scope: &str) -> Result<ScopeSpec, ScopeError> {
        let spec = ScopeSpec::parse(scope)?;
        if self.direct_subscopes(&spec.base).is_none() {
            return Err(unknown(&spec.base));
        }
        Ok(spec)
    }

    /// Expands raw scopes (a role's, a token's, a share's) for their owner (§2, §3).
    ///
    /// Subscopes are added, `self` and the owner filters `!user`, `!service`, `!server` are
    /// resolved from `owner` and the issuing OAuth `client` (unresolvable → dropped, with a
    /// warning), a `!server` filter does not pass to `read:user…` subscopes, and `inherit` is
    /// reported in [`Expansion::inherit`] rather than kept as a scope.
    pub fn expand<S: AsRef<str>>(
        &self,
        scopes: &[S],
        owner: Option<Owner<'_>>,
        client: Option<Client<'_>>,
    ) -> Result<Expansion, ScopeError> {
        let mut out = Expansion::default();
        for raw in scopes {
            let raw = raw.as_ref();
            let spec = self.check(raw)?;
            match (spec.base.as_str(), &spec.filter) {
                ("inherit" | "self", Some(_)) => {
                    out.warnings
                        .push(format!("Not expanding filtered metascope {raw}"));
                }
                ("inherit", None) => out.inherit = true,
                ("self", None) => match owner {
                    Some(Owner::User(name)) => {
                        for base in SELF_SCOPES {
                            for sub in self.full_expansion(base)? {
                                out.scopes.insert(sub, Some((Kind::User, name)));
                            }
                        }
                    }
                    _ => out
                        .warnings
                        .push("Not expanding 'self' scope for an owner which is not a user".into()),
                },
                (base, filter) => {
                    let filter = match filter {
                        None => None,
                        Some(Filter::Named(kind, value)) => Some((*kind, value.clone())),
                        Some(Filter::Owner(kind)) => match resolve_owner(*kind, owner, client) {
                            Some(value) => Some((*kind, value)),
                            None => {
                                out.warnings.push(format!(
                                    "Not expanding !{kind} filter without target {kind} in {raw}"
                                ));
                                continue;
                            }
                        },
                    };
                    for sub in self.full_expansion(base)? {
                        match &filter {
                            // a !server filter does not reach the user's model (scopes.md §2)
                            Some((Kind::Server, _)) if sub.starts_with("read:user") => {}
                            Some((kind, value)) => out.scopes.insert(sub, Some((*kind, value))),
                            None => out.scopes.insert(sub, None),
                        }
                    }
                }
            }
        }
        Ok(out)
    }

    /// A token's effective scopes (§5): its expanded scopes ∪ the issuing client's access scope
    /// ∪ the owner's identify scopes, intersected with `owner_scopes`; `inherit` short-circuits
    /// to `owner_scopes`.
    pub fn token_scopes<S: AsRef<str>>(
        &self,
        token: &[S],
        owner: Owner<'_>,
        client: Option<Client<'_>>,
        owner_scopes: &ScopeSet,
        membership: &dyn Membership,
    ) -> Result<TokenScopes, ScopeError> {
        if token.iter().any(|s| s.as_ref() == "inherit") {
            return Ok(TokenScopes {
                scopes: owner_scopes.clone(),
                ..TokenScopes::default()
            });
        }
        let Expansion {
            mut scopes,
            warnings,
            ..
        } = self.expand(token, Some(owner), client)?;
        scopes.extend(&access_scopes(client));
        scopes.extend(&identify_scopes(owner));
        let effective = scopes.intersect(owner_scopes, membership);
        Ok(TokenScopes {
            discarded: scopes.difference(&effective),
            scopes: effective,
            warnings,
        })
    }
}

fn unknown(base: &str) -> ScopeError {
    if base == "all" {
        ScopeError::LegacyAll
    } else {
        ScopeError::Unknown(base.to_owned())
    }
}

fn resolve_owner(
    kind: Kind,
    owner: Option<Owner<'_>>,
    client: Option<Client<'_>>,
) -> Option<String> {
    match (kind, owner, client) {
        (Kind::User, Some(Owner::User(user)), _) => Some(user.to_owned()),
        (Kind::Service, _, Some(Client::Service(service))) => Some(service.to_owned()),
        (Kind::Service, Some(Owner::Service(service)), _) => Some(service.to_owned()),
        (Kind::Server, _, Some(Client::Server { user, server })) => {
            Some(format!("{user}/{server}"))
        }
        _ => None,
    }
}

/// The legacy OAuth scope `identify` is silently dropped from OAuth requests (§1); the rest
/// is returned for checking.
pub fn without_identify<S: AsRef<str>>(requested: &[S]) -> Vec<&str> {
    requested
        .iter()
        .map(AsRef::as_ref)
        .filter(|s| *s != "identify")
        .collect()
}

// ---------------------------------------------------------------------------------------------
// One scope string (§2)
// ---------------------------------------------------------------------------------------------

/// The kind of resource a filter names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// `!user=<name>`: the user, their tokens and all their servers.
    User,
    /// `!server=<user>/<server>` (`alice/` is the default server).
    Server,
    /// `!group=<name>`: the group and its members.
    Group,
    /// `!service=<name>`.
    Service,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::User => "user",
            Kind::Server => "server",
            Kind::Group => "group",
            Kind::Service => "service",
        })
    }
}

/// The part after `!`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Filter {
    /// `!kind=value`, value non-empty.
    Named(Kind, String),
    /// `!user`, `!server`, `!service`: resolved from the owner at expansion (never `Group`).
    Owner(Kind),
}

/// One parsed scope string `base[!filter]` (syntax only; [`Vocabulary::check`] also checks
/// that the base exists).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ScopeSpec {
    /// The base scope.
    pub base: String,
    /// The filter, if any.
    pub filter: Option<Filter>,
}

impl ScopeSpec {
    /// Parses `base`, `base!user=x`, `base!server=u/s`, `base!group=g`, `base!service=s`,
    /// or the owner forms `base!user`, `base!server`, `base!service`.
    pub fn parse(scope: &str) -> Result<Self, ScopeError> {
        let Some((base, filter)) = scope.split_once('!') else {
            return Ok(Self {
                base: scope.to_owned(),
                filter: None,
            });
        };
        let kind_of = |k: &str| match k {
            "user" => Some(Kind::User),
            "server" => Some(Kind::Server),
            "group" => Some(Kind::Group),
            "service" => Some(Kind::Service),
            _ => None,
        };
        if filter.is_empty() {
            return Err(ScopeError::EmptyFilter(scope.to_owned()));
        }
        let filter = match filter.split_once('=') {
            None => match kind_of(filter) {
                Some(kind) if kind != Kind::Group => Filter::Owner(kind),
                _ => return Err(bad_filter(scope, filter)),
            },
            Some((kind, value)) => {
                let kind = kind_of(kind).ok_or_else(|| bad_filter(scope, filter))?;
                if value.is_empty() {
                    return Err(ScopeError::EmptyFilter(scope.to_owned()));
                }
                Filter::Named(kind, value.to_owned())
            }
        };
        Ok(Self {
            base: base.to_owned(),
            filter: Some(filter),
        })
    }
}

fn bad_filter(scope: &str, filter: &str) -> ScopeError {
    ScopeError::BadFilter {
        scope: scope.to_owned(),
        filter: filter.to_owned(),
    }
}

impl fmt::Display for ScopeSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.base)?;
        match &self.filter {
            None => Ok(()),
            Some(Filter::Named(kind, value)) => write!(f, "!{kind}={value}"),
            Some(Filter::Owner(kind)) => write!(f, "!{kind}"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Expanded, reduced sets (§2 parse_scopes / reduce_scopes)
// ---------------------------------------------------------------------------------------------

/// Who holds the scopes being expanded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner<'a> {
    /// A user, by name.
    User(&'a str),
    /// A service, by name.
    Service(&'a str),
}

/// The OAuth client that issued a token, when it is a server's or a service's (not the hub's
/// own `jupyterhub` client).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Client<'a> {
    /// A single-user server's client.
    Server {
        /// The server's owner.
        user: &'a str,
        /// The server's name (`""` for the default server).
        server: &'a str,
    },
    /// A service's client.
    Service(&'a str),
}

/// The result of [`Vocabulary::expand`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expansion {
    /// The expanded, reduced scopes (without `inherit`).
    pub scopes: ScopeSet,
    /// Whether `inherit` was among the raw scopes.
    pub inherit: bool,
    /// What was dropped and why (unresolvable owner filters, `self` for a non-user).
    pub warnings: Vec<String>,
}

/// The result of [`Vocabulary::token_scopes`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenScopes {
    /// The effective scopes of the token.
    pub scopes: ScopeSet,
    /// Expanded token scopes the owner does not hold (logged as a warning, not an error).
    pub discarded: Vec<String>,
    /// Expansion warnings.
    pub warnings: Vec<String>,
}

/// What one base scope grants: everything, or the resources named by filters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grant {
    /// Unfiltered: every resource.
    All,
    /// Filtered: only these resources (never all empty).
    Only(Filters),
}

/// The names a filtered grant covers, per kind (servers as `user/server`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters {
    users: BTreeSet<String>,
    servers: BTreeSet<String>,
    groups: BTreeSet<String>,
    services: BTreeSet<String>,
}

impl Filters {
    /// The names of one kind.
    pub fn names(&self, kind: Kind) -> &BTreeSet<String> {
        match kind {
            Kind::User => &self.users,
            Kind::Server => &self.servers,
            Kind::Group => &self.groups,
            Kind::Service => &self.services,
        }
    }

    fn names_mut(&mut self, kind: Kind) -> &mut BTreeSet<String> {
        match kind {
            Kind::User => &mut self.users,
            Kind::Server => &mut self.servers,
            Kind::Group => &mut self.groups,
            Kind::Service => &mut self.services,
        }
    }

    fn is_empty(&self) -> bool {
        KINDS.iter().all(|&k| self.names(k).is_empty())
    }
}

const KINDS: [Kind; 4] = [Kind::User, Kind::Server, Kind::Group, Kind::Service];

/// Group membership, looked up while checking or intersecting `!group=` filters.
pub trait Membership {
    /// Whether `user` is a member of `group`.
    fn user_in_group(&self, user: &str, group: &str) -> bool;
}

impl<F: Fn(&str, &str) -> bool> Membership for F {
    fn user_in_group(&self, user: &str, group: &str) -> bool {
        self(user, group)
    }
}

/// The resource a request's URL names (`hub-api.md` §1): the filter a check must satisfy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource<'a> {
    /// No resource in the URL (e.g. `GET /info`, list endpoints).
    Global,
    /// `user_name`.
    User(&'a str),
    /// `user_name` + `server_name` (`""` for the default server).
    Server {
        /// The server's owner.
        user: &'a str,
        /// The server's name.
        server: &'a str,
    },
    /// `group_name`.
    Group(&'a str),
    /// `service_name`.
    Service(&'a str),
}

/// The outcome of an access check (`hub-api.md` §1 "Authorization outcome codes").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// One of the required scopes covers the resource.
    Allowed,
    /// A required scope is held, but only for other resources: 404, so existence is not
    /// revealed.
    NotFound,
    /// No required scope is held at all: 403.
    Forbidden,
}

/// A set of expanded scopes, reduced: base → [`Grant`]. An unfiltered scope absorbs the
/// filtered ones of the same base.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScopeSet {
    /// Shared between clones (every request clones its identity's scopes): copied on the
    /// first write to a clone.
    grants: std::sync::Arc<BTreeMap<String, Grant>>,
}

fn server_owner(server: &str) -> &str {
    server.split_once('/').map_or(server, |(user, _)| user)
}

impl ScopeSet {
    /// The empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses already expanded scopes (e.g. stored share scopes); owner filters are refused.
    /// Does not check that the bases exist.
    pub fn parse_expanded<S: AsRef<str>>(scopes: &[S]) -> Result<Self, ScopeError> {
        let mut set = Self::new();
        for raw in scopes {
            let raw = raw.as_ref();
            match ScopeSpec::parse(raw)? {
                ScopeSpec { base, filter: None } => set.insert(&base, None),
                ScopeSpec {
                    base,
                    filter: Some(Filter::Named(kind, value)),
                } => set.insert(&base, Some((kind, &value))),
                ScopeSpec {
                    filter: Some(Filter::Owner(_)),
                    ..
                } => return Err(ScopeError::Unexpanded(raw.to_owned())),
            }
        }
        Ok(set)
    }

    /// Adds `base` (unfiltered) or `base!kind=value`; an unfiltered grant absorbs filtered ones.
    pub fn insert(&mut self, base: &str, filter: Option<(Kind, &str)>) {
        // Already held: nothing to write, and a shared set stays shared.
        let held = match (self.grants.get(base), filter) {
            (Some(Grant::All), _) => true,
            (Some(Grant::Only(f)), Some((kind, value))) => f.names(kind).contains(value),
            _ => false,
        };
        if held {
            return;
        }
        match filter {
            None => {
                std::sync::Arc::make_mut(&mut self.grants).insert(base.to_owned(), Grant::All);
            }
            Some((kind, value)) => {
                let grant = std::sync::Arc::make_mut(&mut self.grants)
                    .entry(base.to_owned())
                    .or_insert_with(|| Grant::Only(Filters::default()));
                if let Grant::Only(filters) = grant {
                    filters.names_mut(kind).insert(value.to_owned());
                }
            }
        }
    }

    /// Adds every scope of `other`.
    pub fn extend(&mut self, other: &ScopeSet) {
        for (base, grant) in other.grants.iter() {
            match grant {
                Grant::All => self.insert(base, None),
                Grant::Only(filters) => {
                    for kind in KINDS {
                        for value in filters.names(kind) {
                            self.insert(base, Some((kind, value)));
                        }
                    }
                }
            }
        }
    }

    /// What `base` grants, if held at all.
    pub fn grant(&self, base: &str) -> Option<&Grant> {
        self.grants.get(base)
    }

    /// Whether no scope is held.
    pub fn is_empty(&self) -> bool {
        self.grants.is_empty()
    }

    /// The scopes as sorted strings (`base` or `base!kind=value`).
    pub fn to_strings(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (base, grant) in self.grants.iter() {
            match grant {
                Grant::All => out.push(base.clone()),
                Grant::Only(filters) => {
                    for kind in KINDS {
                        for value in filters.names(kind) {
                            out.push(format!("{base}!{kind}={value}"));
                        }
                    }
                }
            }
        }
        out.sort();
        out
    }

    /// The scope strings of `self` that are not, as strings, in `other` (sorted).
    pub fn difference(&self, other: &ScopeSet) -> Vec<String> {
        let theirs: BTreeSet<String> = other.to_strings().into_iter().collect();
        self.to_strings()
            .into_iter()
            .filter(|s| !theirs.contains(s))
            .collect()
    }

    /// The intersection of two sets per base and per filter (§5), resolving server ⊂ user and
    /// user/server ∈ group in both directions.
    pub fn intersect(&self, other: &ScopeSet, membership: &dyn Membership) -> ScopeSet {
        let mut grants = BTreeMap::new();
        for (base, mine) in self.grants.iter() {
            let Some(theirs) = other.grants.get(base) else {
                continue;
            };
            let grant = match (mine, theirs) {
                (Grant::All, grant) | (grant, Grant::All) => grant.clone(),
                (Grant::Only(a), Grant::Only(b)) => match intersect_filters(a, b, membership) {
                    Some(filters) => Grant::Only(filters),
                    None => continue,
                },
            };
            grants.insert(base.clone(), grant);
        }
        ScopeSet {
            grants: std::sync::Arc::new(grants),
        }
    }

    /// Whether `base` is held for `resource` (`has_scope` / `check_scope_filter`): unfiltered,
    /// or an exact filter match, or the server's user, or a group the user (or the server's
    /// user) is in. For [`Resource::Global`] only an unfiltered grant counts.
    pub fn permits(
        &self,
        base: &str,
        resource: &Resource<'_>,
        membership: &dyn Membership,
    ) -> bool {
        let filters = match self.grants.get(base) {
            None => return false,
            Some(Grant::All) => return true,
            Some(Grant::Only(filters)) => filters,
        };
        let in_group = |user: &str| {
            filters
                .groups
                .iter()
                .any(|group| membership.user_in_group(user, group))
        };
        match *resource {
            Resource::Global => false,
            Resource::User(user) => filters.users.contains(user) || in_group(user),
            Resource::Server { user, server } => {
                filters.servers.contains(&format!("{user}/{server}"))
                    || filters.users.contains(user)
                    || in_group(user)
            }
            Resource::Group(group) => filters.groups.contains(group),
            Resource::Service(service) => filters.services.contains(service),
        }
    }

    /// Whether checking `required` can depend on group membership (one of them is held only
    /// with `!group=` filters among others): otherwise a check needs no membership lookup.
    pub fn needs_membership(&self, required: &[&str]) -> bool {
        required.iter().any(
            |base| matches!(self.grants.get(*base), Some(Grant::Only(f)) if !f.groups.is_empty()),
        )
    }

    /// The access check of `needs_scope(required…)` for the resource the URL names: any one
    /// required scope suffices; failing that, holding one only for other resources is
    /// [`Access::NotFound`], holding none is [`Access::Forbidden`].
    pub fn check(
        &self,
        required: &[&str],
        resource: &Resource<'_>,
        membership: &dyn Membership,
    ) -> Access {
        if required
            .iter()
            .any(|base| self.permits(base, resource, membership))
        {
            Access::Allowed
        } else if *resource != Resource::Global
            && required.iter().any(|base| self.grants.contains_key(*base))
        {
            Access::NotFound
        } else {
            Access::Forbidden
        }
    }

    /// The check of a list endpoint (`post_filter=True`): any grant of a required scope, even
    /// filtered, lets the request in; each item is then kept if [`ScopeSet::permits`] it.
    pub fn check_listing(&self, required: &[&str]) -> Access {
        if required.iter().any(|base| self.grants.contains_key(*base)) {
            Access::Allowed
        } else {
            Access::Forbidden
        }
    }
}

fn intersect_filters(a: &Filters, b: &Filters, membership: &dyn Membership) -> Option<Filters> {
    let mut common = Filters::default();
    for kind in KINDS {
        let both = a.names(kind).intersection(b.names(kind)).cloned();
        common.names_mut(kind).extend(both);
    }
    let in_any = |user: &str, groups: &BTreeSet<String>| {
        groups
            .iter()
            .any(|group| membership.user_in_group(user, group))
    };
    for (x, y) in [(a, b), (b, a)] {
        // servers of one side covered by the other side's users or groups
        if !x.servers.is_empty() && x.servers != y.servers {
            for server in &x.servers {
                let user = server_owner(server);
                if !common.servers.contains(server)
                    && (y.users.contains(user) || in_any(user, &y.groups))
                {
                    common.servers.insert(server.clone());
                }
            }
        }
        // users of one side covered by the other side's groups
        if !x.users.is_empty() && !y.groups.is_empty() && x.users != y.users {
            for user in &x.users {
                if !common.users.contains(user) && in_any(user, &y.groups) {
                    common.users.insert(user.clone());
                }
            }
        }
    }
    (!common.is_empty()).then_some(common)
}

/// The identify scopes of an owner (§3): what any of its tokens may always read about it.
pub fn identify_scopes(owner: Owner<'_>) -> ScopeSet {
    let mut set = ScopeSet::new();
    match owner {
        Owner::User(user) => {
            set.insert("read:users:name", Some((Kind::User, user)));
            set.insert("read:users:groups", Some((Kind::User, user)));
        }
        Owner::Service(service) => set.insert("read:services:name", Some((Kind::Service, service))),
    }
    set
}

/// The access scope of an OAuth client (§3): using the server or service that issued the
/// token. `None` (the hub's own `jupyterhub` client) has none.
pub fn access_scopes(client: Option<Client<'_>>) -> ScopeSet {
    let mut set = ScopeSet::new();
    match client {
        Some(Client::Server { user, server }) => {
            set.insert(
                "access:servers",
                Some((Kind::Server, &format!("{user}/{server}"))),
            );
        }
        Some(Client::Service(service)) => {
            set.insert("access:services", Some((Kind::Service, service)))
        }
        None => {}
    }
    set
}

// ---------------------------------------------------------------------------------------------
// Default roles (§4)
// ---------------------------------------------------------------------------------------------

/// A role the hub always defines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DefaultRole {
    /// The role's name.
    pub name: &'static str,
    /// One line on what the role is for (oxhub's own wording).
    pub description: &'static str,
    /// Its raw scopes.
    pub scopes: &'static [&'static str],
}

/// `roles.get_default_roles()`: `user`, `admin`, `server`, `token`. They cannot be deleted and
/// `admin` cannot be redefined.
pub static DEFAULT_ROLES: &[DefaultRole] = &[
    DefaultRole {
        name: "user",
        description: "The resources of the user themselves",
        scopes: &["self"],
    },
    DefaultRole {
        name: "admin",
        description: "Administration of the whole hub",
        scopes: &[
            "admin-ui",
            "admin:users",
            "admin:servers",
            "admin:services",
            "tokens",
            "admin:groups",
            "list:services",
            "read:services",
            "read:hub",
            "proxy",
            "shutdown",
            "access:services",
            "access:servers",
            "read:roles",
            "read:metrics",
            "shares",
        ],
    },
    DefaultRole {
        name: "server",
        description: "What a single-user server needs: post activity, be accessed",
        scopes: &["users:activity!user", "access:servers!server"],
    },
    DefaultRole {
        name: "token",
        description: "Everything the token's owner may do",
        scopes: &["inherit"],
    },
];

/// The default role of that name, if it is one.
pub fn default_role(name: &str) -> Option<&'static DefaultRole> {
    DEFAULT_ROLES.iter().find(|r| r.name == name)
}

#[cfg(test)]
mod tests;
