//! A real core API, in-process on an ephemeral port, on SQLite (temp dir) or PostgreSQL (a
//! fresh database per test on `PLEXICA_TEST_POSTGRES_URL`), and helpers to drive it over HTTP.

use plexica_core_api::{Config, CoreApi};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tempfile::TempDir;

pub use plexica_testkit::Backend;

pub mod binary;
pub mod plugin;
pub mod registry;

/// A tenant slug no earlier run used, `prefix` first (NATS subjects and consumers outlive test
/// runs on the server).
pub fn fresh_slug(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{prefix}{:x}", nanos % 0xffff_ffff)
}

/// The key that seals the signing keys of every test server (32 zero bytes).
pub const TEST_KEY_ENCRYPTION_KEY: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

/// Password of the bootstrap super admin in tests.
pub const ADMIN_PASSWORD: &str = "correct horse battery staple";

/// A running core API.
pub struct TestCore {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// Data directory (SQLite files).
    pub dir: TempDir,
    /// The core database URL.
    pub database_url: String,
    /// The backend.
    pub backend: Backend,
    /// The super admin's access token.
    pub admin: String,
    /// The service (for its state).
    pub api: CoreApi,
    /// HTTP client.
    pub http: reqwest::Client,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

/// A provisioned tenant and its first admin.
#[derive(Debug, Clone)]
pub struct TenantFixture {
    /// Slug.
    pub slug: String,
    /// First admin's email.
    pub admin_email: String,
    /// First admin's password.
    pub admin_password: String,
    /// First admin's access token.
    pub admin_token: String,
}

impl TestCore {
    /// Starts on `backend`; `None` when the backend is not available here.
    pub async fn start(backend: Backend) -> Option<Self> {
        Self::start_with(backend, |_| {}).await
    }

    /// Starts on `backend` with `adjust` applied to the configuration.
    pub async fn start_with(backend: Backend, adjust: impl FnOnce(&mut Config)) -> Option<Self> {
        let dir = tempfile::tempdir().expect("tempdir");
        let database_url = match backend {
            Backend::Postgres => Some(plexica_testkit::postgres_database("plexica_core").await?),
            Backend::Sqlite => None,
        };
        Some(Self::start_in(backend, dir, database_url, adjust).await)
    }

    /// Stops this server and starts a new one on the same data (same directory and database),
    /// with `adjust` applied to a fresh default configuration.
    pub async fn restart_with(mut self, adjust: impl FnOnce(&mut Config)) -> Self {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().expect("tempdir"));
        let database_url = (self.backend == Backend::Postgres).then(|| self.database_url.clone());
        Self::start_in(self.backend, dir, database_url, adjust).await
    }

    /// Starts a second server on this one's PostgreSQL database (a replica), with `adjust`
    /// applied to a fresh default configuration.
    pub async fn replica(&self, adjust: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        Self::start_in(self.backend, dir, Some(self.database_url.clone()), adjust).await
    }

    /// Subscribes `sub` from now on, as an install would.
    pub async fn subscribe(&self, sub: &plexica_core_api::db::delivery::Subscription) {
        self.api
            .state()
            .core
            .put_subscription(sub, plexica_sdk::api::time::now_ms())
            .await
            .expect("subscribe");
    }

    /// Starts on SQLite data already in `dir` (a restored backup, say).
    pub async fn start_on(dir: TempDir, adjust: impl FnOnce(&mut Config)) -> Self {
        Self::start_in(Backend::Sqlite, dir, None, adjust).await
    }

    /// Starts on the data in `dir` (SQLite) or at `database_url` (PostgreSQL, when given).
    async fn start_in(
        backend: Backend,
        dir: TempDir,
        database_url: Option<String>,
        adjust: impl FnOnce(&mut Config),
    ) -> Self {
        show_warnings();
        let mut config = Config::embedded(dir.path());
        config.plugin_state_dir = dir.path().join("plugin-state");
        // One key for every test server, so that replicas and restarts open each other's keys.
        config.key_encryption = plexica_core_api::auth::sealing::KeySource::Key(
            plexica_core_api::auth::sealing::KeyEncryptionKey::from_base64(TEST_KEY_ENCRYPTION_KEY)
                .expect("test key"),
        );
        if let Some(url) = database_url {
            config.database_url = url;
        }
        adjust(&mut config);
        let database_url = config.database_url.clone();
        let (api, _) = CoreApi::open(config, Some(ADMIN_PASSWORD.to_owned()))
            .await
            .expect("core API opens");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server = api.clone();
        let task = tokio::spawn(async move {
            let _ = server
                .serve(listener, async {
                    let _ = rx.await;
                })
                .await;
        });
        let mut core = Self {
            url,
            dir,
            database_url,
            backend,
            admin: String::new(),
            api,
            http: reqwest::Client::new(),
            shutdown: Some(tx),
            task: Some(task),
        };
        core.admin = core.login(None, "admin", ADMIN_PASSWORD).await;
        core.plugins_restarted().await;
        core
    }

    /// Waits until the server no longer says its plugins' backends are starting (it says so
    /// in `/health/ready` from start-up until it has restarted every active plugin).
    pub async fn plugins_restarted(&self) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let (_, body) = self.call(Method::GET, "/health/ready", None, None).await;
            if body["error"]["code"] != "PLUGINS_STARTING" {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the plugins never finished starting"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// Stops the server and waits for it.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    /// Sends a request; returns the status and the JSON body (`Null` when empty).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.url));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request");
        let status = response.status();
        let text = response.text().await.expect("body");
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, value)
    }

    /// `GET` as `token`.
    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, Some(token), None).await
    }

    /// `POST` as `token`.
    pub async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }

    /// Logs in and returns the access token (panics on failure).
    pub async fn login(&self, tenant: Option<&str>, email: &str, password: &str) -> String {
        let (status, body) = self.login_pair(tenant, email, password).await;
        assert_eq!(status, StatusCode::OK, "login {email}: {body}");
        body["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }

    /// Logs in; returns status and body (with both tokens).
    pub async fn login_pair(
        &self,
        tenant: Option<&str>,
        email: &str,
        password: &str,
    ) -> (StatusCode, Value) {
        let mut body = json!({ "email": email, "password": password });
        if let Some(t) = tenant {
            body["tenant"] = json!(t);
        }
        self.call(Method::POST, "/api/v1/auth/login", None, Some(body))
            .await
    }

    /// Provisions tenant `slug` and logs its first admin in.
    pub async fn tenant(&self, slug: &str) -> TenantFixture {
        let (status, body) = self
            .post(
                "/api/v1/tenants",
                &self.admin,
                json!({ "slug": slug, "name": format!("Tenant {slug}") }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "provision {slug}: {body}");
        let email = body["initial_admin"]["email"]
            .as_str()
            .expect("email")
            .to_owned();
        let password = body["initial_admin"]["password"]
            .as_str()
            .expect("password")
            .to_owned();
        let token = self.login(Some(slug), &email, &password).await;
        TenantFixture {
            slug: slug.to_owned(),
            admin_email: email,
            admin_password: password,
            admin_token: token,
        }
    }

    /// Creates a user with `roles` in `tenant` (as its admin); returns `(id, access token)`.
    pub async fn user(
        &self,
        tenant: &TenantFixture,
        email: &str,
        roles: &[&str],
    ) -> (String, String) {
        let (status, body) = self
            .post(
                &format!("/api/v1/tenants/{}/users", tenant.slug),
                &tenant.admin_token,
                json!({ "email": email, "password": "password-123", "roles": roles }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "create user {email}: {body}");
        let id = body["id"].as_str().expect("id").to_owned();
        let token = self.login(Some(&tenant.slug), email, "password-123").await;
        (id, token)
    }

    /// Sends a request and returns the raw response (to read headers).
    pub async fn call_raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> reqwest::Response {
        let mut request = self.http.request(method, format!("{}{path}", self.url));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.expect("request")
    }

    /// `PATCH` as `token`.
    pub async fn patch(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PATCH, path, Some(token), Some(body))
            .await
    }

    /// `DELETE` as `token`.
    pub async fn delete(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(Method::DELETE, path, Some(token), None).await
    }

    /// `total` of `GET /api/v1/tenants` (every status) as the super admin.
    pub async fn tenant_total(&self) -> u64 {
        let (status, body) = self.get("/api/v1/tenants", &self.admin).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["total"].as_u64().expect("total")
    }

    /// Names of every tenant data space that exists: SQLite files under `<dir>/tenants`
    /// (any suffix), PostgreSQL schemas `tenant_%`.
    pub async fn data_spaces(&self) -> Vec<String> {
        data_spaces(self.backend, self.dir.path(), &self.database_url).await
    }

    /// The stored password hash of `email` in tenant `slug`, read from its data space directly.
    pub async fn stored_password_hash(&self, slug: &str, email: &str) -> String {
        use sqlx::Connection;
        let schema = format!("tenant_{}", slug.replace('-', "_"));
        match self.backend {
            Backend::Sqlite => {
                let file = self.dir.path().join("tenants").join(format!("{schema}.db"));
                let options = sqlx::sqlite::SqliteConnectOptions::new()
                    .filename(&file)
                    .read_only(true);
                let mut conn = sqlx::SqliteConnection::connect_with(&options)
                    .await
                    .expect("open tenant file");
                let hash: String =
                    sqlx::query_scalar("SELECT password_hash FROM users WHERE email = ?1")
                        .bind(email)
                        .fetch_one(&mut conn)
                        .await
                        .expect("user row");
                let _ = conn.close().await;
                hash
            }
            Backend::Postgres => {
                let mut conn = sqlx::PgConnection::connect(&self.database_url)
                    .await
                    .expect("pg");
                let hash: String = sqlx::query_scalar(&format!(
                    "SELECT password_hash FROM \"{schema}\".users WHERE email = $1"
                ))
                .bind(email)
                .fetch_one(&mut conn)
                .await
                .expect("user row");
                hash
            }
        }
    }

    /// The storage handle of tenant `slug`'s data space.
    pub async fn tenant_db(&self, slug: &str) -> plexica_core_api::db::tenant::TenantDb {
        self.api
            .state()
            .tenant_dbs
            .get(&plexica_core_api::slug::TenantSlug::parse(slug).expect("slug"))
            .await
            .expect("tenant db")
    }

    /// Signs `claims` with the server's own current signing key (read from its core database),
    /// with `alg` EdDSA and the key's `kid`: the control for forged-token tests.
    pub async fn sign_as_server(&self, claims: &Value) -> String {
        use base64::Engine;
        let keys = self
            .api
            .state()
            .core
            .signing_keys()
            .await
            .expect("signing keys");
        let (kid, sealed, _) = keys.first().expect("a signing key").clone();
        let private =
            plexica_core_api::auth::sealing::KeyEncryptionKey::from_base64(TEST_KEY_ENCRYPTION_KEY)
                .expect("test key")
                .open(&kid, &sealed)
                .expect("the key opens with the test key");
        let der = base64::engine::general_purpose::STANDARD
            .decode(private)
            .expect("pkcs8 base64");
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
        header.kid = Some(kid);
        jsonwebtoken::encode(
            &header,
            claims,
            &jsonwebtoken::EncodingKey::from_ed_der(&der),
        )
        .expect("sign")
    }

    /// Creates a user with `roles` and the password `password-123` in `tenant` (as its admin)
    /// without logging them in; returns the id.
    pub async fn add_user(&self, tenant: &TenantFixture, email: &str, roles: &[&str]) -> String {
        let (status, body) = self
            .post(
                &format!("/api/v1/tenants/{}/users", tenant.slug),
                &tenant.admin_token,
                json!({ "email": email, "password": "password-123", "roles": roles }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "create user {email}: {body}");
        body["id"].as_str().expect("id").to_owned()
    }

    /// The id of the user `token` authenticates.
    pub async fn me_id(&self, token: &str) -> String {
        let (status, body) = self.get("/api/v1/auth/me", token).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["id"].as_str().expect("id").to_owned()
    }

    /// Does the tenant's data space exist (file or schema)?
    pub async fn data_space_exists(&self, slug: &str) -> bool {
        let schema = format!("tenant_{}", slug.replace('-', "_"));
        match self.backend {
            Backend::Sqlite => self
                .dir
                .path()
                .join("tenants")
                .join(format!("{schema}.db"))
                .exists(),
            Backend::Postgres => {
                use sqlx::Connection;
                let mut conn = sqlx::PgConnection::connect(&self.database_url)
                    .await
                    .expect("pg");
                let n: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = $1",
                )
                .bind(&schema)
                .fetch_one(&mut conn)
                .await
                .expect("query");
                n > 0
            }
        }
    }
}

impl Drop for TestCore {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Names of every tenant data space that exists for a core API on `backend` with data
/// directory `dir` and core database `database_url`.
pub async fn data_spaces(
    backend: Backend,
    dir: &std::path::Path,
    database_url: &str,
) -> Vec<String> {
    match backend {
        Backend::Sqlite => {
            let mut names: Vec<String> = match std::fs::read_dir(dir.join("tenants")) {
                Ok(entries) => entries
                    .map(|e| {
                        e.expect("dir entry")
                            .file_name()
                            .to_string_lossy()
                            .into_owned()
                    })
                    .collect(),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
                Err(e) => panic!("read {}: {e}", dir.display()),
            };
            names.sort();
            names
        }
        Backend::Postgres => {
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(database_url).await.expect("pg");
            let mut names: Vec<String> = sqlx::query_scalar(
                "SELECT CAST(schema_name AS TEXT) FROM information_schema.schemata \
                 WHERE schema_name LIKE 'tenant\\_%'",
            )
            .fetch_all(&mut conn)
            .await
            .expect("schemas");
            names.sort();
            names
        }
    }
}

/// Asserts the error envelope's code.
pub fn assert_error(status: StatusCode, body: &Value, expected_status: StatusCode, code: &str) {
    assert_eq!(status, expected_status, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(body["error"]["message"].is_string(), "{body}");
}

/// Defines `$name::sqlite` and `$name::postgres` running the same body against each backend.
#[macro_export]
macro_rules! on_both_backends {
    ($name:ident, |$core:ident| $body:block) => {
        mod $name {
            use super::*;

            async fn run($core: common::TestCore) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let core = common::TestCore::start(common::Backend::Sqlite).await.expect("sqlite");
                run(core).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(core) = common::TestCore::start(common::Backend::Postgres).await {
                    run(core).await;
                }
            }
        }
    };
    // The same, with the server's configuration adjusted by `$adjust` (`|c: &mut Config| …`).
    ($name:ident, config = $adjust:expr, |$core:ident| $body:block) => {
        mod $name {
            use super::*;

            async fn run($core: common::TestCore) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let core = common::TestCore::start_with(common::Backend::Sqlite, $adjust)
                    .await
                    .expect("sqlite");
                run(core).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(core) = common::TestCore::start_with(common::Backend::Postgres, $adjust).await {
                    run(core).await;
                }
            }
        }
    };
}

/// Sends the servers' logs (warnings and worse, or what `RUST_LOG` says) to the test's
/// captured output, so that a failing test shows what the server complained about.
fn show_warnings() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_test_writer()
        .with_ansi(false)
        .try_init();
}

/// Every event in the outbox behind `pool`, oldest first, with its sequence number.
pub async fn outbox(pool: &sqlx::AnyPool) -> Vec<(i64, plexica_sdk::api::events::Event)> {
    plexica_core_api::db::outbox::after(pool, 0, 100_000)
        .await
        .expect("outbox")
        .into_iter()
        .map(|(seq, envelope)| (seq, serde_json::from_str(&envelope).expect("an event")))
        .collect()
}
