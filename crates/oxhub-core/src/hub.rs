//! The hub: the store, the validated configuration and the scope vocabulary, and the operations
//! the REST API exposes. Every mutating operation takes the caller's [`Identity`] and checks
//! the scopes itself, so no handler can skip a check.

use crate::clock::now_ms;
use crate::error::{clip, HubError};
use crate::identity::{Groups, Identity, Subject};
use crate::progress::Spawns;
use crate::tokens::{self, LOGIN_CLIENT};
use oxhub_config::HubConfig;
use oxhub_model::names::UserName;
use oxhub_model::scope::{Owner, Resource, ScopeSet, Vocabulary};
use oxhub_plugin::auth::Authenticator;
use oxhub_plugin::proxy::Proxy;
use oxhub_plugin::spawn::Spawner;
use oxhub_store::{Owner as TokenOwner, Store, UserQuery, UserRow};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

/// The plug-ins and the outside facts a hub is built with; the binary assembles them (it
/// picks implementations by class name and reads the process environment), tests inject
/// their own.
pub struct Parts {
    pub authenticator: Box<dyn Authenticator>,
    pub spawner: Arc<dyn Spawner>,
    pub proxy: Option<Box<dyn Proxy>>,
    /// The hub process's environment: `JUPYTERHUB_CRYPT_KEY`, `JPY_COOKIE_SECRET`, and the
    /// variables `Spawner.env_keep` passes on.
    pub environment: BTreeMap<String, String>,
}

pub struct Hub {
    pub store: Store,
    pub config: Arc<HubConfig>,
    pub vocab: Vocabulary,
    /// `auth_state` encryption (JUPYTERHUB_CRYPT_KEY).
    pub crypt: crate::crypto::CryptKeeper,
    /// The proxy the hub routes through, when one is configured.
    pub proxy: Option<Box<dyn Proxy>>,
    /// The URL the hub's HTTP server is reachable at (set once it listens).
    pub hub_url: std::sync::OnceLock<String>,
    /// Asked to shut down (`POST /shutdown`); the server watches this.
    pub shutdown: tokio::sync::watch::Sender<bool>,
    /// Resolved tokens, valid while the store's generation is unchanged (no role, group,
    /// membership, share or token was written since), so a request with a known token costs
    /// no query and no scope expansion.
    identities: Mutex<HashMap<String, CachedIdentity>>,
    /// Signs cookies (cookie_secret).
    pub cookies: crate::cookies::CookieSigner,
    pub(crate) authenticator: Box<dyn Authenticator>,
    pub(crate) spawner: Arc<dyn Spawner>,
    /// The hub process's environment, as the binary read it (what `env_keep` passes on).
    pub(crate) environment: BTreeMap<String, String>,
    /// Spawns in flight or finished since start-up, with their progress.
    pub(crate) spawns: Spawns,
    /// HTTP client for talking to servers (readiness checks).
    pub(crate) http: HttpClient,
}

pub(crate) type HttpClient = hyper_util::client::legacy::Client<
    hyper_util::client::legacy::connect::HttpConnector,
    http_body_util::Empty<bytes::Bytes>,
>;

struct CachedIdentity {
    generation: u64,
    identity: Identity,
    expires_at: Option<i64>,
    token_touched: Option<i64>,
    /// `None` when this token's use does not count as its user's activity.
    user_touched: Option<Option<i64>>,
}

/// Past this many cached tokens the cache starts over (a bound, not an LRU: steady-state hubs
/// use far fewer live tokens).
const IDENTITY_CACHE_MAX: usize = 20_000;

/// A PATCH of a user, as parsed from the request.
#[derive(Debug, Default, Clone)]
pub struct UserChanges {
    pub new_name: Option<String>,
    pub admin: Option<bool>,
    pub groups: Option<Vec<String>>,
    pub roles: Option<Vec<String>>,
    /// `Some(Null)` clears it.
    pub auth_state: Option<serde_json::Value>,
}

/// A new random secret (token, code, nonce, cookie id).
pub(crate) fn new_secret() -> Result<String, HubError> {
    tokens::generate().map_err(|e| HubError::Internal(format!("randomness: {e}")))
}

/// The roles that grant `admin=True` (scopes.md §4: kept in sync with the flag).
pub const ADMIN_ROLE: &str = "admin";
pub const USER_ROLE: &str = "user";

impl Hub {
    /// A hub on `store` with the given plug-ins: builds the scope vocabulary (custom scopes),
    /// the `auth_state` keys and the cookie secret.
    pub fn new(config: HubConfig, store: Store, parts: Parts) -> Result<Hub, HubError> {
        let custom = match &config.hub.custom_scopes {
            oxhub_config::Value::Dict(_) => config.hub.custom_scopes.to_json(),
            _ => serde_json::Value::Object(serde_json::Map::new()),
        };
        let custom = custom.as_object().cloned().unwrap_or_default();
        let (vocab, warnings) = Vocabulary::with_custom_scopes(&custom)
            .map_err(|e| HubError::Invalid(format!("JupyterHub.custom_scopes: {e}")))?;
        for w in warnings {
            tracing::warn!("custom_scopes: {w}");
        }
        // CryptKeeper.keys, else JUPYTERHUB_CRYPT_KEY (`;`-separated), as JupyterHub reads them.
        let keys: Vec<String> = if config.crypt_keys.is_empty() {
            parts
                .environment
                .get("JUPYTERHUB_CRYPT_KEY")
                .map(String::as_str)
                .unwrap_or_default()
                .split(';')
                .map(str::to_owned)
                .collect()
        } else {
            config.crypt_keys.clone()
        };
        let crypt =
            crate::crypto::CryptKeeper::new(&keys).map_err(|e| HubError::Invalid(e.to_string()))?;
        let env_secret = parts
            .environment
            .get("JPY_COOKIE_SECRET")
            .map(String::as_str);
        let (cookies, source) = crate::cookies::CookieSigner::load(&config, env_secret)?;
        match source {
            crate::cookies::SecretSource::Generated(file) => {
                tracing::info!("Wrote a new cookie secret to {file}");
            }
            crate::cookies::SecretSource::File(file) => {
                tracing::debug!("Cookie secret from {file}");
            }
            _ => {}
        }
        let http =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .pool_idle_timeout(std::time::Duration::from_secs(30))
                .build_http();
        Ok(Hub {
            store,
            config: Arc::new(config),
            vocab,
            crypt,
            proxy: parts.proxy,
            hub_url: std::sync::OnceLock::new(),
            shutdown: tokio::sync::watch::channel(false).0,
            identities: Mutex::new(HashMap::new()),
            cookies,
            authenticator: parts.authenticator,
            spawner: parts.spawner,
            environment: parts.environment,
            spawns: Mutex::new(HashMap::new()),
            http,
        })
    }

    /// The configured authenticator's login flow (which login page to show).
    pub fn login_flow(&self) -> oxhub_plugin::auth::LoginFlow {
        self.authenticator.flow()
    }

    /// The class of the authenticator and the spawner in use, for logs and pages.
    pub fn plugin_classes(&self) -> (&str, &str) {
        (self.authenticator.class(), self.spawner.class())
    }

    /// The expanded scopes an owner holds through its roles (a user's include their groups').
    pub async fn owner_scopes(&self, owner: Owner<'_>) -> Result<ScopeSet, HubError> {
        let roles = match owner {
            Owner::User(name) => self.store.user_roles(name).await?,
            Owner::Service(name) => {
                self.store
                    .member_roles(oxhub_store::MemberKind::Service, name)
                    .await?
            }
        };
        let mut raw: Vec<String> = Vec::new();
        for role in roles {
            raw.extend(role.scopes);
        }
        // Shares add access to other users' servers (scopes.md §5).
        if let Owner::User(name) = owner {
            raw.extend(self.store.share_scopes_of_user(name).await?);
        }
        let expansion = self
            .vocab
            .expand(&raw, Some(owner), None)
            .map_err(|e| HubError::Internal(format!("role scopes: {e}")))?;
        Ok(expansion.scopes)
    }

    /// Group memberships of these users, for scope checks that name groups (one query).
    pub async fn groups_of(&self, users: &[&str]) -> Result<Groups, HubError> {
        let map = self.store.groups_of_users(users).await?;
        Ok(Groups(
            map.into_iter()
                .map(|(u, g)| (u, g.into_iter().collect::<BTreeSet<_>>()))
                .collect(),
        ))
    }

    /// Resolve an API token to an identity; `None` for unknown, expired or over-long tokens.
    pub async fn authenticate(&self, token: &str) -> Result<Option<Identity>, HubError> {
        if token.is_empty() || token.len() > tokens::MAX_LEN {
            return Ok(None);
        }
        let now = now_ms();
        let hash = tokens::hash(token);
        let generation = self.store.generation();
        let cached = self.cached_identity(&hash, generation, now);
        let (identity, touch_token, touch_user) = match cached {
            Some(hit) => hit,
            None => match self.resolve_token(token, &hash, generation, now).await? {
                Some(found) => found,
                None => return Ok(None),
            },
        };
        if let Some(id) = touch_token {
            self.store.touch_token(id, now).await?;
        }
        if let Some(user) = touch_user {
            self.store.touch_user(&user, now).await?;
        }
        Ok(Some(identity))
    }

    /// The cached identity of a token hash if still valid, with the activity writes due now
    /// (throttled by `activity_resolution`), recorded in the cache as done.
    #[allow(clippy::type_complexity)]
    fn cached_identity(
        &self,
        hash: &str,
        generation: u64,
        now: i64,
    ) -> Option<(Identity, Option<i64>, Option<String>)> {
        let resolution = self.config.hub.activity_resolution.max(0) * 1000;
        let mut cache = self.identities.lock().ok()?;
        let entry = cache.get_mut(hash)?;
        if entry.generation != generation || entry.expires_at.is_some_and(|t| t <= now) {
            cache.remove(hash);
            return None;
        }
        let touch_token = match entry.token_touched {
            Some(t) if now - t < resolution => None,
            _ => {
                entry.token_touched = Some(now);
                entry.identity.token_id
            }
        };
        let touch_user = match &mut entry.user_touched {
            Some(Some(t)) if now - *t < resolution => None,
            Some(last) => {
                *last = Some(now);
                Some(entry.identity.subject.name().to_owned())
            }
            None => None,
        };
        Some((entry.identity.clone(), touch_token, touch_user))
    }

    /// Look a token up in the store, compute its effective scopes, and cache the result.
    #[allow(clippy::type_complexity)]
    async fn resolve_token(
        &self,
        token: &str,
        hash: &str,
        generation: u64,
        now: i64,
    ) -> Result<Option<(Identity, Option<i64>, Option<String>)>, HubError> {
        let candidates = self
            .store
            .tokens_by_prefix(tokens::prefix(token), now)
            .await?;
        let Some(row) = candidates
            .into_iter()
            .find(|t| tokens::same_hash(&t.hash, hash))
        else {
            return Ok(None);
        };
        let mut user_activity = None;
        let (subject, owner_name) = match &row.owner {
            TokenOwner::User(name) => match self.store.user(name).await? {
                Some(u) => {
                    user_activity = u.last_activity;
                    (
                        Subject::User {
                            name: u.name.clone(),
                            admin: u.admin,
                        },
                        u.name,
                    )
                }
                None => return Ok(None),
            },
            TokenOwner::Service(name) => match self.store.service(name).await? {
                Some(s) => (
                    Subject::Service {
                        name: s.name.clone(),
                        admin: s.admin,
                    },
                    s.name,
                ),
                None => return Ok(None),
            },
        };
        let owner = match &subject {
            Subject::User { .. } => Owner::User(&owner_name),
            Subject::Service { .. } => Owner::Service(&owner_name),
        };
        let owner_scopes = self.owner_scopes(owner).await?;
        let membership = match owner {
            Owner::User(name) => self.groups_of(&[name]).await?,
            Owner::Service(_) => Groups::default(),
        };
        // An OAuth token carries the access scope of its client's server or service; a token
        // whose client is gone (its server stopped) is no longer valid.
        let link = match row.oauth_client.as_deref() {
            None | Some(LOGIN_CLIENT) => oxhub_store::ClientLink::None,
            Some(client) => match self.store.oauth_client(client).await? {
                Some(c) => c.link,
                None => return Ok(None),
            },
        };
        let client = match &link {
            oxhub_store::ClientLink::None => None,
            oxhub_store::ClientLink::Server { user, server } => {
                Some(oxhub_model::scope::Client::Server { user, server })
            }
            oxhub_store::ClientLink::Service(name) => {
                Some(oxhub_model::scope::Client::Service(name))
            }
        };
        let effective = self
            .vocab
            .token_scopes(&row.scopes, owner, client, &owner_scopes, &membership)
            .map_err(|e| HubError::Internal(format!("token scopes: {e}")))?;
        if !effective.discarded.is_empty() {
            tracing::debug!(
                "token {} lost scopes its owner does not hold: {:?}",
                row.id,
                effective.discarded
            );
        }
        // Activity of the token and its user, throttled by activity_resolution (default 30 s),
        // so reading the API does not write to the database on every request.
        let resolution = self.config.hub.activity_resolution.max(0) * 1000;
        let touch_token = row
            .last_activity
            .is_none_or(|t| now - t >= resolution)
            .then_some(row.id);
        let counts_for_user =
            matches!(subject, Subject::User { .. }) && !row.note.starts_with("Server at ");
        let touch_user = (counts_for_user && user_activity.is_none_or(|t| now - t >= resolution))
            .then(|| owner_name.clone());
        let identity = Identity {
            subject,
            scopes: effective.scopes,
            token_id: Some(row.id),
            session_id: row.session_id,
        };
        if let Ok(mut cache) = self.identities.lock() {
            if cache.len() >= IDENTITY_CACHE_MAX {
                cache.clear();
            }
            cache.insert(
                hash.to_owned(),
                CachedIdentity {
                    generation,
                    identity: identity.clone(),
                    expires_at: row.expires_at,
                    token_touched: if touch_token.is_some() {
                        Some(now)
                    } else {
                        row.last_activity
                    },
                    user_touched: counts_for_user.then(|| {
                        if touch_user.is_some() {
                            Some(now)
                        } else {
                            user_activity
                        }
                    }),
                },
            );
        }
        Ok(Some((identity, touch_token, touch_user)))
    }

    /// Require any of `required` for `resource`; group membership of the resource's user is
    /// loaded when the caller's scopes name groups.
    pub async fn require(
        &self,
        who: &Identity,
        required: &[&str],
        resource: Resource<'_>,
    ) -> Result<(), HubError> {
        let user = match resource {
            Resource::User(u) | Resource::Server { user: u, .. } => Some(u),
            _ => None,
        };
        let membership = match user {
            Some(u) => self.groups_of(&[u]).await?,
            None => Groups::default(),
        };
        HubError::from_access(
            who.scopes.check(required, &resource, &membership),
            required,
            &format!("{resource:?}"),
        )
    }

    /// Mint a token for `owner` with raw `scopes` (default `inherit`); returns the token.
    pub async fn mint_token(
        &self,
        owner: TokenOwner,
        scopes: Vec<String>,
        note: &str,
        expires_in_s: Option<i64>,
    ) -> Result<String, HubError> {
        let scopes = if scopes.is_empty() {
            vec!["inherit".into()]
        } else {
            scopes
        };
        let expires_at = expires_in_s.map(|s| now_ms().saturating_add(s.saturating_mul(1000)));
        self.issue_token(owner, scopes, note, expires_at, None, None)
            .await
    }

    /// Store a new random token exactly as described (only its prefix and hash are kept) and
    /// return it: API tokens, server tokens, login sessions and OAuth tokens all come from here.
    pub(crate) async fn issue_token(
        &self,
        owner: TokenOwner,
        scopes: Vec<String>,
        note: &str,
        expires_at: Option<i64>,
        session_id: Option<String>,
        oauth_client: Option<String>,
    ) -> Result<String, HubError> {
        let token = new_secret()?;
        self.store
            .insert_token(
                &oxhub_store::NewToken {
                    prefix: tokens::prefix(&token).to_owned(),
                    hash: tokens::hash(&token),
                    owner,
                    scopes,
                    note: note.to_owned(),
                    expires_at,
                    session_id,
                    oauth_client,
                },
                now_ms(),
            )
            .await?;
        Ok(token)
    }

    // ---- users ----

    /// A page of users matching the query, with the total.
    pub async fn users_page(&self, query: &UserQuery) -> Result<(Vec<UserRow>, i64), HubError> {
        Ok(self.store.users(query).await?)
    }

    pub async fn user(&self, name: &str) -> Result<Option<UserRow>, HubError> {
        Ok(self.store.user(name).await?)
    }

    /// Create users (existing ones are skipped); every new user gets the `user` role, and the
    /// `admin` role when `admin`. Only an admin may create admins.
    pub async fn create_users(
        &self,
        who: &Identity,
        names: &[String],
        admin: bool,
    ) -> Result<Vec<UserRow>, HubError> {
        // Each name is its own resource: a filtered admin:users that does not cover a name
        // hides it (404), as JupyterHub's needs_scope does.
        for n in names {
            HubError::from_access(
                who.scopes
                    .check(&["admin:users"], &Resource::User(n), &Groups::default()),
                &["admin:users"],
                &format!("user {}", clip(n)),
            )?;
        }
        if admin && !who.subject.is_admin() {
            return Err(HubError::Refused(
                "Only admins can grant admin permissions".into(),
            ));
        }
        let mut valid = Vec::new();
        for n in names {
            let parsed = UserName::parse(n)
                .map_err(|e| HubError::Invalid(format!("Invalid username: {}: {e}", clip(n))))?;
            valid.push(parsed.as_str().to_owned());
        }
        let mut created = Vec::new();
        for name in valid {
            if self.store.user(&name).await?.is_some() {
                continue;
            }
            created.push(self.create_user_unchecked(&name, admin).await?);
        }
        Ok(created)
    }

    /// Create one user (the caller has checked permissions and the name).
    pub async fn create_user_unchecked(
        &self,
        name: &str,
        admin: bool,
    ) -> Result<UserRow, HubError> {
        let cookie_id = crate::hub::new_secret()?;
        let roles: &[&str] = if admin {
            &[USER_ROLE, ADMIN_ROLE]
        } else {
            &[USER_ROLE]
        };
        let row = self
            .store
            .create_user(name, admin, &cookie_id, now_ms(), roles)
            .await?;
        tracing::info!("Created user {name}{}", if admin { " (admin)" } else { "" });
        Ok(row)
    }

    /// Delete a user: their servers are stopped first (routes removed, processes gone), as
    /// JupyterHub does; refused while one of them is pending a spawn or stop.
    pub async fn delete_user(self: &Arc<Self>, who: &Identity, name: &str) -> Result<(), HubError> {
        self.require(who, &["delete:users"], Resource::User(name))
            .await?;
        if let Subject::User { name: me, .. } = &who.subject {
            if me == name {
                return Err(HubError::Invalid("Cannot delete yourself!".into()));
            }
        }
        let target = self
            .store
            .user(name)
            .await?
            .ok_or_else(|| HubError::NotFound(format!("No such user: {name}")))?;
        if target.admin && !who.subject.is_admin() {
            return Err(HubError::Refused("Only admins can modify admins".into()));
        }
        self.stop_all_of_user(name).await?;
        self.store.delete_user(name).await?;
        tracing::info!("Deleted user {name}");
        Ok(())
    }

    // ---- tokens ----

    /// A user token's effective scopes, as the token model shows them.
    pub async fn effective_token_scopes(
        &self,
        user: &str,
        raw: &[String],
    ) -> Result<Vec<String>, HubError> {
        let owner_scopes = self.owner_scopes(Owner::User(user)).await?;
        let membership = self.groups_of(&[user]).await?;
        let effective = self
            .vocab
            .token_scopes(raw, Owner::User(user), None, &owner_scopes, &membership)
            .map_err(|e| HubError::Internal(format!("token scopes: {e}")))?;
        Ok(effective.scopes.to_strings())
    }

    async fn require_user_exists(
        &self,
        who: &Identity,
        required: &[&str],
        user: &str,
    ) -> Result<(), HubError> {
        self.require(who, required, Resource::User(user)).await?;
        if self.store.user(user).await?.is_none() {
            return Err(HubError::NotFound(format!("No such user: {user}")));
        }
        Ok(())
    }

    /// A user's tokens (expired ones are purged first).
    pub async fn user_tokens(
        &self,
        who: &Identity,
        user: &str,
    ) -> Result<Vec<oxhub_store::TokenRow>, HubError> {
        self.require_user_exists(who, &["read:tokens"], user)
            .await?;
        self.store.purge_expired_tokens(now_ms()).await?;
        // Login sessions are the hub's own business, not API tokens the user manages.
        Ok(self
            .store
            .tokens_of(&TokenOwner::User(user.to_owned()))
            .await?
            .into_iter()
            .filter(|t| t.oauth_client.as_deref() != Some(LOGIN_CLIENT))
            .collect())
    }

    pub async fn user_token(
        &self,
        who: &Identity,
        user: &str,
        id: &str,
    ) -> Result<oxhub_store::TokenRow, HubError> {
        let tokens = self.user_tokens(who, user).await?;
        let wanted = id.strip_prefix('a').and_then(|n| n.parse::<i64>().ok());
        tokens
            .into_iter()
            .find(|t| Some(t.id) == wanted)
            .ok_or_else(|| HubError::NotFound(format!("No such token: {id}")))
    }

    pub async fn delete_user_token(
        &self,
        who: &Identity,
        user: &str,
        id: &str,
    ) -> Result<(), HubError> {
        self.require_user_exists(who, &["tokens"], user).await?;
        let token = self.user_token(who, user, id).await?;
        match token.oauth_client.as_deref() {
            // Deleting one OAuth token revokes the user's access through that client.
            Some(client) => {
                self.store.delete_client_tokens(user, client).await?;
            }
            None => self.store.delete_token(token.id).await?,
        }
        Ok(())
    }

    /// `POST /users/{user}/tokens`: scopes (or the scopes of `roles`) must be held by the user.
    pub async fn create_user_token(
        &self,
        who: &Identity,
        user: &str,
        scopes: Option<Vec<String>>,
        roles: Option<Vec<String>>,
        note: Option<String>,
        expires_in: Option<i64>,
    ) -> Result<(String, oxhub_store::TokenRow), HubError> {
        let no_permission = || {
            HubError::Refused(format!(
                "User {user} not found or no permissions to generate tokens"
            ))
        };
        if self
            .require(who, &["tokens"], Resource::User(user))
            .await
            .is_err()
            || self.store.user(user).await?.is_none()
        {
            return Err(no_permission());
        }
        if scopes.is_some() && roles.is_some() {
            return Err(HubError::Invalid(
                "Specify only one of scopes or roles".into(),
            ));
        }
        let raw: Vec<String> = match (scopes, roles) {
            (Some(s), _) => s,
            (None, Some(role_names)) => {
                let all = self.store.roles().await?;
                let mut out = Vec::new();
                for name in role_names {
                    let role = all
                        .iter()
                        .find(|r| r.name == name)
                        .ok_or_else(|| HubError::Invalid(format!("No such role: {name}")))?;
                    out.extend(role.scopes.iter().cloned());
                }
                out
            }
            (None, None) => vec!["inherit".into()],
        };
        for s in &raw {
            self.vocab
                .check(s)
                .map_err(|e| HubError::Invalid(format!("Invalid scope {s:?}: {e}")))?;
        }
        if !raw.iter().any(|s| s == "inherit") {
            let requested = self
                .vocab
                .expand(&raw, Some(Owner::User(user)), None)
                .map_err(|e| HubError::Invalid(e.to_string()))?;
            let owner_scopes = self.owner_scopes(Owner::User(user)).await?;
            let membership = self.groups_of(&[user]).await?;
            let held = requested.scopes.intersect(&owner_scopes, &membership);
            let missing = requested.scopes.difference(&held);
            if !missing.is_empty() {
                return Err(HubError::Invalid(format!(
                    "Not assigning requested scopes {} not held by user {user}",
                    missing.join(", ")
                )));
            }
        }
        let max = self.config.hub.token_expires_in_max_seconds;
        let expires_in = match expires_in {
            Some(s) if s <= 0 => {
                return Err(HubError::Invalid(
                    "expires_in must be a positive number of seconds".into(),
                ))
            }
            Some(s) if s > tokens::MAX_EXPIRES_IN_S => {
                return Err(HubError::Invalid(format!(
                    "expires_in must not exceed {} seconds (100 years)",
                    tokens::MAX_EXPIRES_IN_S
                )))
            }
            Some(s) if max > 0 && s > max => {
                return Err(HubError::Invalid(format!(
                    "expires_in must not exceed {max} seconds"
                )))
            }
            Some(s) => Some(s),
            None if max > 0 => Some(max),
            None => None,
        };
        let note = note.unwrap_or_else(|| {
            let mut n = "Requested via api".to_owned();
            if who.subject.name() != user || matches!(who.subject, Subject::Service { .. }) {
                let kind = if matches!(who.subject, Subject::Service { .. }) {
                    "service"
                } else {
                    "user"
                };
                n.push_str(&format!(" by {kind} {}", who.subject.name()));
            }
            n
        });
        let token = self
            .mint_token(TokenOwner::User(user.to_owned()), raw, &note, expires_in)
            .await?;
        let hash = tokens::hash(&token);
        let row = self
            .store
            .tokens_by_prefix(tokens::prefix(&token), now_ms())
            .await?
            .into_iter()
            .find(|t| t.hash == hash)
            .ok_or_else(|| HubError::Internal("new token not found".into()))?;
        Ok((token, row))
    }

    /// `PATCH /users/{name}`: rename, admin flag, group membership (set exactly). Returns the
    /// user's (possibly new) name.
    /// PATCH a user: everything is checked first, then written in one transaction.
    pub async fn patch_user(
        &self,
        who: &Identity,
        name: &str,
        patch: UserChanges,
    ) -> Result<String, HubError> {
        self.require(who, &["admin:users"], Resource::User(name))
            .await?;
        let target = self
            .store
            .user(name)
            .await?
            .ok_or_else(|| HubError::NotFound(format!("No such user: {name}")))?;
        if !who.subject.is_admin() {
            if target.admin {
                return Err(HubError::Refused(
                    "Only admins can modify other admins".into(),
                ));
            }
            if patch.admin == Some(true) {
                return Err(HubError::Refused(
                    "Only admins can grant admin permissions".into(),
                ));
            }
            if patch.roles.is_some() {
                return Err(HubError::Refused("Only admins can assign roles".into()));
            }
        }
        let mut store_patch = oxhub_store::UserPatch {
            admin: patch.admin,
            groups: patch.groups.clone(),
            roles: patch.roles.clone(),
            ..Default::default()
        };
        if let Some(new) = patch.new_name.as_deref().filter(|n| *n != name) {
            let new = UserName::parse(new)
                .map_err(|e| HubError::Invalid(format!("Invalid username {}: {e}", clip(new))))?;
            if self.store.user(new.as_str()).await?.is_some() {
                return Err(HubError::Invalid(format!(
                    "User {} already exists, username must be unique",
                    new.as_str()
                )));
            }
            store_patch.new_name = Some(new.as_str().to_owned());
        }
        if let Some(groups) = &patch.groups {
            for g in groups {
                if self.store.group(g).await?.is_none() {
                    return Err(HubError::Invalid(format!("No such group: {g}")));
                }
            }
            let current = self
                .groups_of(&[name])
                .await?
                .0
                .remove(name)
                .unwrap_or_default();
            let added: Vec<String> = groups
                .iter()
                .filter(|g| !current.contains(*g))
                .cloned()
                .collect();
            let removed: Vec<String> = current
                .iter()
                .filter(|g| !groups.contains(g))
                .cloned()
                .collect();
            self.check_membership_change(who, name, &added, &removed)
                .await?;
        }
        if let Some(roles) = &patch.roles {
            let known: Vec<String> = self
                .store
                .roles()
                .await?
                .into_iter()
                .map(|r| r.name)
                .collect();
            if let Some(r) = roles.iter().find(|r| !known.contains(r)) {
                return Err(HubError::Invalid(format!("No such role: {r}")));
            }
            if patch
                .admin
                .is_some_and(|a| a != roles.iter().any(|r| r == ADMIN_ROLE))
            {
                return Err(HubError::Invalid(
                    "admin and roles disagree about the admin role".into(),
                ));
            }
        }
        if let Some(state) = &patch.auth_state {
            self.require(who, &["admin:auth_state"], Resource::User(name))
                .await?;
            store_patch.auth_state = Some(match state {
                serde_json::Value::Null => None,
                value => Some(
                    self.crypt
                        .encrypt(value)
                        .map_err(|e| HubError::Invalid(e.to_string()))?,
                ),
            });
        }
        self.store
            .patch_user(name, &store_patch, ADMIN_ROLE)
            .await
            .map_err(|e| match e {
                oxhub_store::StoreError::Conflict(_) => HubError::Invalid(format!(
                    "User {} already exists, username must be unique",
                    store_patch.new_name.as_deref().unwrap_or(name)
                )),
                oxhub_store::StoreError::NotFound => HubError::Conflict(format!(
                    "User {name}, a group or a role changed while patching; nothing was changed"
                )),
                other => other.into(),
            })?;
        let current = store_patch.new_name.unwrap_or_else(|| name.to_owned());
        tracing::info!("{} patched user {current}", who.subject.name());
        Ok(current)
    }

    /// The decrypted `auth_state` of a user if the caller holds `admin:auth_state` for them
    /// (`Some(null)` when there is none).
    pub async fn auth_state_for(
        &self,
        who: &Identity,
        name: &str,
    ) -> Result<Option<serde_json::Value>, HubError> {
        if self
            .require(who, &["admin:auth_state"], Resource::User(name))
            .await
            .is_err()
        {
            return Ok(None);
        }
        let Some(user) = self.store.user(name).await? else {
            return Ok(None);
        };
        Ok(Some(match &user.auth_state {
            None => serde_json::Value::Null,
            Some(data) => match self.crypt.decrypt(data) {
                Ok(v) => v,
                Err(e) => {
                    tracing::warn!("auth_state of {name}: {e}");
                    serde_json::Value::Null
                }
            },
        }))
    }
}
