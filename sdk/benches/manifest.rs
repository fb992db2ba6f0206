//! In-process budgets of quality.md: manifest validation, packaging, hashing, signing.
//!
//! Run with `cargo bench -p plexica-sdk --features package --bench manifest`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // A bench fails by panicking.
#![allow(missing_docs)] // criterion_group! defines undocumented functions.

use std::hint::black_box;
use std::io::Cursor;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use plexica_sdk::manifest;
use plexica_sdk::package::signing::SecretKey;
use plexica_sdk::package::{
    Limits, PackageFile, Source, read_package, sha256_hex, sign_package, verify_package,
    write_package,
};

const FULL: &str = include_str!("../tests/suite/fixtures/full.toml");

/// The spec's full example padded with permissions to 200 lines.
fn manifest_of_200_lines() -> String {
    let mut text = FULL.to_owned();
    let mut i = 0;
    while text.lines().count() < 196 {
        text.push_str(&format!(
            "\n[[permissions]]\nkey = \"extra{i}:read\"\ndescription = \"Extra permission {i}\"\n"
        ));
        i += 1;
    }
    text
}

/// 50 MiB of plugin files: 50 files of 1 MiB of printable pseudo-random text (it deflates to
/// about 80 %, like minified assets).
fn files_of_50_mib() -> Vec<PackageFile> {
    let mut state = 0x9e37_79b9_u32;
    let mut files: Vec<PackageFile> = (0..50u32)
        .map(|i| {
            let bytes: Vec<u8> = (0..1024 * 1024u32)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 17;
                    state ^= state << 5;
                    b' ' + (state % 95) as u8
                })
                .collect();
            PackageFile {
                path: format!("assets/file{i:02}.bin"),
                size: bytes.len() as u64,
                source: Source::Bytes(bytes),
                executable: false,
            }
        })
        .collect();
    let manifest = "[plugin]\nid = \"bench\"\nname = \"Bench\"\nversion = \"1.0.0\"\n\
        description = \"A benchmark plugin\"\nauthors = [\"A <a@example.com>\"]\nlicense = \"MIT\"\n\
        [frontend]\ndist = \"assets\"\nremote-entry = \"file00.bin\"\n";
    files.push(PackageFile {
        path: "plexica.toml".into(),
        size: manifest.len() as u64,
        source: Source::Bytes(manifest.as_bytes().to_vec()),
        executable: false,
    });
    files
}

/// A plugin directory whose one migration is 10 MiB: a table, then seed rows in multi-row
/// `INSERT`s of 1,000 rows each.
fn plugin_with_10_mib_migration() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let manifest = "[plugin]\nid = \"crm\"\nname = \"CRM\"\nversion = \"1.0.0\"\n\
                    description = \"Contacts and deals\"\nauthors = [\"A <a@example.com>\"]\n\
                    license = \"MIT\"\n[backend]\nentry = \"bin/crm\"\n\
                    migrations = \"migrations\"\n";
    std::fs::write(dir.path().join("plexica.toml"), manifest).expect("manifest");
    std::fs::create_dir(dir.path().join("migrations")).expect("dir");
    let mut sql = String::from("CREATE TABLE crm_seed (id BIGINT PRIMARY KEY, name TEXT);\n");
    let mut row = 0u64;
    while sql.len() < 10 * 1024 * 1024 {
        sql.push_str("INSERT INTO crm_seed (id, name) VALUES\n");
        for i in 0..1000 {
            let separator = if i == 999 { ";" } else { "," };
            sql.push_str(&format!("  ({row}, 'contact number {row}'){separator}\n"));
            row += 1;
        }
    }
    std::fs::write(dir.path().join("migrations/0001_seed.sql"), sql).expect("migration");
    dir
}

fn benches(c: &mut Criterion) {
    let plugin = plugin_with_10_mib_migration();
    let text = std::fs::read_to_string(plugin.path().join("plexica.toml")).expect("manifest");
    let files = manifest::DirFiles(plugin.path().to_owned());
    let report = manifest::check(&text, "plexica.toml", Some(&files));
    assert_eq!(report.error_count(), 0, "{:?}", report.diagnostics);
    let mut group = c.benchmark_group("migrations");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(10 * 1024 * 1024));
    group.bench_function("validate a 10 MiB migration", |b| {
        b.iter(|| manifest::check(black_box(&text), "plexica.toml", Some(&files)))
    });
    group.finish();

    let text = manifest_of_200_lines();
    assert_eq!(
        manifest::check(&text, "plexica.toml", None).error_count(),
        0
    );
    c.bench_function("validate 200-line manifest", |b| {
        b.iter(|| manifest::check(black_box(&text), "plexica.toml", None))
    });

    let files = files_of_50_mib();
    let mut group = c.benchmark_group("package");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(50 * 1024 * 1024));
    group.bench_function("write 50 MiB package", |b| {
        b.iter(|| write_package(black_box(&files), None, Cursor::new(Vec::new())))
    });
    let Source::Bytes(one) = &files[0].source else {
        unreachable!("bench files are in memory")
    };
    let fifty: Vec<u8> = one.repeat(50);
    group.bench_function("sha256 of 50 MiB", |b| {
        b.iter(|| sha256_hex(black_box(&fifty)))
    });
    group.finish();

    let small = write_package(&files[49..], None, Cursor::new(Vec::new()))
        .map(Cursor::into_inner)
        .expect("bench package is written");
    let key = SecretKey::generate();
    let public = key.public_key();
    let signed = sign_package(&small, &key, 1).expect("bench package is signed");
    let checksums = read_package(&signed, &Limits::default())
        .expect("bench package reads back")
        .checksums_text
        .expect("bench package has CHECKSUMS");
    assert!(verify_package(&signed, std::slice::from_ref(&public), &Limits::default()).passed());
    c.bench_function("sign CHECKSUMS", |b| {
        b.iter(|| {
            key.sign(
                black_box(checksums.as_bytes()),
                "plexica-plugin id=bench version=1.0.0 key=0 timestamp=1",
            )
        })
    });
    let signature = key.sign(checksums.as_bytes(), "comment");
    c.bench_function("verify CHECKSUMS signature", |b| {
        b.iter(|| public.verify(black_box(checksums.as_bytes()), &signature))
    });
    c.bench_function("verify 1 MiB signed package (all checks)", |b| {
        b.iter(|| {
            verify_package(
                black_box(&signed),
                std::slice::from_ref(&public),
                &Limits::default(),
            )
        })
    });
}

criterion_group!(manifest_benches, benches);
criterion_main!(manifest_benches);
