//! Test support shared by the servers' test suites (never a runtime dependency).
//!
//! PostgreSQL tests read `PLEXICA_TEST_POSTGRES_URL`: unset, they are skipped with one line
//! saying so; set but unreachable, they fail (quality.md).

// Test support: a setup that cannot be made fails the test that asked for it, by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod browser;
#[cfg(feature = "faults")]
pub mod faults;
pub mod layers;
#[cfg(feature = "load")]
pub mod load;
#[cfg(feature = "load")]
pub mod registry;
#[cfg(feature = "services")]
pub mod services;

/// Which database backend a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite files in a temporary directory.
    Sqlite,
    /// A fresh database on `PLEXICA_TEST_POSTGRES_URL`.
    Postgres,
}

fn unique_suffix() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::{SystemTime, UNIX_EPOCH};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "{:x}{:x}{:x}",
        nanos,
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// A fresh, empty PostgreSQL database named `<prefix>_<unix seconds>_<unique>`, or `None`
/// (with one line saying so) when `PLEXICA_TEST_POSTGRES_URL` is not set. Databases with
/// this prefix older than an hour (earlier runs) are dropped on the way.
///
/// # Panics
///
/// When the variable is set but PostgreSQL cannot be reached or refuses: a test environment
/// that promised PostgreSQL must not silently skip.
pub async fn postgres_database(prefix: &str) -> Option<String> {
    use sqlx::Connection;
    let Ok(base) = std::env::var("PLEXICA_TEST_POSTGRES_URL") else {
        println!("skipped: PLEXICA_TEST_POSTGRES_URL is not set");
        return None;
    };
    let mut admin = sqlx::PgConnection::connect(&base)
        .await
        .expect("PLEXICA_TEST_POSTGRES_URL is set but PostgreSQL is unreachable");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let old: Vec<String> =
        sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE $1")
            .bind(format!("{prefix}\\_%"))
            .fetch_all(&mut admin)
            .await
            .unwrap_or_default();
    for db in old {
        let created = db
            .strip_prefix(prefix)
            .and_then(|rest| rest.split('_').nth(1))
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(now);
        if created + 3600 < now {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
                .execute(&mut admin)
                .await;
        }
    }
    let name = format!("{prefix}_{now}_{}", unique_suffix());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .expect("create test database");
    let mut url = url::Url::parse(&base).expect("PLEXICA_TEST_POSTGRES_URL is a URL");
    url.set_path(&name);
    Some(url.to_string())
}
