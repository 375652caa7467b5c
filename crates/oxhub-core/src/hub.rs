//! The hub: the store, the validated configuration and the scope vocabulary, and the operations
//! the REST API exposes. Every mutating operation takes the caller's [`Identity`] and checks
//! the scopes itself, so no handler can skip a check.

use crate::clock::now_ms;
use crate::error::HubError;
use crate::identity::{Groups, Identity, Subject};
use crate::progress::Spawns;
use crate::tokens::{self, LOGIN_CLIENT};
use oxhub_config::HubConfig;
use oxhub_model::scope::{Owner, Resource, ScopeSet, Vocabulary};
use oxhub_plugin::auth::Authenticator;
use oxhub_plugin::proxy::Proxy;
use oxhub_plugin::spawn::Spawner;
use oxhub_store::{Owner as TokenOwner, Store};
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
    /// Users' and services' model parts, valid while the store's data generation is unchanged.
    pub(crate) views: crate::views::Views,
    /// Signs cookies (cookie_secret).
    pub cookies: crate::cookies::CookieSigner,
    /// `profile_list`, checked at startup.
    pub profiles: crate::profiles::Profiles,
    pub(crate) authenticator: Box<dyn Authenticator>,
    pub(crate) spawner: Arc<dyn Spawner>,
    /// The hub process's environment, as the binary read it (what `env_keep` passes on).
    pub(crate) environment: BTreeMap<String, String>,
    /// Spawns in flight or finished since start-up, with their progress.
    pub(crate) spawns: Spawns,
    /// Failed logins by name and by client address.
    pub(crate) throttle: crate::throttle::Throttle,
    /// Redirect logins sent to the identity provider and not yet back.
    pub(crate) pending_logins: crate::redirects::PendingLogins,
    /// When each user's authentication was last refreshed.
    pub(crate) refreshed: crate::refresh::RefreshTimes,
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

/// A new random secret (token, code, nonce, cookie id).
pub(crate) fn new_secret() -> Result<String, HubError> {
    tokens::generate().map_err(|e| HubError::Internal(format!("randomness: {e}")))
}

/// The roles that grant `admin=True` (scopes.md §4: kept in sync with the flag).
pub const ADMIN_ROLE: &str = "admin";
pub const USER_ROLE: &str = "user";

impl Hub {
    /// A hub that serves logins must be able to encrypt `auth_state` when it is enabled
    /// (`oxhub token` and the other commands do not need the key).
    pub fn check_auth_state_key(&self) -> Result<(), HubError> {
        if self.config.authenticator.enable_auth_state && !self.crypt.available() {
            return Err(HubError::Invalid(
                "Authenticator.enable_auth_state is on, but auth_state encryption is not available: set JUPYTERHUB_CRYPT_KEY (32 bytes, hex or base64; `openssl rand -hex 32`)".into(),
            ));
        }
        Ok(())
    }

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
        let profiles = crate::profiles::Profiles::parse(&config.spawner.profile_list.to_json())
            .map_err(|e| HubError::Invalid(format!("Spawner.{e}")))?;
        Ok(Hub {
            profiles,
            store,
            config: Arc::new(config),
            vocab,
            crypt,
            proxy: parts.proxy,
            hub_url: std::sync::OnceLock::new(),
            shutdown: tokio::sync::watch::channel(false).0,
            identities: Mutex::new(HashMap::new()),
            views: crate::views::Views::default(),
            cookies,
            authenticator: parts.authenticator,
            spawner: parts.spawner,
            environment: parts.environment,
            spawns: Mutex::new(HashMap::new()),
            throttle: crate::throttle::Throttle::new(crate::throttle::DEFAULT_LIMITS),
            pending_logins: Default::default(),
            refreshed: Default::default(),
            http,
        })
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
            Some(u) if who.scopes.needs_membership(required) => self.groups_of(&[u]).await?,
            _ => Groups::default(),
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
        let (token, _) = self
            .issue_token_with_id(owner, scopes, note, expires_at, session_id, oauth_client)
            .await?;
        Ok(token)
    }

    /// [`Hub::issue_token`], also answering the new token's id.
    pub(crate) async fn issue_token_with_id(
        &self,
        owner: TokenOwner,
        scopes: Vec<String>,
        note: &str,
        expires_at: Option<i64>,
        session_id: Option<String>,
        oauth_client: Option<String>,
    ) -> Result<(String, i64), HubError> {
        let token = new_secret()?;
        let row = self
            .store
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
        Ok((token, row.id))
    }
}
