//! Authentication: login, `/auth/me`, forged and stale access tokens, refresh rotation and
//! reuse detection, logout, API tokens and their scopes, login rate limits, password hashes.

use crate::common;

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{ADMIN_PASSWORD, assert_error};
use plexica_core_api::limits::RateLimit;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// The three dot-separated parts of a JWT.
fn parts(token: &str) -> (String, String, String) {
    let mut it = token.split('.');
    let header = it.next().expect("header").to_owned();
    let payload = it.next().expect("payload").to_owned();
    let signature = it.next().expect("signature").to_owned();
    assert!(it.next().is_none(), "a JWT has three parts");
    (header, payload, signature)
}

fn decode_json(part: &str) -> Value {
    let bytes = URL_SAFE_NO_PAD.decode(part).expect("base64url part");
    serde_json::from_slice(&bytes).expect("JSON part")
}

fn encode_json(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string().as_bytes())
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

/// `GET /auth/me` with `token` must answer 401 (with `code` when given), and so must a tenant
/// route of `tenant` when given.
async fn assert_refused(
    core: &common::TestCore,
    token: &str,
    code: Option<&str>,
    tenant: Option<&str>,
    what: &str,
) {
    let (status, body) = core.get("/api/v1/auth/me", token).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "{what}: /auth/me answered {body}"
    );
    if let Some(code) = code {
        assert_eq!(body["error"]["code"], code, "{what}: {body}");
    }
    if let Some(t) = tenant {
        let (status, body) = core
            .get(&format!("/api/v1/tenants/{t}/workspaces"), token)
            .await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "{what}: tenant route answered {body}"
        );
    }
}

on_both_backends!(login_and_me, |core| {
    // The super admin (logged in by `TestCore`): no tenant, email `admin`.
    let (status, me) = core.get("/api/v1/auth/me", &core.admin).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert!(me["id"].as_str().is_some_and(|id| !id.is_empty()), "{me}");
    assert_eq!(me["email"], "admin");
    assert!(
        me.get("tenant").is_none_or(Value::is_null),
        "super admin has no tenant: {me}"
    );
    assert_eq!(me["super_admin"], true);
    assert_eq!(me["roles"], json!(["super_admin"]));
    assert_eq!(me["permissions"], json!(["*"]));
    assert_eq!(me["auth"], "session");

    // A tenant admin and a tenant member.
    let a = core.tenant("alpha").await;
    let (status, pair) = core
        .login_pair(Some("alpha"), &a.admin_email, &a.admin_password)
        .await;
    assert_eq!(status, StatusCode::OK, "{pair}");
    assert_eq!(pair["token_type"], "Bearer");
    assert_eq!(pair["expires_in"], 15 * 60);
    assert!(
        pair["refresh_token"]
            .as_str()
            .is_some_and(|r| r.starts_with("plxrt_")),
        "{pair}"
    );
    assert_ne!(
        pair["access_token"],
        a.admin_token.as_str(),
        "each login is its own session"
    );
    let (status, me) = core
        .get(
            "/api/v1/auth/me",
            pair["access_token"].as_str().expect("access_token"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["email"], a.admin_email.as_str());
    assert_eq!(me["tenant"], "alpha");
    assert_eq!(me["super_admin"], false);
    assert_eq!(me["roles"], json!(["admin"]));
    assert_eq!(me["permissions"], json!(["*"]));
    let admin_id = me["id"].as_str().expect("id").to_owned();
    let (member_id, member) = core.user(&a, "Member@Alpha.test", &["member"]).await;
    let (status, me) = core.get("/api/v1/auth/me", &member).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["id"], member_id.as_str());
    assert_ne!(me["id"], admin_id.as_str());
    assert_eq!(
        me["email"], "member@alpha.test",
        "emails are stored lower-case"
    );
    assert_eq!(me["roles"], json!(["member"]));
    let permissions: Vec<&str> = me["permissions"]
        .as_array()
        .expect("permissions")
        .iter()
        .map(|p| p.as_str().expect("permission string"))
        .collect();
    assert!(permissions.contains(&"workspaces:read"), "{me}");
    assert!(
        !permissions.contains(&"*") && !permissions.contains(&"users:write"),
        "{me}"
    );

    // Every failure looks alike: wrong password, unknown user, unknown tenant, a tenant user
    // trying the super admin's door, the super admin with a wrong password.
    let failures = [
        (Some("alpha"), a.admin_email.as_str(), "wrong password 123"),
        (
            Some("alpha"),
            "nobody@alpha.test",
            a.admin_password.as_str(),
        ),
        (
            Some("nosuch"),
            a.admin_email.as_str(),
            a.admin_password.as_str(),
        ),
        (None, a.admin_email.as_str(), a.admin_password.as_str()),
        (None, "admin", "not the admin password"),
    ];
    let mut messages = Vec::new();
    for (tenant, email, password) in failures {
        let (status, body) = core.login_pair(tenant, email, password).await;
        assert_error(
            status,
            &body,
            StatusCode::UNAUTHORIZED,
            "INVALID_CREDENTIALS",
        );
        assert!(body.get("access_token").is_none(), "{body}");
        messages.push(
            body["error"]["message"]
                .as_str()
                .expect("message")
                .to_owned(),
        );
    }
    assert!(
        messages.windows(2).all(|w| w[0] == w[1]),
        "one message for every failure: {messages:?}"
    );
});

on_both_backends!(forged_foreign_and_expired_tokens_are_refused, |core| {
    // A second server sharing nothing (its own key, issuer `other`), whose access tokens
    // live 1 s: started first, so that the wait for expiry overlaps the checks below.
    let other = common::TestCore::start_with(core.backend, |c| {
        c.issuer = "other".to_owned();
        c.access_token_ttl = Duration::from_secs(1);
    })
    .await
    .expect("second server");
    let (status, short) = other.login_pair(None, "admin", ADMIN_PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{short}");
    assert_eq!(short["expires_in"], 1);
    let short_access = short["access_token"].as_str().expect("access").to_owned();
    let (status, body) = other.get("/api/v1/auth/me", &short_access).await;
    assert_eq!(status, StatusCode::OK, "a fresh 1 s token: {body}");
    let short_exp = decode_json(&parts(&short_access).1)["exp"]
        .as_u64()
        .expect("exp");

    let a = core.tenant("alpha").await;
    let (h, p, sig) = parts(&a.admin_token);
    let header = decode_json(&h);
    let claims = decode_json(&p);
    let kid = header["kid"].as_str().expect("kid").to_owned();
    assert_eq!(header["alg"], "EdDSA");
    assert_eq!(claims["tenant"], "alpha");

    // The JWKS publishes the key the tokens name.
    let (status, jwks) = core
        .call(Method::GET, "/.well-known/jwks.json", None, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let jwk = jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .expect("the token's kid is published")
        .clone();
    assert_eq!(jwk["alg"], "EdDSA");
    assert_eq!(jwk["crv"], "Ed25519");
    let x = jwk["x"].as_str().expect("x").to_owned();

    // Control: the same claims signed with the server's own key are accepted, so each refusal
    // below is due to the one thing changed.
    let control = core.sign_as_server(&claims).await;
    let (status, body) = core.get("/api/v1/auth/me", &control).await;
    assert_eq!(status, StatusCode::OK, "control token: {body}");

    // `alg: none`, no signature (with and without the server's kid).
    for none_header in [
        json!({ "alg": "none", "typ": "JWT", "kid": kid }),
        json!({ "alg": "none", "typ": "JWT" }),
        json!({ "alg": "None", "kid": kid }),
    ] {
        let token = format!("{}.{p}.", encode_json(&none_header));
        assert_refused(
            &core,
            &token,
            Some("INVALID_TOKEN"),
            Some("alpha"),
            "alg none",
        )
        .await;
        let token = format!("{}.{p}.{sig}", encode_json(&none_header));
        assert_refused(
            &core,
            &token,
            Some("INVALID_TOKEN"),
            Some("alpha"),
            "alg none with a signature",
        )
        .await;
    }

    // Signed by another Ed25519 key, presenting the server's kid.
    {
        use ed25519_dalek::pkcs8::EncodePrivateKey;
        let foreign = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
        let der = foreign.to_pkcs8_der().expect("pkcs8");
        let mut jh = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
        jh.kid = Some(kid.clone());
        let token = jsonwebtoken::encode(
            &jh,
            &claims,
            &jsonwebtoken::EncodingKey::from_ed_der(der.as_bytes()),
        )
        .expect("sign with a foreign key");
        assert_refused(
            &core,
            &token,
            Some("INVALID_TOKEN"),
            Some("alpha"),
            "foreign Ed25519 key",
        )
        .await;
        jh.kid = Some("k_other".to_owned());
        let token = jsonwebtoken::encode(
            &jh,
            &claims,
            &jsonwebtoken::EncodingKey::from_ed_der(der.as_bytes()),
        )
        .expect("sign with a foreign key");
        assert_refused(
            &core,
            &token,
            Some("INVALID_TOKEN"),
            Some("alpha"),
            "unknown kid",
        )
        .await;
    }

    // Algorithm confusion: HS256 keyed with the public key (its JWKS text and its raw bytes).
    let raw_public = URL_SAFE_NO_PAD.decode(&x).expect("x is base64url");
    for secret in [x.as_bytes().to_vec(), raw_public] {
        let mut jh = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        jh.kid = Some(kid.clone());
        let token = jsonwebtoken::encode(
            &jh,
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(&secret),
        )
        .expect("HS256");
        assert_refused(
            &core,
            &token,
            Some("INVALID_TOKEN"),
            Some("alpha"),
            "HS256 with the public key",
        )
        .await;
    }

    // A valid signature over other claims: one claim changed, one byte flipped, another
    // token's payload.
    let mut escalated = claims.clone();
    escalated["super_admin"] = json!(true);
    let token = format!("{h}.{}.{sig}", encode_json(&escalated));
    assert_refused(
        &core,
        &token,
        Some("INVALID_TOKEN"),
        Some("alpha"),
        "claim changed",
    )
    .await;
    let (status, _) = core.get("/api/v1/tenants", &token).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "an escalated claim reaches no super-admin route"
    );
    let mut flipped = p.clone().into_bytes();
    let i = flipped.len() / 2;
    flipped[i] = if flipped[i] == b'A' { b'B' } else { b'A' };
    let token = format!("{h}.{}.{sig}", String::from_utf8(flipped).expect("ascii"));
    assert_refused(&core, &token, None, Some("alpha"), "payload byte flipped").await;
    let (_, super_payload, _) = parts(&core.admin);
    let token = format!("{h}.{super_payload}.{sig}");
    assert_refused(
        &core,
        &token,
        Some("INVALID_TOKEN"),
        None,
        "another user's payload",
    )
    .await;
    let (status, _) = core.get("/api/v1/tenants", &token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let token = format!("{h}.{p}.");
    assert_refused(
        &core,
        &token,
        Some("INVALID_TOKEN"),
        Some("alpha"),
        "signature stripped",
    )
    .await;

    // The server's own key, but wrong issuer, wrong audience, missing claims or expired.
    let mut wrong_iss = claims.clone();
    wrong_iss["iss"] = json!("other");
    let mut wrong_aud = claims.clone();
    wrong_aud["aud"] = json!("someone-else");
    let mut no_exp = claims.clone();
    no_exp.as_object_mut().expect("object").remove("exp");
    let mut expired = claims.clone();
    expired["exp"] = json!(now_secs() - 60);
    for (what, c, code) in [
        ("wrong issuer", &wrong_iss, "INVALID_TOKEN"),
        ("wrong audience", &wrong_aud, "INVALID_TOKEN"),
        ("no exp", &no_exp, "INVALID_TOKEN"),
        ("expired a minute ago", &expired, "TOKEN_EXPIRED"),
    ] {
        let token = core.sign_as_server(c).await;
        assert_refused(&core, &token, Some(code), Some("alpha"), what).await;
    }

    // The other server's tokens are refused here, and this server's tokens there.
    assert_eq!(decode_json(&parts(&other.admin).1)["iss"], "other");
    assert_refused(
        &core,
        &other.admin,
        Some("INVALID_TOKEN"),
        None,
        "token of another server",
    )
    .await;
    let (status, _) = core.get("/api/v1/tenants", &other.admin).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_refused(
        &other,
        &core.admin,
        Some("INVALID_TOKEN"),
        None,
        "token of the first server",
    )
    .await;

    // The genuine tokens still work.
    let (status, _) = core
        .get("/api/v1/tenants/alpha/workspaces", &a.admin_token)
        .await;
    assert_eq!(status, StatusCode::OK);

    // Expiry for real: the 1 s token, once past `exp` and the 5 s verification leeway.
    let wait = (short_exp + 6).saturating_sub(now_secs());
    tokio::time::sleep(Duration::from_secs(wait) + Duration::from_millis(200)).await;
    assert_refused(
        &other,
        &short_access,
        Some("TOKEN_EXPIRED"),
        None,
        "expired access token",
    )
    .await;
    let (status, _) = other.get("/api/v1/tenants", &short_access).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // The refresh token still renews the session.
    let (status, renewed) =
        refresh(&other, short["refresh_token"].as_str().expect("refresh")).await;
    assert_eq!(status, StatusCode::OK, "{renewed}");
    let (status, body) = other
        .get(
            "/api/v1/auth/me",
            renewed["access_token"].as_str().expect("access"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "renewed token: {body}");
});

/// `POST /auth/refresh` with `refresh`.
async fn refresh(core: &common::TestCore, refresh: &str) -> (StatusCode, Value) {
    core.call(
        Method::POST,
        "/api/v1/auth/refresh",
        None,
        Some(json!({ "refresh_token": refresh })),
    )
    .await
}

on_both_backends!(refresh_rotates_and_reuse_revokes_the_family, |core| {
    let (status, pair) = core.login_pair(None, "admin", ADMIN_PASSWORD).await;
    assert_eq!(status, StatusCode::OK);
    let a0 = pair["access_token"].as_str().expect("access").to_owned();
    let r0 = pair["refresh_token"].as_str().expect("refresh").to_owned();

    let (status, second) = refresh(&core, &r0).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    let a1 = second["access_token"].as_str().expect("access").to_owned();
    let r1 = second["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_owned();
    assert_ne!(r1, r0, "the refresh token rotates");
    let (status, body) = core.get("/api/v1/auth/me", &a1).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["email"], "admin");

    let (status, third) = refresh(&core, &r1).await;
    assert_eq!(status, StatusCode::OK, "{third}");
    let a2 = third["access_token"].as_str().expect("access").to_owned();
    let r2 = third["refresh_token"].as_str().expect("refresh").to_owned();
    assert!(r2 != r1 && r2 != r0);

    // Reusing r0 (already traded) revokes the whole family.
    let (status, body) = refresh(&core, &r0).await;
    assert_error(
        status,
        &body,
        StatusCode::UNAUTHORIZED,
        "REFRESH_TOKEN_REUSED",
    );
    let (status, body) = refresh(&core, &r2).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the newest refresh token of the family: {body}"
    );
    for access in [&a0, &a1, &a2] {
        assert_refused(
            &core,
            access,
            Some("SESSION_REVOKED"),
            None,
            "access token of a revoked family",
        )
        .await;
    }
    // Other sessions of the same user are not touched.
    let (status, _) = core.get("/api/v1/auth/me", &core.admin).await;
    assert_eq!(status, StatusCode::OK);

    // Unknown and malformed refresh tokens.
    let (status, body) = refresh(&core, "plxrt_0000").await;
    assert_error(
        status,
        &body,
        StatusCode::UNAUTHORIZED,
        "INVALID_REFRESH_TOKEN",
    );
    let (status, body) = refresh(&core, &a1).await;
    assert_error(
        status,
        &body,
        StatusCode::UNAUTHORIZED,
        "INVALID_REFRESH_TOKEN",
    );

    // The same refresh token raced twice: never two new pairs.
    let (status, pair) = core.login_pair(None, "admin", ADMIN_PASSWORD).await;
    assert_eq!(status, StatusCode::OK);
    let r = pair["refresh_token"].as_str().expect("refresh").to_owned();
    let ((s1, b1), (s2, b2)) = tokio::join!(refresh(&core, &r), refresh(&core, &r));
    let ok = [s1, s2].iter().filter(|s| **s == StatusCode::OK).count();
    assert!(
        ok <= 1,
        "one refresh token traded twice: {s1} {b1} / {s2} {b2}"
    );
    assert!(
        [s1, s2].contains(&StatusCode::UNAUTHORIZED),
        "the second use is refused: {s1} {b1} / {s2} {b2}"
    );
});

on_both_backends!(logout_revokes_the_session, |core| {
    let a = core.tenant("alpha").await;
    let (status, pair) = core
        .login_pair(Some("alpha"), &a.admin_email, &a.admin_password)
        .await;
    assert_eq!(status, StatusCode::OK, "{pair}");
    let access = pair["access_token"].as_str().expect("access").to_owned();
    let refresh_token = pair["refresh_token"].as_str().expect("refresh").to_owned();
    let (status, _) = core.get("/api/v1/tenants/alpha/workspaces", &access).await;
    assert_eq!(status, StatusCode::OK);

    let (status, body) = core.post("/api/v1/auth/logout", &access, json!({})).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_refused(
        &core,
        &access,
        Some("SESSION_REVOKED"),
        Some("alpha"),
        "logged-out access token",
    )
    .await;
    let (status, body) = refresh(&core, &refresh_token).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "refresh after logout: {body}"
    );
    // Logging out twice is refused too (the session is gone).
    let (status, _) = core.post("/api/v1/auth/logout", &access, json!({})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // The admin's other session (the fixture's login) is still valid.
    let (status, _) = core
        .get("/api/v1/tenants/alpha/workspaces", &a.admin_token)
        .await;
    assert_eq!(status, StatusCode::OK);
    // API tokens are not sessions: logout refuses them.
    let (status, created) = core
        .post(
            "/api/v1/auth/tokens",
            &a.admin_token,
            json!({ "name": "ci" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let plx = created["token"].as_str().expect("token");
    let (status, body) = core.post("/api/v1/auth/logout", plx, json!({})).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "BAD_REQUEST");
    let (status, _) = core.get("/api/v1/auth/me", plx).await;
    assert_eq!(status, StatusCode::OK);
});

on_both_backends!(api_tokens, |core| {
    let a = core.tenant("alpha").await;
    let (status, created) = core
        .post(
            "/api/v1/auth/tokens",
            &a.admin_token,
            json!({ "name": "ci", "expires_in_seconds": 3600 }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let secret = created["token"].as_str().expect("token").to_owned();
    let id = created["id"].as_str().expect("id").to_owned();
    assert!(secret.starts_with("plx_") && secret.len() > 40, "{secret}");
    assert_eq!(created["name"], "ci");
    assert_eq!(created["scopes"], json!(["*"]));
    assert!(created["expires_at"].is_string());

    // Listed without the secret.
    let (status, list) = core.get("/api/v1/auth/tokens", &a.admin_token).await;
    assert_eq!(status, StatusCode::OK);
    let listed = list.as_array().expect("array");
    assert_eq!(listed.len(), 1, "{list}");
    assert_eq!(listed[0]["id"], id.as_str());
    assert!(listed[0].get("token").is_none(), "{list}");
    assert!(
        !list.to_string().contains(&secret[4..]),
        "the secret is never listed again"
    );

    // It authenticates, as an API token.
    let (status, me) = core.get("/api/v1/auth/me", &secret).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["auth"], "api_token");
    assert_eq!(me["email"], a.admin_email.as_str());
    assert_eq!(me["tenant"], "alpha");

    // A read-only token: reads workspaces, cannot create users or widen itself.
    let (status, created) = core
        .post(
            "/api/v1/auth/tokens",
            &a.admin_token,
            json!({ "name": "reader", "scopes": ["workspaces:read"] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let reader = created["token"].as_str().expect("token").to_owned();
    let reader_id = created["id"].as_str().expect("id").to_owned();
    let (status, me) = core.get("/api/v1/auth/me", &reader).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["permissions"], json!(["workspaces:read"]));
    let (status, body) = core.get("/api/v1/tenants/alpha/workspaces", &reader).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["total"], 1);
    let (status, body) = core
        .post(
            "/api/v1/tenants/alpha/users",
            &reader,
            json!({ "email": "x@alpha.test", "password": "password-123" }),
        )
        .await;
    assert_error(status, &body, StatusCode::FORBIDDEN, "FORBIDDEN");
    assert_eq!(body["error"]["details"]["required"], "users:write");
    let (status, body) = core
        .post(
            "/api/v1/tenants/alpha/workspaces",
            &reader,
            json!({ "slug": "nope", "name": "Nope" }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    for wider in [
        json!(["users:write"]),
        json!(["*"]),
        json!(["workspaces:*"]),
        json!(["workspaces:read", "users:read"]),
    ] {
        let (status, body) = core
            .post(
                "/api/v1/auth/tokens",
                &reader,
                json!({ "name": "wider", "scopes": wider }),
            )
            .await;
        assert_error(status, &body, StatusCode::FORBIDDEN, "SCOPE_TOO_WIDE");
    }
    // The same scope, or the default (the creating token's scopes), is fine.
    let (status, body) = core
        .post("/api/v1/auth/tokens", &reader, json!({ "name": "child" }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["scopes"], json!(["workspaces:read"]));
    // Bad requests.
    for bad in [
        json!({ "name": "x", "scopes": ["not a scope"] }),
        json!({ "name": "x", "scopes": [] }),
        json!({ "name": "x", "expires_in_seconds": 5 }),
        json!({ "name": "" }),
    ] {
        let (status, body) = core
            .post("/api/v1/auth/tokens", &a.admin_token, bad.clone())
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
    }

    // A super-admin token limited to reading workspaces cannot manage tenants.
    let (status, created) = core
        .post(
            "/api/v1/auth/tokens",
            &core.admin,
            json!({ "name": "ops", "scopes": ["workspaces:read"] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let ops = created["token"].as_str().expect("token");
    let (status, _) = core.get("/api/v1/tenants", ops).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = core.get("/api/v1/tenants/alpha/workspaces", ops).await;
    assert_eq!(status, StatusCode::OK);

    // Revocation.
    let (status, body) = core
        .delete(&format!("/api/v1/auth/tokens/{id}"), &a.admin_token)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_refused(
        &core,
        &secret,
        Some("INVALID_TOKEN"),
        Some("alpha"),
        "revoked API token",
    )
    .await;
    let (status, body) = core
        .delete(&format!("/api/v1/auth/tokens/{id}"), &a.admin_token)
        .await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "TOKEN_NOT_FOUND");
    let (status, list) = core.get("/api/v1/auth/tokens", &a.admin_token).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        list.as_array()
            .expect("array")
            .iter()
            .all(|t| t["id"] != id.as_str()),
        "{list}"
    );
    // A token revokes itself.
    let (status, _) = core
        .delete(&format!("/api/v1/auth/tokens/{reader_id}"), &reader)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_refused(
        &core,
        &reader,
        Some("INVALID_TOKEN"),
        None,
        "self-revoked API token",
    )
    .await;
    // Forged token values.
    assert_refused(
        &core,
        "plx_",
        Some("INVALID_TOKEN"),
        Some("alpha"),
        "empty plx token",
    )
    .await;
    assert_refused(
        &core,
        &format!("{}0", &secret[..secret.len() - 1]),
        Some("INVALID_TOKEN"),
        Some("alpha"),
        "altered plx token",
    )
    .await;
});

on_both_backends!(
    login_rate_limit,
    config = |c: &mut plexica_core_api::Config| {
        c.limits.login_per_account = RateLimit::per_minute(5, 3);
    },
    |core| {
        let a = core.tenant("alpha").await;
        // A user that has not logged in yet.
        let (status, body) = core
        .post(
            "/api/v1/tenants/alpha/users",
            &a.admin_token,
            json!({ "email": "bob@alpha.test", "password": "bob-password-1", "roles": ["member"] }),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        for _ in 1..=3 {
            let (status, body) = core
                .login_pair(Some("alpha"), "bob@alpha.test", "wrong-password")
                .await;
            assert_error(
                status,
                &body,
                StatusCode::UNAUTHORIZED,
                "INVALID_CREDENTIALS",
            );
        }
        let response = core
        .call_raw(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({ "tenant": "alpha", "email": "bob@alpha.test", "password": "wrong-password" })),
        )
        .await;
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        let retry_after: u64 = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .expect("Retry-After header")
            .to_str()
            .expect("ascii")
            .parse()
            .expect("Retry-After is a number of seconds");
        assert!((1..=13).contains(&retry_after), "Retry-After {retry_after}");
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["error"]["code"], "RATE_LIMITED", "{body}");
        // Even the right password waits: the limit is checked before the password.
        let (status, body) = core
            .login_pair(Some("alpha"), "BOB@alpha.test", "bob-password-1")
            .await;
        assert_error(status, &body, StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED");
        // Another account is not affected.
        let (status, body) = core
            .login_pair(Some("alpha"), &a.admin_email, &a.admin_password)
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, body) = core.login_pair(None, "admin", ADMIN_PASSWORD).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
);

/// Login attempts are counted in the database: behind a load balancer, an attacker spreading
/// guesses over two replicas gets the same three as against one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_rate_limit_holds_across_replicas() {
    let limited = |c: &mut plexica_core_api::Config| {
        c.limits.login_per_account = RateLimit::per_minute(1, 3);
    };
    let Some(a) = common::TestCore::start_with(common::Backend::Postgres, limited).await else {
        return;
    };
    let b = a.replica(limited).await;
    // The fixture signs the tenant's admin in once (through A); two wrong guesses follow, one
    // through each replica: three in all, where each replica alone has seen at most two.
    let t = a.tenant("alpha").await;
    for (i, replica) in [&b, &a].into_iter().enumerate() {
        let (status, body) = replica
            .login_pair(Some("alpha"), &t.admin_email, "wrong-password")
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "attempt {i}: {body}");
    }
    let (status, body) = b
        .login_pair(Some("alpha"), &t.admin_email, &t.admin_password)
        .await;
    assert_error(status, &body, StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED");
    let (status, body) = a
        .login_pair(Some("alpha"), &t.admin_email, &t.admin_password)
        .await;
    assert_error(status, &body, StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED");
}

on_both_backends!(passwords_are_argon2id, |core| {
    let a = core.tenant("alpha").await;
    let hash = core.stored_password_hash("alpha", &a.admin_email).await;
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(!hash.contains(&a.admin_password));
    let (status, body) = core
        .post(
            "/api/v1/tenants/alpha/users",
            &a.admin_token,
            json!({ "email": "carol@alpha.test", "password": "carol-secret-9", "roles": ["guest"] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(
        body.get("initial_password").is_none_or(Value::is_null),
        "a chosen password is not echoed: {body}"
    );
    let carol = core.stored_password_hash("alpha", "carol@alpha.test").await;
    assert!(carol.starts_with("$argon2id$"), "{carol}");
    assert!(!carol.contains("carol-secret-9"));
    assert_ne!(carol, hash);
    // The super admin's hash, in the core database.
    let admin = core
        .api
        .state()
        .core
        .platform_user_by_email("admin")
        .await
        .expect("core database")
        .expect("super admin row");
    assert!(
        admin.password_hash.starts_with("$argon2id$"),
        "{}",
        admin.password_hash
    );
    // A changed password is stored as Argon2id too, and the old one stops working.
    let carol_id = body["id"].as_str().expect("id");
    let (status, body) = core
        .patch(
            &format!("/api/v1/tenants/alpha/users/{carol_id}"),
            &a.admin_token,
            json!({ "password": "carol-secret-10" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let changed = core.stored_password_hash("alpha", "carol@alpha.test").await;
    assert!(
        changed.starts_with("$argon2id$") && changed != carol,
        "{changed}"
    );
    let (status, _) = core
        .login_pair(Some("alpha"), "carol@alpha.test", "carol-secret-9")
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = core
        .login_pair(Some("alpha"), "carol@alpha.test", "carol-secret-10")
        .await;
    assert_eq!(status, StatusCode::OK);
});

// Signing keys are sealed at rest, rotate without logging anyone out, and a replica that did not
// rotate accepts the new key's tokens at once.
on_both_backends!(signing_keys_are_sealed_and_rotate, |core| {
    let postgres = core.backend == common::Backend::Postgres;
    let schema = if postgres { "core." } else { "" };
    let db = sqlx::AnyPool::connect(&core.database_url)
        .await
        .expect("core db");
    let stored: Vec<String> =
        sqlx::query_scalar(&format!("SELECT private_key FROM {schema}signing_keys"))
            .fetch_all(&db)
            .await
            .expect("keys");
    assert_eq!(stored.len(), 1);
    // Sealed: no PKCS#8 Ed25519 key (base64 `MC4CAQAwBQYDK2Vw…`) in the database.
    assert!(stored[0].starts_with("sealed:v1:"), "{}", stored[0]);
    assert!(!stored[0].contains("MC4CAQAw"), "{}", stored[0]);

    let before = core.admin.clone();
    let old_kid = decode_json(&parts(&before).0)["kid"].clone();
    // Only the super admin rotates.
    let t = core.tenant("acme").await;
    let (status, body) = core
        .post(
            "/api/v1/admin/signing-keys/rotate",
            &t.admin_token,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, rotated) = core
        .post("/api/v1/admin/signing-keys/rotate", &core.admin, json!({}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{rotated}");
    let new_kid = rotated["kid"].clone();
    assert_ne!(new_kid, old_kid);
    // New tokens carry the new key; the old token still works; the JWKS lists both.
    let after = core
        .login(
            None,
            plexica_sdk::api::core::SUPER_ADMIN_EMAIL,
            ADMIN_PASSWORD,
        )
        .await;
    assert_eq!(decode_json(&parts(&after).0)["kid"], new_kid);
    for token in [&before, &after] {
        let (status, me) = core.get("/api/v1/auth/me", token).await;
        assert_eq!(status, StatusCode::OK, "{me}");
    }
    let jwks: Value = core
        .http
        .get(format!("{}/.well-known/jwks.json", core.url))
        .send()
        .await
        .expect("jwks")
        .json()
        .await
        .expect("json");
    let kids: Vec<&Value> = jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| &k["kid"])
        .collect();
    assert!(
        kids.contains(&&old_kid) && kids.contains(&&new_kid),
        "{jwks}"
    );
    let stored: Vec<String> =
        sqlx::query_scalar(&format!("SELECT private_key FROM {schema}signing_keys"))
            .fetch_all(&db)
            .await
            .expect("keys");
    assert_eq!(stored.len(), 2);
    assert!(stored.iter().all(|k| k.starts_with("sealed:v1:")));
    db.close().await;

    if postgres {
        // Another replica loaded its keys before a rotation it did not make.
        let replica = core.replica(|_| {}).await;
        let (status, rotated) = core
            .post("/api/v1/admin/signing-keys/rotate", &core.admin, json!({}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{rotated}");
        let newest = core
            .login(
                None,
                plexica_sdk::api::core::SUPER_ADMIN_EMAIL,
                ADMIN_PASSWORD,
            )
            .await;
        assert_eq!(decode_json(&parts(&newest).0)["kid"], rotated["kid"]);
        let (status, me) = replica.get("/api/v1/auth/me", &newest).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "the replica accepts the new key's token: {me}"
        );
        replica.stop().await;
    } else {
        // Without the key-encryption key the sealed keys do not open: the server refuses to
        // start rather than make new keys or run without them.
        let dir = core.dir.path().to_owned();
        let mut config = plexica_core_api::Config::embedded(&dir);
        config.key_encryption = plexica_core_api::auth::sealing::KeySource::Key(
            plexica_core_api::auth::sealing::KeyEncryptionKey::generate(),
        );
        let refused = plexica_core_api::CoreApi::open(config, None).await;
        let message = refused.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains("does not open"), "{message}");
    }
});
