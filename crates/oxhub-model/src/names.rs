//! Validated names, parsed once at the edge (`shared/STYLE.md` habit 5).
//!
//! Sources: `authenticators.md` §1 step 4 (user names), `hub-api.md` §2 "Server-name rules",
//! `scopes.md` §4 (role names). The reference is silent on group and service names; the rules
//! used for them are stated on each type.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A name that failed its rule: which kind of name, the input, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind} name {}: {reason}", clip(.name))]
pub struct NameError {
    /// `"user"`, `"group"`, `"service"`, `"server"` or `"role"`.
    pub kind: &'static str,
    /// The rejected input.
    pub name: String,
    /// The rule it broke.
    pub reason: &'static str,
}

/// Names are stored in 255-character columns in JupyterHub's schema; longer ones are refused
/// up front rather than failing (or being truncated) in the database.
fn too_long(s: &str) -> bool {
    s.chars().count() > 255
}

/// User-supplied text as an error message or log line may show it: 32 characters at most,
/// then how long it really was (huge input must not flood logs or responses).
pub fn clip(name: &str) -> String {
    let n = name.chars().count();
    if n <= 32 {
        format!("{name:?}")
    } else {
        let head: String = name.chars().take(32).collect();
        format!("{head:?}... ({n} characters)")
    }
}

/// The common surface of every name type: `as_str`, `Display`, `AsRef<str>`, `Borrow<str>`,
/// `FromStr`, and serde as a plain string that is validated when deserialized.
macro_rules! name_type {
    ($ty:ident, $parse:path) => {
        impl $ty {
            /// The name as written.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl AsRef<str> for $ty {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
        impl std::borrow::Borrow<str> for $ty {
            fn borrow(&self) -> &str {
                &self.0
            }
        }
        impl std::str::FromStr for $ty {
            type Err = NameError;
            fn from_str(s: &str) -> Result<Self, NameError> {
                $parse(s)
            }
        }
        impl TryFrom<String> for $ty {
            type Error = NameError;
            fn try_from(s: String) -> Result<Self, NameError> {
                $parse(&s)
            }
        }
        impl From<$ty> for String {
            fn from(name: $ty) -> String {
                name.0
            }
        }
    };
}

fn invalid<T>(kind: &'static str, name: &str, reason: &'static str) -> Result<T, NameError> {
    Err(NameError {
        kind,
        name: name.to_owned(),
        reason,
    })
}

/// Python's `str.isspace`: Rust's whitespace plus the separators U+001C..U+001F.
fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

fn has_surrounding_space(s: &str) -> bool {
    s.starts_with(is_py_space) || s.ends_with(is_py_space)
}

/// Whether `s` is `%` followed by two hex digits somewhere (Python's `unquote` would change it).
fn has_percent_escape(s: &str) -> bool {
    let b = s.as_bytes();
    b.windows(3)
        .any(|w| w[0] == b'%' && w[1].is_ascii_hexdigit() && w[2].is_ascii_hexdigit())
}

/// Whether non-empty `s` is only dots, either as written or once percent-decoded
/// (`..`, `%2e%2E`, `.%2e`).
fn is_only_dots(s: &str) -> bool {
    let mut rest = s.as_bytes();
    if rest.is_empty() {
        return false;
    }
    while !rest.is_empty() {
        rest = match rest {
            [b'.', tail @ ..] => tail,
            [b'%', b'2', b'e' | b'E', tail @ ..] => tail,
            _ => return false,
        };
    }
    true
}

/// A user name passing JupyterHub's base `validate_username` (6.1.1): no `/`, not empty,
/// not only dots (raw or percent-decoded), no leading or trailing whitespace.
///
/// Normalisation (lowercasing, `username_map`) and the configurable `username_pattern` are
/// applied by the login pipeline before this parse; they are configuration, not the name rule.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UserName(String);

impl UserName {
    /// Checks `s` against the user-name rule.
    pub fn parse(s: &str) -> Result<Self, NameError> {
        const KIND: &str = "user";
        if too_long(s) {
            return invalid(KIND, s, "is longer than 255 characters");
        }
        if s.contains('/') {
            return invalid(KIND, s, "contains '/'");
        }
        if s.is_empty() {
            return invalid(KIND, s, "is empty");
        }
        if is_only_dots(s) {
            return invalid(KIND, s, "is only dots");
        }
        if has_surrounding_space(s) {
            return invalid(KIND, s, "starts or ends with whitespace");
        }
        Ok(Self(s.to_owned()))
    }
}
name_type!(UserName, UserName::parse);

/// A group name: not empty and no `/`.
///
/// The reference is silent and JupyterHub 6.1.1 checks nothing; these two rules are what the
/// API's `/groups/<name>` path segment can carry.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct GroupName(String);

impl GroupName {
    /// Checks `s` against the group-name rule.
    pub fn parse(s: &str) -> Result<Self, NameError> {
        if s.is_empty() {
            return invalid("group", s, "is empty");
        }
        if too_long(s) {
            return invalid("group", s, "is longer than 255 characters");
        }
        if s.contains('/') {
            return invalid("group", s, "contains '/'");
        }
        Ok(Self(s.to_owned()))
    }
}
name_type!(GroupName, GroupName::parse);

/// A service name: no percent-escapes, no `/`, not empty, not only dots, no leading or
/// trailing whitespace.
///
/// The reference is silent; these are JupyterHub 6.1.1's `Service.name` validator rules.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ServiceName(String);

impl ServiceName {
    /// Checks `s` against the service-name rule.
    pub fn parse(s: &str) -> Result<Self, NameError> {
        const KIND: &str = "service";
        if too_long(s) {
            return invalid(KIND, s, "is longer than 255 characters");
        }
        if has_percent_escape(s) {
            return invalid(KIND, s, "contains a percent-escape");
        }
        if s.contains('/') {
            return invalid(KIND, s, "contains '/'");
        }
        if s.is_empty() {
            return invalid(KIND, s, "is empty");
        }
        if s.bytes().all(|b| b == b'.') {
            return invalid(KIND, s, "is only dots");
        }
        if has_surrounding_space(s) {
            return invalid(KIND, s, "starts or ends with whitespace");
        }
        Ok(Self(s.to_owned()))
    }
}
name_type!(ServiceName, ServiceName::parse);

/// A server name: `""` is the default server; a named server follows the 6.0 rule for new
/// servers (`slugs.is_valid_safe_slug`), or, for servers that already exist, only "no `/`".
///
/// Deserializing uses [`ServerName::existing`], so URLs and bodies can still address servers
/// created before 6.0; creating a server must go through [`ServerName::parse`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ServerName(String);

/// Longest safe slug (`slugs._max_length`).
const SERVER_NAME_MAX: usize = 30;

impl ServerName {
    /// The default server (`""`).
    pub fn default_server() -> Self {
        Self(String::new())
    }

    /// A name for a NEW server: `""`, or 1–30 of `[a-z0-9-]` starting with a letter, ending
    /// with a letter or digit, no `--`.
    pub fn parse(s: &str) -> Result<Self, NameError> {
        if s.is_empty() || is_safe_slug(s) {
            Ok(Self(s.to_owned()))
        } else {
            invalid(
                "server",
                s,
                "must be 1-30 lowercase letters, digits or single hyphens, start with a letter \
                 and end with a letter or digit",
            )
        }
    }

    /// A name of a server that may predate 6.0: anything without `/`.
    pub fn existing(s: &str) -> Result<Self, NameError> {
        if s.contains('/') {
            return invalid("server", s, "contains '/'");
        }
        Ok(Self(s.to_owned()))
    }

    /// Whether this is the default server (`""`).
    pub fn is_default(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether a named server's name follows the 6.0 rule (`allow_existing_invalid_named_servers`).
    pub fn is_safe_slug(&self) -> bool {
        is_safe_slug(&self.0)
    }
}
name_type!(ServerName, ServerName::existing);

/// `slugs.is_valid_safe_slug`: 1–30 chars, `^[a-z0-9]+(-[a-z0-9]+)*$`, first a letter.
fn is_safe_slug(s: &str) -> bool {
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let b = s.as_bytes();
    (1..=SERVER_NAME_MAX).contains(&b.len())
        && b.first().is_some_and(u8::is_ascii_lowercase)
        && b.last().is_some_and(|&c| alnum(c))
        && b.iter().all(|&c| alnum(c) || c == b'-')
        && !s.contains("--")
}

/// A role name: `^[a-z][a-z0-9\-_~\.]{1,253}[a-z0-9]$` (3–255 chars, `scopes.md` §4).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RoleName(String);

impl RoleName {
    /// Checks `s` against the role-name rule.
    pub fn parse(s: &str) -> Result<Self, NameError> {
        let b = s.as_bytes();
        let ok = (3..=255).contains(&b.len())
            && b.first().is_some_and(u8::is_ascii_lowercase)
            && b.last()
                .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            && b.iter().all(|&c| {
                c.is_ascii_lowercase()
                    || c.is_ascii_digit()
                    || matches!(c, b'-' | b'_' | b'~' | b'.')
            });
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            invalid(
                "role",
                s,
                "must be 3-255 characters of lowercase ascii letters, digits and '-.~_', \
                 start with a letter and end with a letter or digit",
            )
        }
    }
}
name_type!(RoleName, RoleName::parse);

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy)]
    enum Kind {
        User,
        Group,
        Service,
        NewServer,
        ExistingServer,
        Role,
    }

    /// Parses `input` as `kind` and asserts whether it is accepted.
    fn check(kind: Kind, input: &str, expect_ok: bool) {
        let got = match kind {
            Kind::User => UserName::parse(input).map(|_| ()),
            Kind::Group => GroupName::parse(input).map(|_| ()),
            Kind::Service => ServiceName::parse(input).map(|_| ()),
            Kind::NewServer => ServerName::parse(input).map(|_| ()),
            Kind::ExistingServer => ServerName::existing(input).map(|_| ()),
            Kind::Role => RoleName::parse(input).map(|_| ()),
        };
        assert_eq!(got.is_ok(), expect_ok, "{kind:?} {input:?}: {got:?}");
    }

    #[test]
    fn name_rules() {
        use Kind::*;
        let long_role = format!("a{}z", "b".repeat(253));
        let too_long_role = format!("a{}z", "b".repeat(254));
        let cases: &[(Kind, &str, bool)] = &[
            // users: authenticators.md §1 step 4
            (User, "alice", true),
            (User, "Alice", true), // lowercasing is normalisation, not validation
            (User, "a.b-c_d@example.org", true),
            (User, "alice bob", true),
            (User, "a%2fb", true), // '/' is checked on the raw name only
            (User, "a/b", false),
            (User, "", false),
            (User, ".", false),
            (User, "..", false),
            (User, "%2e%2E", false),
            (User, ".%2e", false),
            (User, "%252e", true), // decoded once: "%2e", not a dot
            (User, " alice", false),
            (User, "alice\n", false),
            (User, "alice\u{a0}", false),
            (User, "alice\u{1f}", false), // Python's isspace includes U+001F
            (User, "al ice", true),
            // groups: silent reference; non-empty, no '/'
            (Group, "staff", true),
            (Group, "Staff Team", true),
            (Group, "", false),
            (Group, "a/b", false),
            // services: JupyterHub 6.1.1 Service.name validator
            (Service, "cull-idle", true),
            (Service, "my service", true),
            (Service, "a%20b", false),
            (Service, "100%", true),
            (Service, "a/b", false),
            (Service, "", false),
            (Service, "..", false),
            (Service, " svc", false),
            // new servers: hub-api.md §2 server-name rules
            (NewServer, "", true),
            (NewServer, "gpu", true),
            (NewServer, "gpu-2", true),
            (NewServer, "a", true),
            (NewServer, "abcdefghijklmnopqrstuvwxyz0123", true), // 30 chars
            (NewServer, "abcdefghijklmnopqrstuvwxyz01234", false), // 31 chars
            (NewServer, "2gpu", false),
            (NewServer, "-gpu", false),
            (NewServer, "gpu-", false),
            (NewServer, "gpu--2", false),
            (NewServer, "GPU", false),
            (NewServer, "my_server", false),
            (NewServer, "a/b", false),
            // existing servers: anything without '/'
            (ExistingServer, "My_Server", true),
            (ExistingServer, "", true),
            (ExistingServer, "a/b", false),
            // roles: scopes.md §4
            (Role, "user", true),
            (Role, "abc", true),
            (Role, "ab", false),
            (Role, "a-b.c~d_e9", true),
            (Role, "1ab", false),
            (Role, "abc-", false),
            (Role, "Abc", false),
            (Role, "ab c", false),
            (Role, &long_role, true),
            (Role, &too_long_role, false),
        ];
        for &(kind, input, ok) in cases {
            check(kind, input, ok);
        }
    }

    #[test]
    fn server_name_helpers_and_serde() {
        assert!(ServerName::default_server().is_default());
        assert!(ServerName::default().is_default());
        let legacy = ServerName::existing("My_Server").unwrap();
        assert!(!legacy.is_safe_slug());
        assert!(ServerName::parse("gpu").unwrap().is_safe_slug());
        // serde accepts existing names and rejects '/'
        let ok: ServerName = serde_json::from_str("\"My_Server\"").unwrap();
        assert_eq!(ok.as_str(), "My_Server");
        assert!(serde_json::from_str::<ServerName>("\"a/b\"").is_err());
        let user: UserName = serde_json::from_str("\"alice\"").unwrap();
        assert_eq!(serde_json::to_string(&user).unwrap(), "\"alice\"");
        assert!(serde_json::from_str::<UserName>("\"..\"").is_err());
        let err = UserName::parse("a/b").unwrap_err();
        assert_eq!(err.to_string(), "invalid user name \"a/b\": contains '/'");
    }
}
