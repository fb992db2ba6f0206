//! Registry accounts against insiders and floods: password guessing is rate limited before any
//! hashing, accounts come from invites (or open sign-up when the operator allows it), a key is
//! registered only with proof of possession and belongs to one account, anonymous floods are
//! refused per address, and downloads count once per address.

use crate::common;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use common::{TestRegistry, code, signed};
use plexica_registry::Config;
use plexica_sdk::api::registry::{KeyChallenge, RegisterKeyRequest};
use plexica_sdk::package::signing::SecretKey;
use plexica_server::ratelimit::RateLimit;
use reqwest::StatusCode;
use serde_json::{Value, json};

const PASSWORD: &str = "a long enough password";

/// Sends `request`; the status, the `Retry-After` seconds and the JSON body.
async fn send(request: reqwest::RequestBuilder) -> (StatusCode, Option<u64>, Value) {
    let response = request.send().await.expect("request");
    let status = response.status();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    (
        status,
        retry_after,
        response.json().await.unwrap_or(Value::Null),
    )
}

fn token_request(reg: &TestRegistry, username: &str, password: &str) -> reqwest::RequestBuilder {
    reg.http
        .post(reg.at("/api/v1/tokens"))
        .json(&json!({ "username": username, "password": password }))
}

on_both_backends!(
    password_guessing_is_refused_per_account_then_per_address,
    config = |c: &mut Config| {
        c.limits.password_per_account = RateLimit::per_minute(1, 10);
        c.limits.password_per_address = RateLimit::per_minute(1, 14);
    },
    |reg| {
        reg.publisher("ada").await;
        // Nine wrong guesses for ada (after her sign-in of the set-up), then even the right
        // password is refused: the limit comes before the hash.
        for _ in 0..9 {
            let (status, _, body) = send(token_request(&reg, "ada", "wrong password!!")).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        }
        let (status, retry_after, body) = send(token_request(&reg, "ada", PASSWORD)).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED")
        );
        assert!(
            retry_after.is_some_and(|s| (1..=60).contains(&s)),
            "{retry_after:?}"
        );
        // Unknown names count against the address: with the two sign-ins of the set-up, three
        // more attempts use its burst of 14.
        for name in ["nobody-1", "nobody-2", "nobody-3"] {
            let (status, _, _) = send(token_request(&reg, name, "wrong password!!")).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED);
        }
        let (status, retry_after, body) =
            send(token_request(&reg, "nobody-4", "wrong password!!")).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED"),
            "{body}"
        );
        assert!(retry_after.is_some());
        // Another address is not held back by this one's flood.
        let elsewhere = client_from(Ipv4Addr::new(127, 0, 0, 2));
        let (status, _, body) = send(
            elsewhere
                .post(reg.at("/api/v1/tokens"))
                .json(&json!({ "username": "admin", "password": common::ADMIN_PASSWORD })),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
);

/// A client whose connections come from `address` (any of 127.0.0.0/8 reaches loopback).
fn client_from(address: Ipv4Addr) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::V4(address))
        .build()
        .expect("client")
}

on_both_backends!(accounts_come_from_invites_unless_signup_is_open, |reg| {
    let signup = |username: &str, invite: Option<&str>, admin: bool| {
        reg.http.post(reg.at("/api/v1/users")).json(&json!({
            "username": username, "password": PASSWORD, "invite": invite, "admin": admin,
        }))
    };
    // Closed by default: nobody signs up without an invite.
    let (status, _, body) = send(signup("mallory", None, false)).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "SIGNUP_CLOSED")
    );
    // Only an administrator invites.
    let (ada, _) = reg.publisher("ada").await;
    let (status, _, body) = send(
        reg.http
            .post(reg.at("/api/v1/invites"))
            .bearer_auth(&ada)
            .json(&json!({ "username": "mallory" })),
    )
    .await;
    assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, "FORBIDDEN"));
    let invite = |username: &str, seconds: u64| {
        reg.http
            .post(reg.at("/api/v1/invites"))
            .bearer_auth(&reg.admin_token)
            .json(&json!({ "username": username, "expires_in_seconds": seconds }))
    };
    let (status, _, body) = send(invite("ada", 3600)).await;
    assert_eq!((status, code(&body)), (StatusCode::CONFLICT, "USER_EXISTS"));
    let (status, _, created) = send(invite("bob", 3600)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let bobs = created["invite"].as_str().expect("invite").to_owned();
    assert!(bobs.starts_with("plxi_"));
    // The invite is for bob: not for another name, not for an administrator.
    let (status, _, body) = send(signup("mallory", Some(&bobs), false)).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "INVITE_INVALID")
    );
    let (status, _, body) = send(signup("bob", Some(&bobs), true)).await;
    assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, "FORBIDDEN"));
    let (status, _, body) = send(signup("bob", Some("plxi_forged"), false)).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "INVITE_INVALID")
    );
    // Used once by bob, then never again.
    let (status, _, body) = send(signup("bob", Some(&bobs), false)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body, json!({ "username": "bob", "admin": false }));
    reg.login("bob", PASSWORD).await;
    let (status, _, body) = send(signup("bob-2", Some(&bobs), false)).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "INVITE_INVALID")
    );
    // An expired invite creates nothing.
    let (_, _, created) = send(invite("carol", 1)).await;
    let carols = created["invite"].as_str().expect("invite").to_owned();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (status, _, body) = send(signup("carol", Some(&carols), false)).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "INVITE_INVALID")
    );
    let (status, _, _) = send(token_request(&reg, "carol", PASSWORD)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "no account was made");
    let (status, _, _) = send(token_request(&reg, "mallory", PASSWORD)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "no account was made");
});

on_both_backends!(
    open_signup_makes_publishers_never_admins,
    config = |c: &mut Config| c.open_signup = true,
    |reg| {
        let signup = |username: &str, admin: bool| {
            reg.http.post(reg.at("/api/v1/users")).json(&json!({
                "username": username, "password": PASSWORD, "admin": admin,
            }))
        };
        let (status, _, body) = send(signup("eve", true)).await;
        assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, "FORBIDDEN"));
        let (status, _, body) = send(signup("eve", false)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let eve = reg.login("eve", PASSWORD).await;
        let (status, _, me) = send(reg.http.get(reg.at("/api/v1/me")).bearer_auth(&eve)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(me["admin"], false);
        // Taking an existing name changes nothing about its owner.
        let (status, _, body) = send(signup("admin", false)).await;
        assert_eq!((status, code(&body)), (StatusCode::CONFLICT, "USER_EXISTS"));
        reg.login("admin", common::ADMIN_PASSWORD).await;
    }
);

/// Asks for a challenge as `token`.
async fn challenge(reg: &TestRegistry, token: &str) -> KeyChallenge {
    let response = reg
        .http
        .post(reg.at("/api/v1/keys/challenges"))
        .bearer_auth(token)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.expect("challenge")
}

/// The keys `name` has registered, as listed publicly.
async fn keys_of(reg: &TestRegistry, name: &str) -> Value {
    let (status, keys) = reg.get(&format!("/api/v1/users/{name}/keys")).await;
    assert_eq!(status, StatusCode::OK);
    keys
}

fn register(
    reg: &TestRegistry,
    token: &str,
    request: &RegisterKeyRequest,
) -> reqwest::RequestBuilder {
    reg.http
        .put(reg.at("/api/v1/keys"))
        .bearer_auth(token)
        .json(request)
}

on_both_backends!(
    a_key_is_registered_only_by_its_holder_and_to_one_account,
    |reg| {
        let (ada, ada_key) = reg.publisher("ada").await;
        let (eve, _) = reg.publisher("eve").await;
        let eves_before = keys_of(&reg, "eve").await;
        // Eve claims ada's public key without its secret half: no proof, a proof by another key,
        // a proof over another account's challenge, a replayed proof.
        let claimed = ada_key.public_key().to_line();
        let (status, _, body) = send(register(
            &reg,
            &eve,
            &RegisterKeyRequest {
                public_key: claimed.clone(),
                challenge_id: None,
                signature: None,
            },
        ))
        .await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::UNPROCESSABLE_ENTITY, "PROOF_REQUIRED")
        );
        let eves_challenge = challenge(&reg, &eve).await;
        assert!(eves_challenge.challenge.contains("account: eve"));
        let mut forged = RegisterKeyRequest::proven(&SecretKey::generate(), &eves_challenge);
        forged.public_key.clone_from(&claimed);
        let (status, _, body) = send(register(&reg, &eve, &forged)).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::UNPROCESSABLE_ENTITY, "BAD_PROOF")
        );
        // Ada proves possession over her own challenge; eve replays that proof.
        let adas = RegisterKeyRequest::proven(&ada_key, &challenge(&reg, &ada).await);
        let (status, _, body) = send(register(&reg, &eve, &adas)).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::UNPROCESSABLE_ENTITY, "CHALLENGE_INVALID"),
            "another account's challenge"
        );
        // (The publisher fixture registered ada's key already: registering it again is idempotent.)
        let (status, _, body) = send(register(&reg, &ada, &adas)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let (status, _, body) = send(register(&reg, &ada, &adas)).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::UNPROCESSABLE_ENTITY, "CHALLENGE_INVALID"),
            "a challenge works once"
        );
        // Even holding the secret key (shared with her), eve cannot make it hers too.
        let shared = RegisterKeyRequest::proven(&ada_key, &challenge(&reg, &eve).await);
        let (status, _, body) = send(register(&reg, &eve, &shared)).await;
        assert_eq!((status, code(&body)), (StatusCode::CONFLICT, "KEY_TAKEN"));
        // Nothing changed: the key is ada's alone.
        assert_eq!(keys_of(&reg, "eve").await, eves_before);
        let adas_keys = keys_of(&reg, "ada").await;
        assert_eq!(adas_keys.as_array().map(Vec::len), Some(1), "{adas_keys}");
        assert_eq!(adas_keys[0]["key_id"], ada_key.id.to_string());
    }
);

on_both_backends!(
    anonymous_floods_are_refused_per_address,
    config = |c: &mut Config| {
        c.limits.per_address = Some(RateLimit::new(1, Duration::from_secs(60), 20));
    },
    |reg| {
        let (ada, _) = reg.publisher("ada").await;
        // The publisher fixture spent a few of the address's requests (its sign-in is
        // anonymous); the flood spends the rest.
        let mut refused = None;
        for _ in 0..20 {
            let (status, retry_after, body) =
                send(reg.http.get(reg.at("/api/v1/plugins?q=x"))).await;
            if status == StatusCode::TOO_MANY_REQUESTS {
                assert_eq!(code(&body), "RATE_LIMITED");
                refused = retry_after;
                break;
            }
            assert_eq!(status, StatusCode::OK, "{body}");
        }
        assert!(
            refused.is_some_and(|s| s >= 1),
            "search, index and downloads are limited per address"
        );
        for path in [
            "/api/v1/index/anything",
            "/api/v1/plugins/x/versions/1.0.0/download",
        ] {
            let (status, _, _) = send(reg.http.get(reg.at(path))).await;
            assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{path}");
        }
        // Guessing tokens is an anonymous request too.
        let (status, _, _) = send(
            reg.http
                .get(reg.at("/api/v1/me"))
                .bearer_auth("plxr_guessed"),
        )
        .await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        // A publisher's token still works from the same address, and another address is served.
        let (status, _, _) = send(reg.http.get(reg.at("/api/v1/me")).bearer_auth(&ada)).await;
        assert_eq!(status, StatusCode::OK);
        let (status, _, _) =
            send(client_from(Ipv4Addr::new(127, 0, 0, 3)).get(reg.at("/api/v1/plugins?q=x"))).await;
        assert_eq!(status, StatusCode::OK);
    }
);

on_both_backends!(downloads_count_once_per_address_and_window, |reg| {
    let (ada, key) = reg.publisher("ada").await;
    let (status, body) = reg.publish(&ada, signed(&key, "counted", "1.0.0")).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let path = "/api/v1/plugins/counted/versions/1.0.0/download";
    for _ in 0..5 {
        let response = reg.http.get(reg.at(path)).send().await.expect("download");
        assert_eq!(response.status(), StatusCode::OK);
    }
    let other = client_from(Ipv4Addr::new(127, 0, 0, 4));
    let response = other.get(reg.at(path)).send().await.expect("download");
    assert_eq!(response.status(), StatusCode::OK);
    let (_, detail) = reg.get("/api/v1/plugins/counted").await;
    assert_eq!(detail["downloads"], 2, "{detail}");
});

#[tokio::test]
async fn metric_labels_come_from_bounded_sets() {
    let reg = TestRegistry::start(common::Backend::Sqlite)
        .await
        .expect("sqlite");
    for method in ["BREW", "X-RANDOM-1", "X-RANDOM-2"] {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        reg.http
            .request(method, reg.at("/random/path/abc123"))
            .send()
            .await
            .expect("request");
    }
    let metrics = reg
        .http
        .get(reg.at("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    let ours: Vec<&str> = metrics
        .lines()
        .filter(|l| l.starts_with("registry_http_requests_total"))
        .collect();
    assert!(
        ours.iter()
            .any(|l| l.contains("method=\"OTHER\"") && l.contains("route=\"unmatched\"")),
        "{ours:#?}"
    );
    for raw in ["BREW", "X-RANDOM", "abc123"] {
        assert!(!metrics.contains(raw), "`{raw}` became a label");
    }
}

/// Dead credentials are pruned: a token expired or revoked before the cut-off and an invite
/// expired or used before it go; a live token and a fresh invite stay. On both backends.
#[tokio::test]
async fn dead_tokens_and_invites_are_pruned_and_live_ones_kept() {
    use plexica_registry::storage::sql::SqlStore;
    use plexica_registry::storage::{MetadataStore, Token};
    for backend in [common::Backend::Sqlite, common::Backend::Postgres] {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = match backend {
            common::Backend::Sqlite => {
                format!("sqlite://{}?mode=rwc", dir.path().join("r.db").display())
            }
            common::Backend::Postgres => match common::postgres_database().await {
                Some(url) => url,
                None => continue,
            },
        };
        let store = SqlStore::connect(&url).await.expect("store");
        let user = store
            .create_user("ada", "hash", false)
            .await
            .expect("user")
            .expect("created");
        let token = |id: &str, expires_at: i64| Token {
            id: id.to_owned(),
            user_id: user.id,
            name: "t".to_owned(),
            scopes: vec![plexica_sdk::api::registry::Scope::Manage],
            created_at: 0,
            expires_at,
            revoked_at: None,
        };
        let now = 1_000_000;
        for (t, hash) in [
            (token("expired", now - 10), "h1"),
            (token("revoked", now + 10_000), "h2"),
            (token("live", now + 10_000), "h3"),
        ] {
            store.create_token(&t, hash).await.expect("token");
        }
        assert!(
            store
                .revoke_token(user.id, "revoked", now - 10)
                .await
                .expect("revoke")
        );
        store
            .create_invite("i1", "old", user.id, 0, now - 10)
            .await
            .expect("invite");
        store
            .create_invite("i2", "new", user.id, 0, now + 10_000)
            .await
            .expect("invite");
        let deleted = store.prune_credentials(now, 1000).await.expect("prune");
        assert_eq!(deleted, 3, "two tokens and one invite");
        let left: Vec<String> = store
            .tokens_of(user.id)
            .await
            .expect("tokens")
            .into_iter()
            .map(|t| t.id)
            .collect();
        assert_eq!(left, ["live"]);
        assert_eq!(store.prune_credentials(now, 1000).await.expect("prune"), 0);
    }
}

/// Password attempts are counted in the database: two replicas behind a load balancer share
/// one allowance per account, so spreading guesses over them gains nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_limit_holds_across_replicas() {
    let limited = |c: &mut Config| {
        c.limits.password_per_account = RateLimit::per_minute(1, 4);
    };
    let Some(a) = TestRegistry::start_with(common::Backend::Postgres, limited).await else {
        return;
    };
    let shared = a.database_url.clone();
    let b = TestRegistry::start_with(common::Backend::Postgres, move |c| {
        limited(c);
        c.database_url = shared;
    })
    .await
    .expect("second replica");
    // One sign-in (through A) at set-up, then three wrong guesses spread over both replicas.
    a.publisher("ada").await;
    for (i, replica) in [&b, &a, &b].into_iter().enumerate() {
        let (status, _, body) = send(token_request(replica, "ada", "wrong password!!")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "guess {i}: {body}");
    }
    for replica in [&a, &b] {
        let (status, _, body) = send(token_request(replica, "ada", "a long enough password")).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED"),
            "{body}"
        );
    }
}
