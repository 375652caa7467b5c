//! Where a `next` parameter may send the browser (cookies-and-urls.md §5): only to a path on
//! this hub's origin. Anything else is dropped, never followed.

use axum::http::HeaderMap;

/// The browser's scheme and host for this request.
fn origin(public_url: &str, headers: &HeaderMap) -> (String, String) {
    if let Some((proto, rest)) = public_url.split_once("://") {
        let host = rest.split('/').next().unwrap_or("").to_owned();
        return (proto.to_owned(), host);
    }
    let header = |h: &str| {
        headers
            .get(h)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(|v| v.trim().to_owned())
    };
    let proto = header("x-scheme")
        .or_else(|| header("x-forwarded-proto"))
        .unwrap_or_else(|| "http".into());
    let host = header("host").unwrap_or_default();
    (proto, host)
}

/// The validated target of `next`, reduced to a path (with query and fragment); `None` when it
/// would leave the hub.
pub fn safe_next(next: &str, public_url: &str, headers: &HeaderMap) -> Option<String> {
    if next.is_empty() {
        return None;
    }
    let mut next = next.replace('\\', "%5C");
    // Three or more leading slashes collapse to two (browsers treat them alike).
    if next.starts_with("///") {
        next = format!("//{}", next.trim_start_matches('/'));
    }
    let (proto, host) = origin(public_url, headers);
    let with_slash = format!("{next}/");
    for own in [format!("{proto}://{host}/"), format!("//{host}/")] {
        if !host.is_empty() && with_slash.starts_with(&own) {
            let rest = &next[own.len() - 1..];
            next = format!("/{}", rest.trim_start_matches('/'));
            break;
        }
    }
    let has_netloc =
        next.starts_with("//") || next.split('/').next().is_some_and(|s| s.contains(':'));
    if has_netloc || !next.starts_with('/') || next.chars().any(char::is_control) {
        tracing::warn!(
            "Disallowing redirect outside JupyterHub: {}",
            oxhub_core::error::clip(&next)
        );
        return None;
    }
    Some(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers() -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("host", "hub.example.org".parse().unwrap());
        h
    }

    #[test]
    fn only_paths_on_this_hub() {
        let h = headers();
        assert_eq!(
            safe_next("/user/alice/lab", "", &h).as_deref(),
            Some("/user/alice/lab")
        );
        assert_eq!(
            safe_next("/hub/home?x=1#f", "", &h).as_deref(),
            Some("/hub/home?x=1#f")
        );
        assert_eq!(
            safe_next("http://hub.example.org/hub/home", "", &h).as_deref(),
            Some("/hub/home")
        );
        assert_eq!(
            safe_next("//hub.example.org/x", "", &h).as_deref(),
            Some("/x")
        );
        assert_eq!(safe_next("https://hub.example.org/x", "", &h), None);
        for bad in [
            "https://evil.example",
            "//evil.example/x",
            "///evil.example/x",
            "/\\evil.example",
            "\\\\evil.example",
            "javascript:alert(1)",
            "evil",
            "http://hub.example.org.evil.example/",
            "/\n/evil.example",
        ] {
            let got = safe_next(bad, "", &h);
            assert!(
                got.as_deref()
                    .is_none_or(|p| p.starts_with('/') && !p.starts_with("//")),
                "{bad} -> {got:?}"
            );
            if let Some(p) = got {
                assert!(
                    !p.starts_with("//") && !p.starts_with("/\\"),
                    "{bad} -> {p}"
                );
            }
        }
        assert_eq!(
            safe_next("/\\evil.example", "", &h).as_deref(),
            Some("/%5Cevil.example")
        );
    }
}
