//! The blob-store contract, run on the local directory store and on a real S3-compatible
//! server on loopback (`moto_server`, installed by `.ci/run`), plus a publish and download
//! through a registry whose blobs live in S3.

use crate::common;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use bytes::Bytes;
use plexica_registry::BlobConfig;
use plexica_registry::storage::BlobStore;
use plexica_registry::storage::blobs::{LocalBlobs, ObjectBlobs, S3Config};
use plexica_sdk::package::sha256_hex;
use plexica_testkit::services::Moto;
use reqwest::StatusCode;

async fn blob_store_contract(store: &dyn BlobStore) {
    let bytes = Bytes::from_static(b"package bytes");
    let digest = sha256_hex(&bytes);
    assert_eq!(store.get(&digest).await.expect("get"), None);
    store.put(&digest, bytes.clone()).await.expect("put");
    store
        .put(&digest, bytes.clone())
        .await
        .expect("put is idempotent");
    assert_eq!(store.get(&digest).await.expect("get"), Some(bytes.clone()));
    let other = Bytes::from_static(b"other bytes");
    let other_digest = sha256_hex(&other);
    store.put(&other_digest, other).await.expect("put");
    let mut expected = vec![digest.clone(), other_digest.clone()];
    expected.sort();
    assert_eq!(store.list().await.expect("list"), expected);
    store.delete(&digest).await.expect("delete");
    store.delete(&digest).await.expect("deleting twice is fine");
    assert_eq!(store.get(&digest).await.expect("get"), None);
    assert_eq!(store.list().await.expect("list"), vec![other_digest]);
    for bad in ["../../etc/passwd", "ABC", ""] {
        assert!(store.put(bad, bytes.clone()).await.is_err(), "{bad}");
        assert!(store.get(bad).await.is_err(), "{bad}");
    }
}

#[tokio::test]
async fn local_blob_store_keeps_the_contract() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = LocalBlobs::open(dir.path()).expect("open");
    blob_store_contract(&store).await;
    std::fs::write(dir.path().join("tmp").join("leftover"), b"partial").expect("write");
    LocalBlobs::open(dir.path()).expect("reopen");
    assert!(
        !dir.path().join("tmp").join("leftover").exists(),
        "temp files are removed on open"
    );
}

async fn moto() -> Option<Moto> {
    Moto::start().await
}

async fn bucket(moto: &Moto, name: &str) -> S3Config {
    moto.bucket(name).await;
    S3Config {
        bucket: name.to_owned(),
        endpoint: Some(moto.endpoint.clone()),
        region: "us-east-1".to_owned(),
        access_key_id: Some("test".to_owned()),
        secret_access_key: Some("test".to_owned()),
    }
}

#[tokio::test]
async fn s3_blob_store_keeps_the_contract() {
    let Some(moto) = moto().await else { return };
    let config = bucket(&moto, "contract").await;
    let store = ObjectBlobs::s3(&config).expect("s3 store");
    blob_store_contract(&store).await;
}

#[tokio::test]
async fn a_registry_on_s3_publishes_and_serves_packages() {
    let Some(moto) = moto().await else { return };
    let config = bucket(&moto, "packages").await;
    let reg = common::TestRegistry::start_with(common::Backend::Sqlite, |c| {
        c.blobs = BlobConfig::S3(config);
    })
    .await
    .expect("registry");
    let (token, key) = reg.publisher("ada").await;
    let bytes = common::signed(&key, "clouded", "1.0.0");
    assert_eq!(
        reg.publish(&token, bytes.clone()).await.0,
        StatusCode::CREATED
    );
    let download = reg
        .http
        .get(reg.at("/api/v1/plugins/clouded/versions/1.0.0/download"))
        .send()
        .await
        .expect("download");
    assert_eq!(download.status(), StatusCode::OK);
    assert_eq!(download.bytes().await.expect("bytes").to_vec(), bytes);
}

#[tokio::test]
async fn readiness_checks_the_bucket_and_recovers_when_it_appears() {
    let Some(moto) = moto().await else { return };
    let missing = S3Config {
        bucket: "not-yet".to_owned(),
        endpoint: Some(moto.endpoint.clone()),
        region: "us-east-1".to_owned(),
        access_key_id: Some("test".to_owned()),
        secret_access_key: Some("test".to_owned()),
    };
    let reg = common::TestRegistry::start_with(common::Backend::Sqlite, |c| {
        c.blobs = BlobConfig::S3(missing);
    })
    .await
    .expect("registry");
    let response = reg
        .http
        .get(reg.at("/health/ready"))
        .send()
        .await
        .expect("ready");
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().contains_key("retry-after"));
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(common::code(&body), "BLOB_STORE_UNAVAILABLE", "{body}");
    // The bucket appears: ready again, with no restart.
    bucket(&moto, "not-yet").await;
    let (status, body) = reg.get("/health/ready").await;
    assert_eq!(
        (status, body["blobs"].as_str()),
        (StatusCode::OK, Some("ok"))
    );
}

#[tokio::test]
async fn readiness_checks_the_blob_directory() {
    let reg = common::TestRegistry::start(common::Backend::Sqlite)
        .await
        .expect("registry");
    assert_eq!(reg.get("/health/ready").await.0, StatusCode::OK);
    std::fs::remove_dir_all(reg.dir.path().join("blobs")).expect("remove the blobs");
    let (status, body) = reg.get("/health/ready").await;
    assert_eq!(
        (status, common::code(&body)),
        (StatusCode::SERVICE_UNAVAILABLE, "BLOB_STORE_UNAVAILABLE")
    );
}

/// The binary on a data directory that does not exist yet, its blobs in S3: it makes the
/// directory (for its SQLite file) and serves.
#[tokio::test]
async fn the_binary_on_s3_makes_a_fresh_data_directory() {
    let Some(moto) = moto().await else { return };
    bucket(&moto, "fresh").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("not/made/yet");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port");
    let child = Command::new(env!("CARGO_BIN_EXE_plexica-registry"))
        .args(["--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(&data)
        .args(["--s3-bucket", "fresh", "--s3-endpoint", &moto.endpoint])
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("PLEXICA_BOOTSTRAP_ADMIN_PASSWORD", common::ADMIN_PASSWORD)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("registry binary");
    let mut server = Running(child);
    let http = reqwest::Client::new();
    let mut ready = None;
    for _ in 0..100 {
        if let Ok(response) = http
            .get(format!("http://127.0.0.1:{port}/health/ready"))
            .send()
            .await
        {
            ready = Some(response.status());
            break;
        }
        if let Ok(Some(status)) = server.0.try_wait() {
            panic!("the registry exited with {status}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(ready, Some(StatusCode::OK));
    assert!(data.join("registry.db").exists());
}

/// A child process, killed on drop.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
