//! URL paths and identifiers derived from names, escaped as JupyterHub escapes them
//! (cookies-and-urls.md, last paragraph).

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Python's `quote(s, safe='@~')`: what stays unescaped in a URL path segment.
const PATH_KEEP: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'@');

/// Python's `quote(s)` (safe `/`; `@` escaped), used for OAuth client ids and cookie names.
const QUOTE_KEEP: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/');

/// A user name or server name as one URL path segment (JupyterHub keeps `@` and `~`).
pub fn path_segment(name: &str) -> String {
    utf8_percent_encode(name, PATH_KEEP).to_string()
}

/// The URL path of a user's server: `{base_url}user/<name>/` or `.../<name>/<server>/`.
pub fn server_url(base_url: &str, user: &str, server: &str) -> String {
    if server.is_empty() {
        format!("{base_url}user/{}/", path_segment(user))
    } else {
        format!(
            "{base_url}user/{}/{}/",
            path_segment(user),
            path_segment(server)
        )
    }
}

/// The OAuth client id of a server, which is also its cookie name:
/// `jupyterhub-user-<quoted name>[-<quoted server>]`.
pub fn server_client_id(user: &str, server: &str) -> String {
    let mut id = format!("jupyterhub-user-{}", utf8_percent_encode(user, QUOTE_KEEP));
    if !server.is_empty() {
        id.push('-');
        id.push_str(&utf8_percent_encode(server, QUOTE_KEEP).to_string());
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_follows_jupyterhub() {
        assert_eq!(path_segment("a@b c~"), "a@b%20c~");
        assert_eq!(server_url("/", "a@b", ""), "/user/a@b/");
        assert_eq!(server_url("/x/", "alice", "gpu"), "/x/user/alice/gpu/");
        assert_eq!(server_client_id("a@b", ""), "jupyterhub-user-a%40b");
        assert_eq!(
            server_client_id("alice", "gpu"),
            "jupyterhub-user-alice-gpu"
        );
    }
}
