//! What can be configured: classes, their traits, renamed traits, and the names that class
//! traits (`authenticator_class`, `spawner_class`, `proxy_class`) accept.
//!
//! Everything here is static data plus lookups over it. The rows themselves live in
//! `traits_data.rs`; this file holds the types and the tables that are not per-trait.

use serde::Serialize;

pub use crate::traits_data::TRAITS as TRAIT_TABLE;

/// The type a trait's value must have; checked once when the config is resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum TraitType {
    Bool,
    Int,
    Float,
    Str,
    /// str or bytes (a key); always redacted.
    Secret,
    /// A URL path prefix; normalised to start and end with `/`.
    UrlPrefix,
    /// A list of anything.
    List,
    ListStr,
    /// A set of strings (a list or tuple is accepted and de-duplicated).
    SetStr,
    Dict,
    /// A dict whose values are strings.
    DictStr,
    /// A list of dicts (`services`, `load_roles`, ...).
    ListDict,
    /// A command: a list of strings, or one string (split on whitespace).
    Command,
    /// A size such as `'1G'`, `'512M'` or an int number of bytes.
    ByteSpec,
    /// A log level by name or number.
    LogLevel,
    /// One of the listed strings.
    Enum(&'static [&'static str]),
    /// A plug-in class, named as JupyterHub names it.
    Class(ClassKind),
    /// A string, or a list of strings.
    StrOrList,
    /// A string, a list of strings, or a dict of strings (DockerSpawner's `allowed_images`).
    StrListOrDict,
    /// A list, or a dict whose values are taken in key order (KubeSpawner's `volumes`).
    ListOrDict,
    /// True, False or None, whatever the default (KubeSpawner's `allow_privilege_escalation`).
    BoolOrNone,
    /// A Python callable in JupyterHub; oxhub has a declarative alternative (see [`hook_alternative`]).
    Hook,
    /// Accepted by JupyterHub but meaningless outside Python (e.g. logging handler objects).
    Unsupported,
}

impl TraitType {
    /// How the type is written in `--help-all` and generated config files.
    pub fn describe(&self) -> String {
        match self {
            TraitType::Bool => "Bool".into(),
            TraitType::Int => "Int".into(),
            TraitType::Float => "Float".into(),
            TraitType::Str => "Unicode".into(),
            TraitType::Secret => "Bytes|Unicode (secret)".into(),
            TraitType::UrlPrefix => "URLPrefix".into(),
            TraitType::List => "List".into(),
            TraitType::ListStr => "List(Unicode)".into(),
            TraitType::SetStr => "Set(Unicode)".into(),
            TraitType::Dict => "Dict".into(),
            TraitType::DictStr => "Dict(Unicode)".into(),
            TraitType::ListDict => "List(Dict)".into(),
            TraitType::Command => "Command".into(),
            TraitType::ByteSpec => "ByteSpecification".into(),
            TraitType::LogLevel => "LogLevel (name or number)".into(),
            TraitType::Enum(options) => format!("Enum{options:?}"),
            TraitType::Class(kind) => format!("{kind:?} class"),
            TraitType::StrOrList => "Unicode|List(Unicode)".into(),
            TraitType::StrListOrDict => "Unicode|List(Unicode)|Dict(Unicode)".into(),
            TraitType::ListOrDict => "List|Dict".into(),
            TraitType::BoolOrNone => "Bool|None".into(),
            TraitType::Hook => "Callable (not supported; see help)".into(),
            TraitType::Unsupported => "Python objects (not supported)".into(),
        }
    }
}

/// A trait's default, as a Python literal (so it can be written into generated config files and
/// read back by the evaluator), or computed at start-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Dflt {
    Lit(&'static str),
    Computed,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct TraitDef {
    pub class: &'static str,
    pub name: &'static str,
    pub ty: TraitType,
    pub default: Dflt,
    /// Among the traits real deployments set most often.
    pub starred: bool,
    pub help: &'static str,
    /// Redacted in `show-config` and never logged.
    pub secret: bool,
}

/// Which plug-in slot a class fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ClassKind {
    Application,
    Authenticator,
    Spawner,
    Proxy,
    Other,
}

#[derive(Debug, Clone, Copy)]
pub struct ClassDef {
    pub name: &'static str,
    /// Base classes in Python's order (`class C(A, B)`); the lineage follows Python's MRO.
    pub parents: &'static [&'static str],
    pub kind: ClassKind,
}

/// Every configurable class, parents before children.
pub static CLASSES: &[ClassDef] = &[
    ClassDef {
        name: "Application",
        parents: &[],
        kind: ClassKind::Application,
    },
    ClassDef {
        name: "JupyterHub",
        parents: &["Application"],
        kind: ClassKind::Application,
    },
    ClassDef {
        name: "Spawner",
        parents: &[],
        kind: ClassKind::Spawner,
    },
    ClassDef {
        name: "LocalProcessSpawner",
        parents: &["Spawner"],
        kind: ClassKind::Spawner,
    },
    ClassDef {
        name: "SimpleLocalProcessSpawner",
        parents: &["LocalProcessSpawner"],
        kind: ClassKind::Spawner,
    },
    ClassDef {
        name: "KubeSpawner",
        parents: &["Spawner"],
        kind: ClassKind::Spawner,
    },
    ClassDef {
        name: "DockerSpawner",
        parents: &["Spawner"],
        kind: ClassKind::Spawner,
    },
    ClassDef {
        name: "SystemUserSpawner",
        parents: &["DockerSpawner"],
        kind: ClassKind::Spawner,
    },
    ClassDef {
        name: "BatchSpawnerBase",
        parents: &["Spawner"],
        kind: ClassKind::Spawner,
    },
    ClassDef {
        name: "SlurmSpawner",
        parents: &["BatchSpawnerBase"],
        kind: ClassKind::Spawner,
    },
    ClassDef {
        name: "TorqueSpawner",
        parents: &["BatchSpawnerBase"],
        kind: ClassKind::Spawner,
    },
    ClassDef {
        name: "MoabSpawner",
        parents: &["TorqueSpawner"],
        kind: ClassKind::Spawner,
    },
    ClassDef {
        name: "PBSSpawner",
        parents: &["TorqueSpawner"],
        kind: ClassKind::Spawner,
    },
    ClassDef {
        name: "LsfSpawner",
        parents: &["BatchSpawnerBase"],
        kind: ClassKind::Spawner,
    },
    ClassDef {
        name: "Authenticator",
        parents: &[],
        kind: ClassKind::Authenticator,
    },
    ClassDef {
        name: "LocalAuthenticator",
        parents: &["Authenticator"],
        kind: ClassKind::Authenticator,
    },
    ClassDef {
        name: "PAMAuthenticator",
        parents: &["LocalAuthenticator"],
        kind: ClassKind::Authenticator,
    },
    ClassDef {
        name: "DummyAuthenticator",
        parents: &["Authenticator"],
        kind: ClassKind::Authenticator,
    },
    ClassDef {
        name: "SharedPasswordAuthenticator",
        parents: &["Authenticator"],
        kind: ClassKind::Authenticator,
    },
    ClassDef {
        name: "NullAuthenticator",
        parents: &["Authenticator"],
        kind: ClassKind::Authenticator,
    },
    ClassDef {
        name: "NativeAuthenticator",
        parents: &["Authenticator"],
        kind: ClassKind::Authenticator,
    },
    ClassDef {
        name: "OAuthenticator",
        parents: &["Authenticator"],
        kind: ClassKind::Authenticator,
    },
    ClassDef {
        name: "GenericOAuthenticator",
        parents: &["OAuthenticator"],
        kind: ClassKind::Authenticator,
    },
    ClassDef {
        name: "GitHubOAuthenticator",
        parents: &["OAuthenticator"],
        kind: ClassKind::Authenticator,
    },
    ClassDef {
        name: "GitLabOAuthenticator",
        parents: &["OAuthenticator"],
        kind: ClassKind::Authenticator,
    },
    ClassDef {
        name: "GoogleOAuthenticator",
        parents: &["OAuthenticator"],
        kind: ClassKind::Authenticator,
    },
    ClassDef {
        name: "Auth0OAuthenticator",
        parents: &["OAuthenticator"],
        kind: ClassKind::Authenticator,
    },
    ClassDef {
        name: "AzureAdOAuthenticator",
        parents: &["OAuthenticator"],
        kind: ClassKind::Authenticator,
    },
    ClassDef {
        name: "BitbucketOAuthenticator",
        parents: &["OAuthenticator"],
        kind: ClassKind::Authenticator,
    },
    ClassDef {
        name: "CILogonOAuthenticator",
        parents: &["OAuthenticator"],
        kind: ClassKind::Authenticator,
    },
    ClassDef {
        name: "GlobusOAuthenticator",
        parents: &["OAuthenticator"],
        kind: ClassKind::Authenticator,
    },
    ClassDef {
        name: "OpenShiftOAuthenticator",
        parents: &["OAuthenticator"],
        kind: ClassKind::Authenticator,
    },
    ClassDef {
        name: "MWOAuthenticator",
        parents: &["OAuthenticator"],
        kind: ClassKind::Authenticator,
    },
    // OAuthenticator's Local* classes: `class LocalX(LocalAuthenticator, X)`.
    ClassDef {
        name: "LocalAuth0OAuthenticator",
        parents: &["LocalAuthenticator", "Auth0OAuthenticator"],
        kind: ClassKind::Authenticator,
    },
    ClassDef {
        name: "LocalAzureAdOAuthenticator",
        parents: &["LocalAuthenticator", "AzureAdOAuthenticator"],
        kind: ClassKind::Authenticator,
    },
    ClassDef {
        name: "LocalBitbucketOAuthenticator",
        parents: &["LocalAuthenticator", "BitbucketOAuthenticator"],
        kind: ClassKind::Authenticator,
    },
    ClassDef {
        name: "LocalCILogonOAuthenticator",
        parents: &["LocalAuthenticator", "CILogonOAuthenticator"],
        kind: ClassKind::Authenticator,
    },
    ClassDef {
        name: "LocalGenericOAuthenticator",
        parents: &["LocalAuthenticator", "GenericOAuthenticator"],
        kind: ClassKind::Authenticator,
    },
    ClassDef {
        name: "LocalGitHubOAuthenticator",
        parents: &["LocalAuthenticator", "GitHubOAuthenticator"],
        kind: ClassKind::Authenticator,
    },
    ClassDef {
        name: "LocalGitLabOAuthenticator",
        parents: &["LocalAuthenticator", "GitLabOAuthenticator"],
        kind: ClassKind::Authenticator,
    },
    ClassDef {
        name: "LocalGlobusOAuthenticator",
        parents: &["LocalAuthenticator", "GlobusOAuthenticator"],
        kind: ClassKind::Authenticator,
    },
    ClassDef {
        name: "LocalGoogleOAuthenticator",
        parents: &["LocalAuthenticator", "GoogleOAuthenticator"],
        kind: ClassKind::Authenticator,
    },
    ClassDef {
        name: "LocalOpenShiftOAuthenticator",
        parents: &["LocalAuthenticator", "OpenShiftOAuthenticator"],
        kind: ClassKind::Authenticator,
    },
    ClassDef {
        name: "LDAPAuthenticator",
        parents: &["Authenticator"],
        kind: ClassKind::Authenticator,
    },
    ClassDef {
        name: "Proxy",
        parents: &[],
        kind: ClassKind::Proxy,
    },
    ClassDef {
        name: "ConfigurableHTTPProxy",
        parents: &["Proxy"],
        kind: ClassKind::Proxy,
    },
    ClassDef {
        name: "CryptKeeper",
        parents: &[],
        kind: ClassKind::Other,
    },
];

/// A trait JupyterHub renamed or retired. Setting the old name is never silently ignored
/// (GHSA-384w-5v3f-q499: a deprecated `whitelist` once disabled access control).
#[derive(Debug, Clone, Copy)]
pub struct Renamed {
    pub class: &'static str,
    pub name: &'static str,
    /// The trait that now holds the value, or `None` when the old trait has no effect.
    pub to: Option<(&'static str, &'static str)>,
    pub note: &'static str,
}

pub static RENAMED: &[Renamed] = &[
    Renamed { class: "Authenticator", name: "whitelist", to: Some(("Authenticator", "allowed_users")), note: "renamed in JupyterHub 1.2" },
    Renamed { class: "LocalAuthenticator", name: "group_whitelist", to: Some(("LocalAuthenticator", "allowed_groups")), note: "renamed in JupyterHub 1.2" },
    Renamed { class: "GitHubOAuthenticator", name: "github_organization_whitelist", to: Some(("GitHubOAuthenticator", "allowed_organizations")), note: "renamed in OAuthenticator 0.12" },
    Renamed { class: "GitHubOAuthenticator", name: "github_client_id", to: Some(("OAuthenticator", "client_id")), note: "deprecated in OAuthenticator" },
    Renamed { class: "GitHubOAuthenticator", name: "github_client_secret", to: Some(("OAuthenticator", "client_secret")), note: "deprecated in OAuthenticator" },
    Renamed { class: "GenericOAuthenticator", name: "claim_groups_key", to: Some(("OAuthenticator", "auth_state_groups_key")), note: "deprecated in OAuthenticator 17.0" },
    Renamed { class: "GenericOAuthenticator", name: "extra_params", to: Some(("OAuthenticator", "token_params")), note: "deprecated in OAuthenticator 16.0" },
    Renamed { class: "GenericOAuthenticator", name: "tls_verify", to: Some(("OAuthenticator", "validate_server_cert")), note: "deprecated in OAuthenticator 16.0" },
    Renamed { class: "GenericOAuthenticator", name: "username_key", to: Some(("OAuthenticator", "username_claim")), note: "deprecated in OAuthenticator 16.0" },
    Renamed { class: "JupyterHub", name: "admin_users", to: Some(("Authenticator", "admin_users")), note: "deprecated in JupyterHub 0.7.2" },
    Renamed { class: "JupyterHub", name: "proxy_auth_token", to: Some(("ConfigurableHTTPProxy", "auth_token")), note: "deprecated in JupyterHub 0.8" },
    Renamed { class: "JupyterHub", name: "proxy_cmd", to: Some(("ConfigurableHTTPProxy", "command")), note: "deprecated in JupyterHub 0.8" },
    Renamed { class: "JupyterHub", name: "debug_proxy", to: Some(("ConfigurableHTTPProxy", "debug")), note: "deprecated in JupyterHub 0.8" },
    Renamed { class: "JupyterHub", name: "proxy_check_interval", to: Some(("ConfigurableHTTPProxy", "check_running_interval")), note: "deprecated in JupyterHub 0.8" },
    Renamed { class: "Spawner", name: "oauth_roles", to: Some(("Spawner", "oauth_client_allowed_scopes")), note: "deprecated in JupyterHub 3.0" },
    Renamed { class: "JupyterHub", name: "proxy_api_ip", to: None, note: "deprecated in JupyterHub 0.8; set ConfigurableHTTPProxy.api_url instead" },
    Renamed { class: "JupyterHub", name: "proxy_api_port", to: None, note: "deprecated in JupyterHub 0.8; set ConfigurableHTTPProxy.api_url instead" },
    Renamed { class: "JupyterHub", name: "hub_connect_port", to: None, note: "deprecated in JupyterHub 0.9; set JupyterHub.hub_connect_url instead" },
    Renamed { class: "JupyterHub", name: "confirm_no_ssl", to: None, note: "has no effect" },
    Renamed { class: "JupyterHub", name: "extra_log_file", to: None, note: "deprecated; redirect the hub's output instead" },
    Renamed { class: "LDAPAuthenticator", name: "escape_userdn", to: None, note: "removed in LDAPAuthenticator 2.0; has no effect" },
    Renamed { class: "LDAPAuthenticator", name: "use_ssl", to: None, note: "deprecated in LDAPAuthenticator 2.0; set LDAPAuthenticator.tls_strategy = 'on_connect' instead" },
];

/// The built-in implementations a class trait can select.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Implementation {
    pub kind: ClassKind,
    /// The configurable class whose traits apply (its parents' traits apply too).
    pub class: &'static str,
    /// Every name JupyterHub accepts for it: entry-point names and import strings.
    pub names: &'static [&'static str],
}

pub static IMPLEMENTATIONS: &[Implementation] = &[
    Implementation {
        kind: ClassKind::Authenticator,
        class: "PAMAuthenticator",
        names: &["pam", "default", "jupyterhub.auth.PAMAuthenticator"],
    },
    Implementation {
        kind: ClassKind::Authenticator,
        class: "DummyAuthenticator",
        names: &["dummy", "jupyterhub.auth.DummyAuthenticator"],
    },
    Implementation {
        kind: ClassKind::Authenticator,
        class: "SharedPasswordAuthenticator",
        names: &[
            "shared-password",
            "jupyterhub.authenticators.shared.SharedPasswordAuthenticator",
        ],
    },
    Implementation {
        kind: ClassKind::Authenticator,
        class: "NullAuthenticator",
        names: &["null", "jupyterhub.auth.NullAuthenticator"],
    },
    Implementation {
        kind: ClassKind::Authenticator,
        class: "GenericOAuthenticator",
        names: &[
            "generic",
            "generic-oauth",
            "oauthenticator.generic.GenericOAuthenticator",
            "oauthenticator.GenericOAuthenticator",
        ],
    },
    Implementation {
        kind: ClassKind::Authenticator,
        class: "GitHubOAuthenticator",
        names: &[
            "github",
            "oauthenticator.github.GitHubOAuthenticator",
            "oauthenticator.GitHubOAuthenticator",
        ],
    },
    Implementation {
        kind: ClassKind::Authenticator,
        class: "GitLabOAuthenticator",
        names: &[
            "gitlab",
            "oauthenticator.gitlab.GitLabOAuthenticator",
            "oauthenticator.GitLabOAuthenticator",
        ],
    },
    Implementation {
        kind: ClassKind::Authenticator,
        class: "GoogleOAuthenticator",
        names: &[
            "google",
            "oauthenticator.google.GoogleOAuthenticator",
            "oauthenticator.GoogleOAuthenticator",
        ],
    },
    Implementation {
        kind: ClassKind::Authenticator,
        class: "Auth0OAuthenticator",
        names: &["auth0", "oauthenticator.auth0.Auth0OAuthenticator"],
    },
    Implementation {
        kind: ClassKind::Authenticator,
        class: "AzureAdOAuthenticator",
        names: &["azuread", "oauthenticator.azuread.AzureAdOAuthenticator"],
    },
    Implementation {
        kind: ClassKind::Authenticator,
        class: "BitbucketOAuthenticator",
        names: &[
            "bitbucket",
            "oauthenticator.bitbucket.BitbucketOAuthenticator",
            "oauthenticator.BitbucketOAuthenticator",
        ],
    },
    Implementation {
        kind: ClassKind::Authenticator,
        class: "CILogonOAuthenticator",
        names: &[
            "cilogon",
            "oauthenticator.cilogon.CILogonOAuthenticator",
            "oauthenticator.CILogonOAuthenticator",
        ],
    },
    Implementation {
        kind: ClassKind::Authenticator,
        class: "GlobusOAuthenticator",
        names: &["globus", "oauthenticator.globus.GlobusOAuthenticator"],
    },
    Implementation {
        kind: ClassKind::Authenticator,
        class: "OpenShiftOAuthenticator",
        names: &[
            "openshift",
            "oauthenticator.openshift.OpenShiftOAuthenticator",
        ],
    },
    Implementation {
        kind: ClassKind::Authenticator,
        class: "MWOAuthenticator",
        names: &["mediawiki", "oauthenticator.mediawiki.MWOAuthenticator"],
    },
    Implementation {
        kind: ClassKind::Authenticator,
        class: "LocalAuth0OAuthenticator",
        names: &[
            "local-auth0",
            "oauthenticator.auth0.LocalAuth0OAuthenticator",
        ],
    },
    Implementation {
        kind: ClassKind::Authenticator,
        class: "LocalAzureAdOAuthenticator",
        names: &[
            "local-azuread",
            "oauthenticator.azuread.LocalAzureAdOAuthenticator",
        ],
    },
    Implementation {
        kind: ClassKind::Authenticator,
        class: "LocalBitbucketOAuthenticator",
        names: &[
            "local-bitbucket",
            "oauthenticator.bitbucket.LocalBitbucketOAuthenticator",
            "oauthenticator.LocalBitbucketOAuthenticator",
        ],
    },
    Implementation {
        kind: ClassKind::Authenticator,
        class: "LocalCILogonOAuthenticator",
        names: &[
            "local-cilogon",
            "oauthenticator.cilogon.LocalCILogonOAuthenticator",
            "oauthenticator.LocalCILogonOAuthenticator",
        ],
    },
    Implementation {
        kind: ClassKind::Authenticator,
        class: "LocalGenericOAuthenticator",
        names: &[
            "local-generic-oauth",
            "oauthenticator.generic.LocalGenericOAuthenticator",
        ],
    },
    Implementation {
        kind: ClassKind::Authenticator,
        class: "LocalGitHubOAuthenticator",
        names: &[
            "local-github",
            "oauthenticator.github.LocalGitHubOAuthenticator",
            "oauthenticator.LocalGitHubOAuthenticator",
        ],
    },
    Implementation {
        kind: ClassKind::Authenticator,
        class: "LocalGitLabOAuthenticator",
        names: &[
            "local-gitlab",
            "oauthenticator.gitlab.LocalGitLabOAuthenticator",
        ],
    },
    Implementation {
        kind: ClassKind::Authenticator,
        class: "LocalGlobusOAuthenticator",
        names: &[
            "local-globus",
            "oauthenticator.globus.LocalGlobusOAuthenticator",
        ],
    },
    Implementation {
        kind: ClassKind::Authenticator,
        class: "LocalGoogleOAuthenticator",
        names: &[
            "local-google",
            "oauthenticator.google.LocalGoogleOAuthenticator",
            "oauthenticator.LocalGoogleOAuthenticator",
        ],
    },
    Implementation {
        kind: ClassKind::Authenticator,
        class: "LocalOpenShiftOAuthenticator",
        names: &[
            "local-openshift",
            "oauthenticator.openshift.LocalOpenShiftOAuthenticator",
        ],
    },
    Implementation {
        kind: ClassKind::Authenticator,
        class: "NativeAuthenticator",
        names: &[
            "native",
            "nativeauthenticator.NativeAuthenticator",
            "nativeauthenticator.nativeauthenticator.NativeAuthenticator",
        ],
    },
    Implementation {
        kind: ClassKind::Authenticator,
        class: "LDAPAuthenticator",
        names: &[
            "ldap",
            "ldapauthenticator",
            "ldapauthenticator.LDAPAuthenticator",
            "ldapauthenticator.ldapauthenticator.LDAPAuthenticator",
        ],
    },
    Implementation {
        kind: ClassKind::Spawner,
        class: "LocalProcessSpawner",
        names: &[
            "localprocess",
            "default",
            "jupyterhub.spawner.LocalProcessSpawner",
        ],
    },
    Implementation {
        kind: ClassKind::Spawner,
        class: "SimpleLocalProcessSpawner",
        names: &["simple", "jupyterhub.spawner.SimpleLocalProcessSpawner"],
    },
    Implementation {
        kind: ClassKind::Spawner,
        class: "KubeSpawner",
        names: &[
            "kubespawner",
            "kubespawner.KubeSpawner",
            "kubespawner.spawner.KubeSpawner",
        ],
    },
    Implementation {
        kind: ClassKind::Spawner,
        class: "DockerSpawner",
        names: &[
            "docker",
            "dockerspawner",
            "dockerspawner.DockerSpawner",
            "dockerspawner.dockerspawner.DockerSpawner",
        ],
    },
    Implementation {
        kind: ClassKind::Spawner,
        class: "SystemUserSpawner",
        names: &[
            "docker-system-user",
            "dockerspawner.SystemUserSpawner",
            "dockerspawner.systemuserspawner.SystemUserSpawner",
        ],
    },
    Implementation {
        kind: ClassKind::Spawner,
        class: "SlurmSpawner",
        names: &[
            "slurm",
            "batchspawner.SlurmSpawner",
            "batchspawner.batchspawner.SlurmSpawner",
        ],
    },
    Implementation {
        kind: ClassKind::Spawner,
        class: "TorqueSpawner",
        names: &[
            "torque",
            "batchspawner.TorqueSpawner",
            "batchspawner.batchspawner.TorqueSpawner",
        ],
    },
    Implementation {
        kind: ClassKind::Spawner,
        class: "MoabSpawner",
        names: &[
            "moab",
            "batchspawner.MoabSpawner",
            "batchspawner.batchspawner.MoabSpawner",
        ],
    },
    Implementation {
        kind: ClassKind::Spawner,
        class: "PBSSpawner",
        names: &[
            "pbs",
            "batchspawner.PBSSpawner",
            "batchspawner.batchspawner.PBSSpawner",
        ],
    },
    Implementation {
        kind: ClassKind::Spawner,
        class: "LsfSpawner",
        names: &[
            "lsf",
            "batchspawner.LsfSpawner",
            "batchspawner.batchspawner.LsfSpawner",
        ],
    },
    Implementation {
        kind: ClassKind::Proxy,
        class: "ConfigurableHTTPProxy",
        names: &[
            "configurable-http-proxy",
            "default",
            "jupyterhub.proxy.ConfigurableHTTPProxy",
        ],
    },
];

/// The implementation a class trait names, if oxhub has it.
pub fn implementation(kind: ClassKind, name: &str) -> Option<&'static Implementation> {
    IMPLEMENTATIONS.iter().find(|imp| {
        imp.kind == kind
            && imp
                .names
                .iter()
                .any(|n| *n == name || n.eq_ignore_ascii_case(name))
    })
}

/// The names accepted for one plug-in slot, for error messages.
pub fn implementation_names(kind: ClassKind) -> Vec<&'static str> {
    IMPLEMENTATIONS
        .iter()
        .filter(|imp| imp.kind == kind)
        .flat_map(|imp| imp.names.iter().copied().filter(|n| *n != "default"))
        .collect()
}

/// The declarative form oxhub offers where JupyterHub takes a Python callable.
pub fn hook_alternative(class: &str, name: &str) -> &'static str {
    match (class, name) {
        (_, "pre_spawn_hook") | (_, "post_stop_hook") | (_, "post_auth_hook") => {
            "give a command instead, e.g. ['/usr/local/bin/make-home', '{username}']"
        }
        (_, "options_form") => "give the form's HTML as a string (or a Spawner.profile_list)",
        (_, "profile_list") => "give the list of profiles itself",
        (_, "options_from_form") => {
            "leave it unset: form fields become user_options as JupyterHub's default does"
        }
        (_, "named_server_limit_per_user") => "give an int",
        (_, "default_url") => "give a string; {username} is expanded",
        (_, "environment") => "give strings; {username} and {servername} are expanded",
        (_, "modify_pod_hook") => "use KubeSpawner.extra_pod_config",
        (_, "username_claim") | (_, "auth_state_groups_key") => {
            "give a claim name or a dotted key path"
        }
        (_, "modify_auth_state_hook") => {
            "use username_map, allowed_groups or auth_state_groups_key"
        }
        (_, "template_vars") => "give plain values",
        (_, "authenticator_class") | (_, "spawner_class") | (_, "proxy_class") => {
            "name a built-in class (see `oxhub --help-all`) and set its traits"
        }
        _ => "this hook is not supported; remove it",
    }
}

pub fn class(name: &str) -> Option<&'static ClassDef> {
    CLASSES.iter().find(|c| c.name == name)
}

/// The class and its ancestors, most specific first, in Python's method resolution order:
/// `class LocalGitHubOAuthenticator(LocalAuthenticator, GitHubOAuthenticator)` gives
/// LocalGitHubOAuthenticator, LocalAuthenticator, GitHubOAuthenticator, OAuthenticator,
/// Authenticator. (A depth-first walk keeping each class's last visit equals C3 for the
/// table's hierarchies, where shared bases are only ever roots.)
pub fn lineage(name: &str) -> Vec<&'static str> {
    let mut walk = Vec::new();
    let mut stack: Vec<&'static ClassDef> = class(name).into_iter().collect();
    while let Some(c) = stack.pop() {
        walk.push(c.name);
        stack.extend(c.parents.iter().rev().filter_map(|p| class(p)));
    }
    let mut out: Vec<&'static str> = Vec::new();
    for (i, c) in walk.iter().enumerate() {
        if !walk[i + 1..].contains(c) {
            out.push(c);
        }
    }
    out
}

/// The definition of `class.name`, looking through the class's ancestors (traitlets inheritance).
pub fn lookup(class_name: &str, name: &str) -> Option<&'static TraitDef> {
    lineage(class_name)
        .into_iter()
        .find_map(|c| TRAIT_TABLE.iter().find(|t| t.class == c && t.name == name))
}

pub fn renamed(class_name: &str, name: &str) -> Option<&'static Renamed> {
    let line = lineage(class_name);
    RENAMED
        .iter()
        .find(|r| r.name == name && line.contains(&r.class))
}

/// Every trait a class has, its own and inherited.
pub fn traits_of(class_name: &str) -> Vec<&'static TraitDef> {
    let line = lineage(class_name);
    TRAIT_TABLE
        .iter()
        .filter(|t| line.contains(&t.class))
        .collect()
}

/// Up to three known names close to `wanted`, best first.
pub fn closest<'a>(wanted: &str, candidates: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let mut scored: Vec<(f64, &str)> = candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(wanted, c), c))
        .filter(|(score, _)| *score > 0.75)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
    scored.dedup_by(|a, b| a.1 == b.1);
    scored.into_iter().take(3).map(|(_, c)| c).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_trait_belongs_to_a_known_class_and_is_unique() {
        let mut seen = std::collections::BTreeSet::new();
        for t in TRAIT_TABLE {
            assert!(
                class(t.class).is_some(),
                "{}.{} has no class",
                t.class,
                t.name
            );
            assert!(
                seen.insert((t.class, t.name)),
                "{}.{} twice",
                t.class,
                t.name
            );
        }
    }

    #[test]
    fn renamed_targets_exist_and_old_names_are_not_live_traits() {
        for r in RENAMED {
            assert!(class(r.class).is_some());
            if let Some((c, n)) = r.to {
                assert!(lookup(c, n).is_some(), "{c}.{n} missing");
            }
            assert!(TRAIT_TABLE
                .iter()
                .all(|t| !(t.class == r.class && t.name == r.name)));
        }
    }

    #[test]
    fn implementations_name_known_classes_of_their_kind() {
        for imp in IMPLEMENTATIONS {
            let c = class(imp.class).expect("class");
            assert_eq!(c.kind, imp.kind, "{}", imp.class);
        }
        assert_eq!(
            implementation(ClassKind::Spawner, "simple").map(|i| i.class),
            Some("SimpleLocalProcessSpawner")
        );
        assert_eq!(
            implementation(
                ClassKind::Authenticator,
                "oauthenticator.generic.GenericOAuthenticator"
            )
            .map(|i| i.class),
            Some("GenericOAuthenticator")
        );
        assert!(implementation(ClassKind::Spawner, "dummy").is_none());
    }

    #[test]
    fn lookup_walks_parents() {
        assert_eq!(
            lookup("SimpleLocalProcessSpawner", "cmd").map(|t| t.class),
            Some("Spawner")
        );
        assert_eq!(
            lookup("JupyterHub", "log_level").map(|t| t.class),
            Some("Application")
        );
        assert!(lookup("Spawner", "home_dir_template").is_none());
        assert_eq!(
            renamed("PAMAuthenticator", "whitelist").and_then(|r| r.to),
            Some(("Authenticator", "allowed_users"))
        );
    }

    #[test]
    fn closest_suggests_typos() {
        let names = traits_of("Spawner").into_iter().map(|t| t.name);
        assert_eq!(closest("mem_limt", names).first(), Some(&"mem_limit"));
    }
}
