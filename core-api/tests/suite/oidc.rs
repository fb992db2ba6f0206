//! Tokens of a tenant's external identity provider (`settings.oidc`): accepted for that tenant's
//! routes when issuer, audience and signature check out against the provider's keys and the
//! email names a tenant user; refused otherwise, and never for another tenant. The provider is a
//! stand-in (an HTTP server publishing a key set) — it is not one of our components.

use crate::common;

use axum::Json;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

struct Provider {
    jwks_uri: String,
    key: EncodingKey,
}

fn signing_key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

/// Serves `{"keys":[…]}` with the public half of `key` under `kid`.
async fn provider(seed: u8, kid: &str) -> Provider {
    let key = signing_key(seed);
    let jwks = json!({ "keys": [{
        "kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": kid,
        "x": URL_SAFE_NO_PAD.encode(key.verifying_key().as_bytes()),
    }]});
    let app = axum::Router::new().route("/jwks", get(move || async move { Json(jwks.clone()) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    Provider {
        jwks_uri: format!("http://{addr}/jwks"),
        key: EncodingKey::from_ed_der(key.to_pkcs8_der().expect("der").as_bytes()),
    }
}

fn token(key: &EncodingKey, kid: &str, claims: Value) -> String {
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, &claims, key).expect("sign")
}

fn claims(issuer: &str, audience: &str, email: &str) -> Value {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    json!({
        "iss": issuer, "aud": audience, "sub": "kc-123", "email": email, "email_verified": true,
        "exp": now + 300, "iat": now,
    })
}

on_both_backends!(external_provider_tokens, |core| {
    let idp = provider(7, "idp-1").await;
    let other_key = signing_key(9);
    let other = EncodingKey::from_ed_der(other_key.to_pkcs8_der().expect("der").as_bytes());
    let issuer = "https://idp.test/realms/alpha";
    let oidc =
        json!({ "oidc": { "issuer": issuer, "audience": "plexica", "jwks_uri": idp.jwks_uri } });
    let a = core.tenant("alpha").await;
    let (status, _) = core
        .call(
            Method::PATCH,
            "/api/v1/tenants/alpha",
            Some(&core.admin),
            Some(json!({ "settings": oidc })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    core.tenant("bravo").await;
    let (_, _) = core.user(&a, "bob@alpha.test", &["member"]).await;

    let good = token(
        &idp.key,
        "idp-1",
        claims(issuer, "plexica", "Bob@alpha.test"),
    );
    let (status, body) = core.get("/api/v1/tenants/alpha/workspaces", &good).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The user's own permissions apply: a member cannot create users.
    let (status, _) = core
        .post(
            "/api/v1/tenants/alpha/users",
            &good,
            json!({ "email": "x@alpha.test" }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Never for another tenant, even one that exists.
    let (status, _) = core.get("/api/v1/tenants/bravo/workspaces", &good).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Nor for routes that are not a tenant's.
    let (status, _) = core.get("/api/v1/auth/me", &good).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Wrong audience, wrong issuer, another key under the same kid, unknown kid, expired.
    for (label, bad) in [
        (
            "audience",
            token(
                &idp.key,
                "idp-1",
                claims(issuer, "someone-else", "bob@alpha.test"),
            ),
        ),
        (
            "issuer",
            token(
                &idp.key,
                "idp-1",
                claims("https://idp.test/realms/bravo", "plexica", "bob@alpha.test"),
            ),
        ),
        (
            "key",
            token(&other, "idp-1", claims(issuer, "plexica", "bob@alpha.test")),
        ),
        (
            "kid",
            token(
                &idp.key,
                "idp-2",
                claims(issuer, "plexica", "bob@alpha.test"),
            ),
        ),
        ("expired", {
            let mut c = claims(issuer, "plexica", "bob@alpha.test");
            c["exp"] = json!(1_000_000);
            token(&idp.key, "idp-1", c)
        }),
    ] {
        let (status, body) = core.get("/api/v1/tenants/alpha/workspaces", &bad).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{label}: {body}");
    }
    // A verified identity that is not a user of the tenant.
    let stranger = token(
        &idp.key,
        "idp-1",
        claims(issuer, "plexica", "eve@elsewhere.test"),
    );
    let (status, body) = core
        .get("/api/v1/tenants/alpha/workspaces", &stranger)
        .await;
    common::assert_error(status, &body, StatusCode::FORBIDDEN, "UNKNOWN_IDENTITY");

    // An address the provider has not verified is nobody's, the tenant admin's least of all.
    let admin_email = a.admin_email.as_str();
    for verified in [json!(false), json!("true"), serde_json::Value::Null] {
        let mut c = claims(issuer, "plexica", admin_email);
        match &verified {
            serde_json::Value::Null => {
                c.as_object_mut().map(|o| o.remove("email_verified"));
            }
            v => c["email_verified"] = v.clone(),
        }
        let unverified = token(&idp.key, "idp-1", c);
        let (status, body) = core
            .post(
                "/api/v1/tenants/alpha/users",
                &unverified,
                json!({ "email": "planted@alpha.test", "roles": ["admin"] }),
            )
            .await;
        // `"true"` as text is no boolean: the token itself is refused.
        let code = match verified.is_string() {
            true => "INVALID_TOKEN",
            false => "EMAIL_NOT_VERIFIED",
        };
        common::assert_error(status, &body, StatusCode::UNAUTHORIZED, code);
    }
    let (status, users) = core
        .get("/api/v1/tenants/alpha/users", &a.admin_token)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(!users.to_string().contains("planted@"), "{users}");
    // A tenant whose provider has no such claim may turn the rule off.
    let relaxed = json!({ "oidc": {
        "issuer": issuer, "audience": "plexica", "jwks_uri": idp.jwks_uri,
        "require_verified_email": false,
    } });
    let (status, _) = core
        .call(
            Method::PATCH,
            "/api/v1/tenants/alpha",
            Some(&core.admin),
            Some(json!({ "settings": relaxed })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let mut c = claims(issuer, "plexica", "bob@alpha.test");
    c["email_verified"] = json!(false);
    let (status, body) = core
        .get(
            "/api/v1/tenants/alpha/workspaces",
            &token(&idp.key, "idp-1", c),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // A bad provider configuration is refused up front.
    let (status, body) = core
        .call(
            Method::PATCH,
            "/api/v1/tenants/bravo",
            Some(&core.admin),
            Some(json!({ "settings": { "oidc": { "issuer": "x", "audience": "y", "jwks_uri": "ftp://nope" } } })),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["details"]["field"], "settings.oidc");
});
