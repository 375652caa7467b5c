//! KubeSpawner 7.x's object names (`kubespawner/slugs.py`): the "safe" scheme keeps a name
//! that is already a valid object name (or label value) and otherwise cleans it and appends
//! eight hex digits of its SHA-256, so distinct users never share a pod; the legacy "escape"
//! scheme is escapism's `-xx` escaping.

use sha2::{Digest, Sha256};

/// Hex digits of the hash appended to a cleaned name.
const HASH_LENGTH: usize = 8;

/// The length budget of a username or server name in a pod name.
pub const SLUG_MAX_LENGTH: usize = 48;

/// 1–63 of `[a-z0-9-]`, starting with a letter and ending with a letter or digit.
pub fn is_valid_object_name(s: &str) -> bool {
    let bytes = s.as_bytes();
    (1..=63).contains(&s.len())
        && bytes[0].is_ascii_lowercase()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
        && !bytes[bytes.len() - 1].is_ascii_uppercase()
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
}

/// A label value: empty, or up to 63 of `[A-Za-z0-9._-]` with alphanumerics at both ends.
pub fn is_valid_label(s: &str) -> bool {
    if s.is_empty() {
        return true;
    }
    let bytes = s.as_bytes();
    s.len() <= 63
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

fn short_hash(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            hasher.update([0xffu8]);
        }
        hasher.update(part.as_bytes());
    }
    let digest = hex::encode(hasher.finalize());
    digest[..HASH_LENGTH].to_owned()
}

/// Lower-case, every run of anything but `[a-z0-9]` one `-`, trimmed to `max_length`, and
/// starting with a letter (`x-` prefixed otherwise; `x` when nothing is left).
fn extract_safe_name(name: &str, max_length: usize) -> String {
    let lower = name.to_lowercase();
    let mut cleaned = String::with_capacity(lower.len());
    let mut in_run = false;
    for c in lower.chars() {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            cleaned.push(c);
            in_run = false;
        } else if !in_run {
            cleaned.push('-');
            in_run = true;
        }
    }
    // Only ASCII is left, so byte offsets are character offsets.
    let trimmed = cleaned.trim_start_matches('-');
    let mut safe = trimmed[..trimmed.len().min(max_length)]
        .trim_end_matches('-')
        .to_owned();
    if !safe.is_empty() && !safe.as_bytes()[0].is_ascii_lowercase() {
        safe = format!(
            "x-{}",
            &safe[..safe.len().min(max_length.saturating_sub(2))]
        );
    }
    if safe.is_empty() {
        safe = "x".into();
    }
    safe
}

/// The cleaned name and its hash, `max_length` long at most.
fn strip_and_hash(name: &str, max_length: usize) -> String {
    let name_length = max_length.saturating_sub(HASH_LENGTH + 3).max(1);
    format!(
        "{}---{}",
        extract_safe_name(name, name_length),
        short_hash(&[name])
    )
}

/// `safe_slug(name, max_length=48)` for object names.
pub fn safe_slug(name: &str, max_length: usize) -> String {
    if !name.contains("--") && is_valid_object_name(name) && name.len() <= max_length {
        name.to_owned()
    } else {
        strip_and_hash(name, max_length)
    }
}

/// `safe_slug(name, is_valid=is_valid_label)`: label values (hashed ones at most 32 long).
pub fn label_slug(name: &str) -> String {
    if !name.contains("--") && is_valid_label(name) {
        name.to_owned()
    } else {
        strip_and_hash(name, 32)
    }
}

/// `multi_slug([user, server], 48)`: both names cleaned to 17 characters and one hash of the
/// pair, for a user and server whose safe slugs together are too long.
pub fn multi_slug(names: &[&str], max_length: usize) -> String {
    let available = max_length - (HASH_LENGTH + 1);
    let per_name = available / names.len();
    let name_max = per_name.saturating_sub(2).max(2);
    let slugs: Vec<String> = names
        .iter()
        .map(|n| extract_safe_name(n, name_max))
        .collect();
    format!("{}---{}", slugs.join("--"), short_hash(names))
}

/// The legacy "escape" scheme: escapism with `[a-z0-9]` safe and `-` as escape character.
pub fn escape_slug(name: &str) -> String {
    crate::template::escape(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_slugs_match_kubespawner() {
        // Computed with kubespawner 7.1.0's slugs.py.
        assert_eq!(safe_slug("alice", 48), "alice");
        assert_eq!(safe_slug("Alice", 48), "alice---3bc51062");
        assert_eq!(
            safe_slug("alice.smith@example.com", 48),
            "alice-smith-example-com---7dcd3a39"
        );
        assert_eq!(safe_slug("user-1", 48), "user-1");
        assert_eq!(safe_slug("1user", 48), "x-1user---b5732d84");
        assert_eq!(safe_slug("My Server", 48), "my-server---c2d9a82f");
        assert_eq!(
            multi_slug(&["alice.smith@example.com", "My Server"], 48),
            "alice-smith-examp--my-server---65c8d5d9"
        );
    }

    #[test]
    fn labels_and_escapes_match_kubespawner() {
        assert_eq!(label_slug("Alice"), "Alice");
        assert_eq!(label_slug(""), "");
        assert_eq!(
            label_slug("alice.smith@example.com"),
            "alice-smith-example-c---7dcd3a39"
        );
        assert_eq!(escape_slug("Alice"), "-41lice");
        assert_eq!(escape_slug("user-1"), "user-2d1");
        assert_eq!(
            escape_slug("alice.smith@example.com"),
            "alice-2esmith-40example-2ecom"
        );
    }

    #[test]
    fn double_dashes_are_always_hashed() {
        assert!(safe_slug("a--b", 48).starts_with("a-b---"));
    }
}
