//! Criterion benchmark of the hot permission check (quality.md: < 10 µs): the cached
//! permission set of a (tenant, user) looked up and asked for one permission, as
//! `routes::guard::enforce` does on every tenant route; and the rate-limit check it also makes (one
//! tenant and one credential among many).
//!
//! ```sh
//! cargo bench -p plexica-core-api --bench permissions
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used)] // A bench fails by panicking.
#![allow(missing_docs)] // criterion_group! defines undocumented functions.

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use plexica_core_api::auth::{Credential, Principal};
use plexica_core_api::authz::{PermissionCache, Permissions};
use plexica_core_api::limits::{LimitsConfig, RateLimit, RequestLimits, RouteFamily};

fn hot_check(c: &mut Criterion) {
    let cache = PermissionCache::new(Duration::from_secs(3600));
    // A cache holding many users of many tenants, like a busy server.
    for tenant in 0..100 {
        for user in 0..100 {
            cache.insert(
                &format!("tenant-{tenant}"),
                &format!("u_{user:024x}"),
                Permissions {
                    roles: vec!["member".into(), "crm-editor".into()],
                    permissions: vec![
                        "contacts:read".into(),
                        "contacts:write".into(),
                        "deals:read".into(),
                        "roles:read".into(),
                        "users:read".into(),
                        "workspaces:read".into(),
                        "workspaces:write".into(),
                    ],
                },
            );
        }
    }
    let user = format!("u_{:024x}", 42);
    c.bench_function("permission check, hot (cached set, granted)", |b| {
        b.iter(|| {
            let set = cache.cached(
                std::hint::black_box("tenant-7"),
                std::hint::black_box(&user),
            );
            set.is_some_and(|p| p.grants(std::hint::black_box("workspaces:write")))
        });
    });
    c.bench_function("permission check, hot (cached set, refused)", |b| {
        b.iter(|| {
            let set = cache.cached(
                std::hint::black_box("tenant-7"),
                std::hint::black_box(&user),
            );
            set.is_some_and(|p| p.grants(std::hint::black_box("plugins:write")))
        });
    });
}

fn rate_limit_check(c: &mut Criterion) {
    let limits = RequestLimits::new(&LimitsConfig {
        per_tenant: Some(RateLimit::per_second(1_000_000_000)),
        per_credential: Some(RateLimit::per_second(1_000_000_000)),
        ..LimitsConfig::default()
    });
    let principal = |tenant: usize, session: usize| Principal {
        user_id: format!("u_{session:024x}"),
        email: String::new(),
        tenant: Some(format!("tenant-{tenant}")),
        super_admin: false,
        credential: Credential::Session(format!("s_{session:024x}")),
    };
    // Keys of many tenants and sessions already in the limiters, like a busy server.
    for tenant in 0..100 {
        for session in 0..100 {
            let _ = limits.authenticated(RouteFamily::Api, &principal(tenant, session));
        }
    }
    let caller = principal(7, 42);
    c.bench_function("rate limit check (tenant and credential)", |b| {
        b.iter(|| limits.authenticated(RouteFamily::Api, std::hint::black_box(&caller)));
    });
}

criterion_group!(benches, hot_check, rate_limit_check);
criterion_main!(benches);
