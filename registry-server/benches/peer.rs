//! The load scenarios of `load.rs`, run against a peer registry that speaks npm's protocol
//! (Verdaccio), with the same data set shape, generators, rates and reporting (`loadgen/`).
//! `bench/verdaccio.sh` installs and configures Verdaccio, runs this and `load.rs`, and prints
//! both side by side:
//!
//! ```sh
//! bench/verdaccio.sh
//! ```
//!
//! Two modes:
//!
//! - `peer seed <storage dir>`: writes the data set (10,000 packages × 10 versions, the ids,
//!   descriptions and keywords of `load.rs`) straight into Verdaccio's local storage layout,
//!   before Verdaccio starts: `<storage>/<name>/package.json` (the package document, as
//!   Verdaccio writes it on publish) and `<storage>/.verdaccio-db.json` (the list of local
//!   packages, with an empty secret that Verdaccio generates at startup). Publishing 100,000
//!   versions over HTTP would take hours; as in `load.rs`, the seeded versions have metadata
//!   but no tarball.
//! - `peer`: checks that the peer serves the seeded data, then runs the scenarios against
//!   `$PEER_REGISTRY_URL`, publishing with `$PEER_REGISTRY_TOKEN`: sequential publish of 100
//!   distinct 1 MiB tarballs (`PUT /<name>`, the document with the base64 tarball in
//!   `_attachments`), package document (`GET /<name>`) at 1,000 req/s, the same answered 304,
//!   download of a 40 MiB tarball, then search (`GET /-/v1/search`), one client and 200 req/s.
//!   Search runs last because a registry that cannot sustain 200 req/s keeps working through
//!   the backlog after the client gave up, which would load the scenarios after it.

#![allow(clippy::unwrap_used, clippy::expect_used)] // A bench fails by panicking.
#![allow(missing_docs)] // criterion_group! defines undocumented functions.

mod loadgen;

use std::io::Write as _;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use loadgen::{Expect, PLUGINS, VERSIONS, plugin_id, spread};
use reqwest::StatusCode;
use serde::Serialize as _;
use serde_json::{Map, Value, json};
use sha1::Digest as _;

/// The peer's base URL, e.g. `http://127.0.0.1:4873`.
const URL_ENV: &str = "PEER_REGISTRY_URL";
/// A token of a user allowed to publish on the peer.
const TOKEN_ENV: &str = "PEER_REGISTRY_TOKEN";
/// Publication time of the first seeded version (2026-01-01T00:00:00Z); the next ones follow
/// one second apart, in the order of `load.rs`.
const SEEDED_FROM: i64 = 1_767_225_600;

/// An RFC 3339 timestamp, `seconds` after [`SEEDED_FROM`].
fn timestamp(seconds: usize) -> String {
    let seconds = i64::try_from(seconds).expect("timestamp");
    time::OffsetDateTime::from_unix_timestamp(SEEDED_FROM + seconds)
        .expect("timestamp")
        .format(&time::format_description::well_known::Rfc3339)
        .expect("format timestamp")
}

/// The stored document of seeded package `p`, in the shape Verdaccio 6 writes on publish.
fn seeded_document(base: &str, p: usize) -> Value {
    let name = plugin_id(p);
    let description = loadgen::plugin_description(p);
    let mut versions = Map::new();
    let mut times = Map::new();
    let mut attachments = Map::new();
    for v in 0..VERSIONS {
        let version = format!("1.{v}.0");
        let serial = p * VERSIONS + v;
        let shasum = format!("{serial:040x}");
        let integrity = format!(
            "sha512-{}",
            BASE64.encode(sha2::Sha512::digest(shasum.as_bytes()))
        );
        versions.insert(
            version.clone(),
            json!({
                "name": name,
                "version": version,
                "description": description,
                "keywords": loadgen::plugin_keywords(p),
                "license": "MIT",
                "author": {"name": "B", "email": "b@example.com"},
                "_id": format!("{name}@{version}"),
                "dist": {
                    "shasum": shasum,
                    "integrity": integrity,
                    "tarball": format!("{base}/{name}/-/{name}-{version}.tgz"),
                },
                "contributors": [],
            }),
        );
        times.insert(version.clone(), json!(timestamp(serial)));
        attachments.insert(
            format!("{name}-{version}.tgz"),
            json!({"shasum": shasum, "version": version}),
        );
    }
    times.insert("created".into(), json!(timestamp(p * VERSIONS)));
    times.insert(
        "modified".into(),
        json!(timestamp(p * VERSIONS + VERSIONS - 1)),
    );
    json!({
        "name": name,
        "versions": versions,
        "time": times,
        "users": {},
        "dist-tags": {"latest": format!("1.{}.0", VERSIONS - 1)},
        "_uplinks": {},
        "_distfiles": {},
        "_attachments": attachments,
        "_rev": format!("{VERSIONS}-{p:016x}"),
        "_id": name,
        "readme": "",
    })
}

/// Writes the data set into Verdaccio's storage directory `storage` (see the module docs).
fn seed(storage: &Path, base: &str) {
    let mut names = Vec::with_capacity(PLUGINS);
    for p in 0..PLUGINS {
        let name = plugin_id(p);
        let dir = storage.join(&name);
        std::fs::create_dir_all(&dir).expect("package directory");
        // Tab-indented, as Verdaccio writes its documents.
        let mut bytes = Vec::new();
        let formatter = serde_json::ser::PrettyFormatter::with_indent(b"\t");
        seeded_document(base, p)
            .serialize(&mut serde_json::Serializer::with_formatter(
                &mut bytes, formatter,
            ))
            .expect("serialize document");
        std::fs::write(dir.join("package.json"), bytes).expect("write package.json");
        names.push(name);
    }
    let database = json!({"list": names, "secret": ""});
    std::fs::write(
        storage.join(".verdaccio-db.json"),
        serde_json::to_vec(&database).expect("serialize database"),
    )
    .expect("write .verdaccio-db.json");
}

/// Appends one tar entry (ustar header, data, padding) for a regular file.
fn tar_entry(tar: &mut Vec<u8>, path: &str, data: &[u8]) {
    let mut header = [0u8; 512];
    assert!(path.len() < 100, "tar path too long: {path}");
    header[..path.len()].copy_from_slice(path.as_bytes());
    let fields: [(usize, String); 5] = [
        (100, "0000644\0".into()),
        (108, "0000000\0".into()),
        (116, "0000000\0".into()),
        (124, format!("{:011o}\0", data.len())),
        // npm pack's fixed mtime, 1985-10-26T08:15:00Z.
        (136, format!("{:011o}\0", 499_162_500)),
    ];
    for (offset, field) in fields {
        header[offset..offset + field.len()].copy_from_slice(field.as_bytes());
    }
    header[148..156].fill(b' ');
    header[156] = b'0';
    header[257..263].copy_from_slice(b"ustar\0");
    header[263..265].copy_from_slice(b"00");
    let checksum: u32 = header.iter().map(|&b| u32::from(b)).sum();
    header[148..156].copy_from_slice(format!("{checksum:06o}\0 ").as_bytes());
    tar.extend_from_slice(&header);
    tar.extend_from_slice(data);
    tar.resize(tar.len().next_multiple_of(512), 0);
}

/// An npm package tarball: `package/package.json` and `package/ui/remoteEntry.js` holding
/// `payload`, the two files of `load.rs`'s packages, gzip'd like `npm pack` does.
fn npm_tarball(name: &str, version: &str, payload: &[u8]) -> Vec<u8> {
    let manifest = json!({
        "name": name,
        "version": version,
        "description": format!("Benchmark plugin {name} for bench"),
        "license": "MIT",
        "main": "ui/remoteEntry.js",
    });
    let mut tar = Vec::with_capacity(payload.len() + 4096);
    tar_entry(
        &mut tar,
        "package/package.json",
        manifest.to_string().as_bytes(),
    );
    tar_entry(&mut tar, "package/ui/remoteEntry.js", payload);
    tar.resize(tar.len() + 1024, 0);
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gzip.write_all(&tar).expect("gzip");
    gzip.finish().expect("gzip")
}

/// The body of npm's publish request (`PUT /<name>`) for one version with its tarball.
fn publish_document(base: &str, name: &str, version: &str, tarball: &[u8]) -> Vec<u8> {
    let file = format!("{name}-{version}.tgz");
    let description = format!("Benchmark plugin {name} for bench");
    let document = json!({
        "_id": name,
        "name": name,
        "description": description,
        "dist-tags": {"latest": version},
        "versions": {
            version: {
                "name": name,
                "version": version,
                "description": description,
                "license": "MIT",
                "main": "ui/remoteEntry.js",
                "_id": format!("{name}@{version}"),
                "dist": {
                    "shasum": format!("{:x}", sha1::Sha1::digest(tarball)),
                    "integrity": format!("sha512-{}", BASE64.encode(sha2::Sha512::digest(tarball))),
                    "tarball": format!("{base}/{name}/-/{file}"),
                },
            },
        },
        "access": null,
        "_attachments": {
            file: {
                "content_type": "application/octet-stream",
                "data": BASE64.encode(tarball),
                "length": tarball.len(),
            },
        },
    });
    serde_json::to_vec(&document).expect("serialize publish document")
}

/// Checks that the peer serves the seeded data set: a sample of packages across it, each with
/// all its versions, and a search page.
async fn verify(client: &reqwest::Client, base: &str) {
    let sample: Vec<usize> = (0..PLUGINS).step_by(997).chain([PLUGINS - 1]).collect();
    for &p in &sample {
        let name = plugin_id(p);
        let document: Value = client
            .get(format!("{base}/{name}"))
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .unwrap_or_else(|e| panic!("seeded package {name} not served: {e}"))
            .json()
            .await
            .expect("package document");
        let versions = document["versions"].as_object().map(Map::len);
        assert_eq!(versions, Some(VERSIONS), "versions of {name}");
        assert_eq!(
            document["versions"]["1.9.0"]["description"],
            loadgen::plugin_description(p),
            "description of {name}"
        );
        assert_eq!(document["dist-tags"]["latest"], "1.9.0", "latest of {name}");
    }
    let query = loadgen::query(0);
    let found: Value = client
        .get(format!("{base}/-/v1/search?text={query}&size=20"))
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .expect("search")
        .json()
        .await
        .expect("search results");
    let hits = found["objects"].as_array().expect("search objects");
    assert_eq!(hits.len(), 20, "search hits for {query}");
    for hit in hits {
        let name = hit["package"]["name"].as_str().expect("hit name");
        let description = hit["package"]["description"].as_str().unwrap_or_default();
        assert!(
            name.contains(query) || description.contains(query),
            "hit {name} does not match {query}"
        );
    }
    eprintln!(
        "verified: {} seeded packages served with {VERSIONS} versions each, search answers 20 hits",
        sample.len()
    );
}

/// The "achieved" cell: successful answers per second.
fn achieved(outcome: &loadgen::Outcome, rate: Option<u32>) -> String {
    match rate {
        Some(rate) => format!("{:.1} req/s of {rate}", outcome.achieved_rate()),
        None => format!("{:.1} req/s", outcome.achieved_rate()),
    }
}

/// Runs the scenarios against the peer.
async fn run(base: &str, token: &str) {
    let client = loadgen::client();
    verify(&client, base).await;
    loadgen::header("achieved");

    let mut tarball_size = 0;
    let mut documents: Vec<Vec<u8>> = (0..100)
        .map(|i| {
            let version = format!("1.0.{i}");
            let tarball = npm_tarball("bench-publish", &version, &loadgen::noise(1 << 20, i + 1));
            tarball_size = tarball.len();
            publish_document(base, "bench-publish", &version, &tarball)
        })
        .collect();
    eprintln!(
        "publishing tarballs of {tarball_size} bytes, in JSON documents of {} bytes",
        documents[0].len()
    );
    let publish = loadgen::sequential(documents.len(), Expect::status(StatusCode::CREATED), |i| {
        client
            .put(format!("{base}/bench-publish"))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(std::mem::take(&mut documents[i]))
    })
    .await;
    loadgen::report(
        "publish",
        "publish 1 MiB tarball (sequential)",
        &publish,
        &achieved(&publish, None),
    );

    let document_url = |p: usize| format!("{base}/{}", plugin_id(p));
    let documents = loadgen::constant_rate(1000, 10_000, Expect::status(StatusCode::OK), |i| {
        client.get(document_url(spread(i)))
    })
    .await;
    loadgen::report(
        "package_document",
        "package document, 1,000 req/s",
        &documents,
        &achieved(&documents, Some(1000)),
    );
    let mut etags = Vec::new();
    for p in 0..100 {
        let response = client.get(document_url(p)).send().await.expect("document");
        etags.push(response.headers()["etag"].clone());
    }
    let cached = loadgen::constant_rate(
        1000,
        10_000,
        Expect::status(StatusCode::NOT_MODIFIED),
        |i| {
            client
                .get(document_url(i % 100))
                .header("if-none-match", &etags[i % 100])
        },
    )
    .await;
    loadgen::report(
        "package_document_304",
        "package document answered 304, 1,000 req/s",
        &cached,
        &achieved(&cached, Some(1000)),
    );

    let tarball = npm_tarball("bench-download", "1.0.0", &loadgen::noise(40 << 20, 99));
    let size = tarball.len();
    let body = publish_document(base, "bench-download", "1.0.0", &tarball);
    let response = client
        .put(format!("{base}/bench-download"))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("publish big");
    assert_eq!(response.status(), StatusCode::CREATED, "publish big");
    let download = loadgen::sequential(
        10,
        Expect {
            status: StatusCode::OK,
            body_len: Some(size),
        },
        |_| client.get(format!("{base}/bench-download/-/bench-download-1.0.0.tgz")),
    )
    .await;
    loadgen::report_download(
        "download",
        &format!(
            "download {:.0} MiB, single stream",
            size as f64 / f64::from(1 << 20)
        ),
        size,
        &download,
        &achieved(&download, None),
    );

    let search_url = |i: usize| format!("{base}/-/v1/search?text={}&size=20", loadgen::query(i));
    let search_one = loadgen::sequential(20, Expect::status(StatusCode::OK), |i| {
        client.get(search_url(i))
    })
    .await;
    loadgen::report(
        "search_sequential",
        "search, 10,000 packages, one client (sequential)",
        &search_one,
        &achieved(&search_one, None),
    );
    let search = loadgen::constant_rate(200, 2000, Expect::status(StatusCode::OK), |i| {
        client.get(search_url(i))
    })
    .await;
    loadgen::report(
        "search",
        "search, 10,000 packages, 200 req/s",
        &search,
        &achieved(&search, Some(200)),
    );
}

#[tokio::main]
async fn main() {
    // `cargo bench` appends `--bench`; options are not ours.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let base = std::env::var(URL_ENV).unwrap_or_else(|_| panic!("{URL_ENV} is not set"));
    let base = base.trim_end_matches('/');
    match args.as_slice() {
        [mode, storage] if mode == "seed" => {
            let started = std::time::Instant::now();
            seed(Path::new(storage), base);
            eprintln!(
                "seeded {PLUGINS} packages × {VERSIONS} versions into {storage} in {:.1?}",
                started.elapsed()
            );
        }
        [] => {
            let token =
                std::env::var(TOKEN_ENV).unwrap_or_else(|_| panic!("{TOKEN_ENV} is not set"));
            run(base, &token).await;
        }
        _ => panic!("usage: peer [seed <verdaccio storage dir>]"),
    }
}
