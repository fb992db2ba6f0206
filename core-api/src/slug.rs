//! Validated names: tenant slugs (which name data spaces) and workspace slugs. Nothing that
//! reaches DDL is ever spliced from raw input: only a [`TenantSlug`], whose schema name is
//! checked once more against `^tenant_[a-z0-9_]{1,55}$`.
//! The checks are written out (ASCII only), so no Unicode look-alike can pass.

use std::fmt;

/// Slugs that name parts of the platform, refused for tenants.
pub const RESERVED_SLUGS: [&str; 7] = ["admin", "api", "www", "core", "public", "system", "master"];

/// `^[a-z][a-z0-9-]{min-2,max-2}[a-z0-9]$`-style check written out: first a letter, then
/// `[a-z0-9-]`, `min..=max` characters in all, last character as `last_ok` allows.
fn lower_slug(text: &str, min: usize, max: usize, last_ok: fn(u8) -> bool) -> bool {
    let bytes = text.as_bytes();
    (min..=max).contains(&bytes.len())
        && bytes[0].is_ascii_lowercase()
        && bytes
            .iter()
            .all(|&b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && bytes.last().is_some_and(|&b| last_ok(b))
}

/// `^tenant_[a-z0-9_]{1,55}$`.
fn is_schema_name(name: &str) -> bool {
    name.strip_prefix("tenant_").is_some_and(|rest| {
        (1..=55).contains(&rest.len())
            && rest
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    })
}

/// A tenant slug that passed every rule.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TenantSlug(String);

impl TenantSlug {
    /// Checks `text`: 3–51 characters of `[a-z0-9-]`, starting with a letter, not ending
    /// with `-`, no `--`, not reserved. The error says which rule failed.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.len() > 51 || text.chars().count() > 51 {
            return Err("a tenant slug has at most 51 characters".into());
        }
        if !lower_slug(text, 3, 51, |b| b != b'-') {
            return Err(format!(
                "`{}` is not a valid tenant slug: 3–51 characters of a–z, 0–9 and `-`, \
                 starting with a letter and ending with a letter or digit",
                text.escape_debug()
            ));
        }
        if text.contains("--") {
            return Err("a tenant slug cannot contain `--`".into());
        }
        if RESERVED_SLUGS.contains(&text) {
            return Err(format!("`{text}` is reserved"));
        }
        let slug = Self(text.to_owned());
        if !is_schema_name(&slug.schema_name()) {
            return Err(format!("`{text}` does not make a valid schema name"));
        }
        Ok(slug)
    }

    /// The slug of the data space called `name` (`tenant_a_b` → `a-b`), if valid.
    pub fn from_schema_name(name: &str) -> Option<Self> {
        let rest = name.strip_prefix("tenant_")?;
        Self::parse(&rest.replace('_', "-")).ok()
    }

    /// `tenant_<slug with - → _>`: the PostgreSQL schema (or SQLite file stem).
    pub fn schema_name(&self) -> String {
        format!("tenant_{}", self.0.replace('-', "_"))
    }

    /// The slug.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TenantSlug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Checks a workspace slug: `^[a-z][a-z0-9-]{1,62}$`.
pub fn check_workspace_slug(text: &str) -> Result<(), String> {
    if lower_slug(text, 2, 63, |_| true) {
        Ok(())
    } else {
        Err(format!(
            "`{}` is not a valid workspace slug: 2–63 characters of a–z, 0–9 and `-`, \
             starting with a letter",
            text.chars().take(80).collect::<String>().escape_debug()
        ))
    }
}

/// Checks a display name: 1–200 characters, no control characters.
pub fn check_name(field: &str, text: &str) -> Result<(), String> {
    let len = text.chars().count();
    if text.trim().is_empty() || len > 200 {
        return Err(format!("`{field}` must have 1–200 characters"));
    }
    if text.chars().any(char::is_control) {
        return Err(format!("`{field}` cannot contain control characters"));
    }
    Ok(())
}

/// Checks an email address loosely: one `@`, something on each side, no spaces or controls,
/// at most 254 characters.
pub fn check_email(text: &str) -> Result<(), String> {
    let ok = text.len() <= 254
        && text.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && !domain.is_empty() && !domain.contains('@')
        })
        && !text.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{}` is not an email address",
            text.chars().take(80).collect::<String>().escape_debug()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_slugs() {
        for good in ["acme", "a1b", "acme-corp", &format!("a{}", "b".repeat(50))] {
            assert!(TenantSlug::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "ab",
            "Acme",
            "1acme",
            "acme-",
            "acme--x",
            "ac me",
            "acme'; DROP",
            "a..b",
            "../x",
            "admin",
            "public",
            "аcme",
            "acmé",
            &"a".repeat(52),
            "",
        ] {
            assert!(TenantSlug::parse(bad).is_err(), "{bad}");
        }
        let slug = TenantSlug::parse("acme-corp").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(slug.schema_name(), "tenant_acme_corp");
        assert_eq!(TenantSlug::from_schema_name("tenant_acme_corp"), Some(slug));
        assert_eq!(TenantSlug::from_schema_name("public"), None);
    }

    #[test]
    fn workspace_slugs_names_emails() {
        assert!(check_workspace_slug("default").is_ok());
        assert!(check_workspace_slug("Sales").is_err());
        assert!(check_name("name", "Acme").is_ok());
        assert!(check_name("name", "a\u{0}b").is_err());
        assert!(check_name("name", &"x".repeat(201)).is_err());
        assert!(check_email("a@b.c").is_ok());
        assert!(check_email("a b@c").is_err());
        assert!(check_email("nobody").is_err());
    }
}
