//! The blob-store contract, run on the local directory store and on a real S3-compatible
//! server on loopback (`moto_server`, installed by `.ci/run`), plus a publish and download
//! through a registry whose blobs live in S3.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use bytes::Bytes;
use plexica_registry::BlobConfig;
use plexica_registry::storage::BlobStore;
use plexica_registry::storage::blobs::{LocalBlobs, ObjectBlobs, S3Config};
use plexica_sdk::package::sha256_hex;
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

/// A `moto_server` on a free loopback port, stopped on drop.
struct Moto {
    child: Child,
    endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn moto() -> Option<Moto> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port");
    let child = match Command::new("moto_server")
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(child) => child,
        Err(_) if std::env::var_os("CI").is_none() => {
            println!("skipped: moto_server is not installed (pip install 'moto[server]')");
            return None;
        }
        Err(e) => panic!("CI must provide moto_server: {e}"),
    };
    let endpoint = format!("http://127.0.0.1:{port}");
    let moto = Moto { child, endpoint };
    let http = reqwest::Client::new();
    for _ in 0..100 {
        if http.get(&moto.endpoint).send().await.is_ok() {
            return Some(moto);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("moto_server did not start");
}

async fn bucket(moto: &Moto, name: &str) -> S3Config {
    let response = reqwest::Client::new()
        .put(format!("{}/{name}", moto.endpoint))
        .send()
        .await
        .expect("create bucket");
    assert!(response.status().is_success(), "{}", response.status());
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
