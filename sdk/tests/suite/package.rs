//! The `.pxp` package (registry.md, "The package", "Signatures" and publish check 3): reproducible
//! writing, collection rules, defensive reading, signing and verification.
//!
//! Hostile archives are built with the small raw zip writer below, which (unlike the `zip`
//! crate's writer) can produce duplicate names, `..`, absolute paths, symlinks and lying sizes.

#![cfg(unix)]

use std::collections::BTreeMap;
use std::fs::{File, FileTimes};
use std::io::Cursor;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime};

use plexica_sdk::manifest::{BuildProfile, Manifest};
use plexica_sdk::package::signing::{PublicKey, SecretKey, TrustedComment};
use plexica_sdk::package::{
    CHECKSUMS_FILE, CheckStatus, Checksums, CollectError, CollectOptions, Compression, Limits,
    PackageError, PackageFile, SIGNATURE_FILE, SignError, Source, VerifyReport, collect,
    read_package, rewrite_with_signature, sha256_hex, sign_package, verify_package, write_package,
    write_package_with,
};
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------------
// Raw zip reading and writing
// ---------------------------------------------------------------------------------------------

const LOCAL_SIG: u32 = 0x0403_4b50;
const CENTRAL_SIG: u32 = 0x0201_4b50;
const EOCD_SIG: u32 = 0x0605_4b50;
/// "Version made by": Unix (3) in the high byte, zip 2.0 in the low byte.
const MADE_BY_UNIX: u16 = (3 << 8) | 20;
/// MS-DOS date of 1980-01-01 (day 1, month 1, year 1980 + 0).
const DOS_DATE_1980: u16 = (1 << 5) | 1;
const STORED: u16 = 0;
const DEFLATED: u16 = 8;
const REGULAR_0644: u32 = 0o100_644;
const REGULAR_0755: u32 = 0o100_755;
const SYMLINK_0777: u32 = 0o120_777;

/// CRC-32 (IEEE), bit by bit.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// One zip entry as it sits in the archive: metadata plus the stored (possibly deflated) bytes.
/// The declared sizes and CRC are written as given, so they can lie.
#[derive(Debug, Clone)]
struct RawEntry {
    name: Vec<u8>,
    made_by: u16,
    flags: u16,
    method: u16,
    time: u16,
    date: u16,
    crc: u32,
    compressed_size: u32,
    size: u32,
    /// Unix mode in the high 16 bits when `made_by` says Unix.
    external: u32,
    data: Vec<u8>,
    /// Extra-field and comment bytes found when reading (the writer writes none).
    extra_bytes: usize,
}

impl RawEntry {
    /// An honest stored entry, mode 0644, dated 1980-01-01.
    fn stored(name: impl Into<Vec<u8>>, data: impl Into<Vec<u8>>) -> Self {
        let data = data.into();
        let len = u32::try_from(data.len()).unwrap();
        Self {
            name: name.into(),
            made_by: MADE_BY_UNIX,
            flags: 0,
            method: STORED,
            time: 0,
            date: DOS_DATE_1980,
            crc: crc32(&data),
            compressed_size: len,
            size: len,
            external: REGULAR_0644 << 16,
            data,
            extra_bytes: 0,
        }
    }

    fn name(&self) -> &str {
        std::str::from_utf8(&self.name).unwrap()
    }

    fn mode(&self) -> u32 {
        self.external >> 16
    }
}

fn u16_at(bytes: &[u8], at: usize) -> u16 {
    u16::from_le_bytes(bytes[at..at + 2].try_into().unwrap())
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap())
}

/// Writes `entries` in order as a zip archive: local headers, central directory, end record.
fn zip_of(entries: &[RawEntry]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for e in entries {
        let offset = u32::try_from(out.len()).unwrap();
        let name_len = u16::try_from(e.name.len()).unwrap();
        out.extend(LOCAL_SIG.to_le_bytes());
        out.extend(20u16.to_le_bytes());
        for field in [e.flags, e.method, e.time, e.date] {
            out.extend(field.to_le_bytes());
        }
        for field in [e.crc, e.compressed_size, e.size] {
            out.extend(field.to_le_bytes());
        }
        out.extend(name_len.to_le_bytes());
        out.extend(0u16.to_le_bytes());
        out.extend(&e.name);
        out.extend(&e.data);

        central.extend(CENTRAL_SIG.to_le_bytes());
        for field in [e.made_by, 20, e.flags, e.method, e.time, e.date] {
            central.extend(field.to_le_bytes());
        }
        for field in [e.crc, e.compressed_size, e.size] {
            central.extend(field.to_le_bytes());
        }
        // Name length, extra length, comment length, disk number, internal attributes.
        for field in [name_len, 0, 0, 0, 0] {
            central.extend(field.to_le_bytes());
        }
        central.extend(e.external.to_le_bytes());
        central.extend(offset.to_le_bytes());
        central.extend(&e.name);
    }
    let count = u16::try_from(entries.len()).unwrap();
    let cd_offset = u32::try_from(out.len()).unwrap();
    let cd_size = u32::try_from(central.len()).unwrap();
    out.extend(central);
    out.extend(EOCD_SIG.to_le_bytes());
    for field in [0u16, 0, count, count] {
        out.extend(field.to_le_bytes());
    }
    out.extend(cd_size.to_le_bytes());
    out.extend(cd_offset.to_le_bytes());
    out.extend(0u16.to_le_bytes());
    out
}

/// Reads every entry of a (trusted, well-formed) zip archive through its central directory.
fn entries_of(bytes: &[u8]) -> Vec<RawEntry> {
    let eocd = (0..=bytes.len() - 22)
        .rev()
        .find(|&i| u32_at(bytes, i) == EOCD_SIG)
        .expect("end of central directory");
    let count = usize::from(u16_at(bytes, eocd + 10));
    let mut at = u32_at(bytes, eocd + 16) as usize;
    let mut entries = Vec::with_capacity(count);
    for _ in 0..count {
        assert_eq!(u32_at(bytes, at), CENTRAL_SIG);
        let name_len = usize::from(u16_at(bytes, at + 28));
        let central_extra =
            usize::from(u16_at(bytes, at + 30)) + usize::from(u16_at(bytes, at + 32));
        let local = u32_at(bytes, at + 42) as usize;
        assert_eq!(u32_at(bytes, local), LOCAL_SIG);
        let local_extra = usize::from(u16_at(bytes, local + 28));
        let data_start = local + 30 + usize::from(u16_at(bytes, local + 26)) + local_extra;
        let compressed_size = u32_at(bytes, at + 20);
        entries.push(RawEntry {
            name: bytes[at + 46..at + 46 + name_len].to_vec(),
            made_by: u16_at(bytes, at + 4),
            flags: u16_at(bytes, at + 8),
            method: u16_at(bytes, at + 10),
            time: u16_at(bytes, at + 12),
            date: u16_at(bytes, at + 14),
            crc: u32_at(bytes, at + 16),
            compressed_size,
            size: u32_at(bytes, at + 24),
            external: u32_at(bytes, at + 38),
            data: bytes[data_start..data_start + compressed_size as usize].to_vec(),
            extra_bytes: central_extra + local_extra,
        });
        at += 46 + name_len + central_extra;
    }
    entries
}

/// Re-zips the entries of `bytes` after `edit`, copying every untouched entry byte for byte.
fn rezip(bytes: &[u8], edit: impl FnOnce(&mut Vec<RawEntry>)) -> Vec<u8> {
    let mut entries = entries_of(bytes);
    edit(&mut entries);
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    zip_of(&entries)
}

fn position(entries: &[RawEntry], name: &str) -> usize {
    entries
        .iter()
        .position(|e| e.name == name.as_bytes())
        .unwrap_or_else(|| panic!("no entry `{name}`"))
}

// ---------------------------------------------------------------------------------------------
// Plugins and packages
// ---------------------------------------------------------------------------------------------

const TIMESTAMP: u64 = 1_700_000_000;

/// A valid frontend-only manifest.
fn frontend_manifest(id: &str, version: &str) -> String {
    format!(
        r#"[plugin]
id = "{id}"
name = "Demo"
version = "{version}"
description = "A demo plugin"
authors = ["Ada <ada@example.com>"]
license = "MIT"

[frontend]
dist = "ui/dist"
remote-entry = "remoteEntry.js"
"#
    )
}

/// A valid backend-only manifest whose entry `bin/demo` is built at `target/release/demo`.
const BACKEND_MANIFEST: &str = r#"[plugin]
id = "demo"
name = "Demo"
version = "1.0.0"
description = "A demo plugin"
authors = ["Ada <ada@example.com>"]
license = "MIT"

[backend]
entry = "bin/demo"
artifact = "target/release/demo"
"#;

fn bytes_file(path: &str, bytes: &[u8], executable: bool) -> PackageFile {
    PackageFile {
        path: path.to_owned(),
        source: Source::Bytes(bytes.to_vec()),
        size: bytes.len() as u64,
        executable,
    }
}

/// `plexica.toml` of the valid frontend plugin `demo`@1.0.0.
fn demo_manifest_file() -> PackageFile {
    bytes_file(
        "plexica.toml",
        frontend_manifest("demo", "1.0.0").as_bytes(),
        false,
    )
}

/// The files of plugin `id`@`version`: manifest, README, remote entry, a script, an asset.
fn plugin_files(id: &str, version: &str) -> Vec<PackageFile> {
    vec![
        bytes_file(
            "plexica.toml",
            frontend_manifest(id, version).as_bytes(),
            false,
        ),
        bytes_file("README.md", b"# Demo\n", false),
        bytes_file("bin/tool", b"#!/bin/sh\necho tool\n", true),
        bytes_file("ui/dist/app.js", b"export const app = 1;\n", false),
        bytes_file("ui/dist/remoteEntry.js", b"export default {};\n", false),
    ]
}

fn write(files: &[PackageFile], signature: Option<&str>) -> Vec<u8> {
    write_package(files, signature, Cursor::new(Vec::new()))
        .unwrap()
        .into_inner()
}

fn unsigned(id: &str, version: &str) -> Vec<u8> {
    write(&plugin_files(id, version), None)
}

fn signed(key: &SecretKey, id: &str, version: &str) -> Vec<u8> {
    sign_package(&unsigned(id, version), key, TIMESTAMP).unwrap()
}

fn checksums_text(bytes: &[u8]) -> String {
    read_package(bytes, &Limits::default())
        .unwrap()
        .checksums_text
        .unwrap()
}

/// A package holding a valid manifest followed by `hostile` entries.
fn hostile(hostile: Vec<RawEntry>) -> Vec<u8> {
    let mut entries = vec![RawEntry::stored(
        "plexica.toml",
        frontend_manifest("demo", "1.0.0"),
    )];
    entries.extend(hostile);
    zip_of(&entries)
}

/// Deterministic, incompressible bytes.
fn noise(len: usize) -> Vec<u8> {
    let mut state: u32 = 0x1234_5678;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state.to_le_bytes()[0]
        })
        .collect()
}

/// The checks of `report` that did not pass.
fn not_passed(report: &VerifyReport) -> Vec<(&str, CheckStatus, &str)> {
    report
        .checks
        .iter()
        .filter(|c| c.status != CheckStatus::Pass)
        .map(|c| (c.check, c.status, c.detail.as_str()))
        .collect()
}

/// Asserts that `bytes` is refused by `read_package` with the error `matches` accepts, its
/// `code` and `message`, and that `verify_package` fails its archive check with that message.
fn assert_rejected(
    bytes: &[u8],
    limits: &Limits,
    matches: impl Fn(&PackageError) -> bool,
    code: &str,
    message: &str,
) {
    let err = read_package(bytes, limits).expect_err("the package must be refused");
    assert!(matches(&err), "unexpected error variant: {err:?}");
    assert_eq!(err.code(), code);
    assert_eq!(err.to_string(), message);

    let key = SecretKey::generate();
    let report = verify_package(bytes, &[key.public_key()], limits);
    let skipped = "not checked: an earlier check failed";
    assert_eq!(
        not_passed(&report),
        vec![
            ("archive", CheckStatus::Fail, message),
            ("manifest", CheckStatus::Skip, skipped),
            ("checksums", CheckStatus::Skip, skipped),
            ("signature", CheckStatus::Skip, skipped),
        ]
    );
    assert!(!report.passed());
}

fn write_file(root: &Path, path: &str, contents: &[u8]) {
    let path = root.join(path);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, contents).unwrap();
}

fn set_mode(root: &Path, path: &str, mode: u32) {
    std::fs::set_permissions(root.join(path), std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Writes a frontend plugin tree with an executable script.
fn write_plugin_tree(root: &Path) {
    write_file(
        root,
        "plexica.toml",
        frontend_manifest("demo", "1.0.0").as_bytes(),
    );
    write_file(root, "README.md", b"# Demo\n");
    write_file(root, "ui/dist/remoteEntry.js", b"export default {};\n");
    write_file(root, "ui/dist/assets/app.js", b"export const app = 1;\n");
    write_file(root, "scripts/build.sh", b"#!/bin/sh\necho build\n");
    set_mode(root, "scripts/build.sh", 0o755);
}

fn collect_dir(root: &Path, options: &CollectOptions) -> Result<Vec<PackageFile>, CollectError> {
    let manifest = Manifest::from_file(root).unwrap();
    collect(root, &manifest, options)
}

fn paths(files: &[PackageFile]) -> Vec<&str> {
    files.iter().map(|f| f.path.as_str()).collect()
}

/// Sets the access and modification times of every file under `dir` to `time`.
fn touch_all(dir: &Path, time: SystemTime) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            touch_all(&path, time);
        } else {
            let times = FileTimes::new().set_accessed(time).set_modified(time);
            File::options()
                .write(true)
                .open(&path)
                .unwrap()
                .set_times(times)
                .unwrap();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 1. Reproducibility
// ---------------------------------------------------------------------------------------------

#[test]
fn packaging_the_same_tree_twice_gives_identical_bytes_despite_mtimes() {
    let dir = tempfile::tempdir().unwrap();
    write_plugin_tree(dir.path());
    let package = |root: &Path| {
        write(
            &collect_dir(root, &CollectOptions::default()).unwrap(),
            None,
        )
    };

    touch_all(
        dir.path(),
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000),
    );
    let first = package(dir.path());
    touch_all(
        dir.path(),
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_600_000_000),
    );
    let second = package(dir.path());
    assert_eq!(first, second, "mtimes leaked into the package");

    // The same tree created elsewhere, files written in another order, gives the same bytes.
    let elsewhere = tempfile::tempdir().unwrap();
    write_file(
        elsewhere.path(),
        "scripts/build.sh",
        b"#!/bin/sh\necho build\n",
    );
    set_mode(elsewhere.path(), "scripts/build.sh", 0o755);
    write_file(
        elsewhere.path(),
        "ui/dist/assets/app.js",
        b"export const app = 1;\n",
    );
    write_file(
        elsewhere.path(),
        "ui/dist/remoteEntry.js",
        b"export default {};\n",
    );
    write_file(elsewhere.path(), "README.md", b"# Demo\n");
    write_file(
        elsewhere.path(),
        "plexica.toml",
        frontend_manifest("demo", "1.0.0").as_bytes(),
    );
    assert_eq!(package(elsewhere.path()), first);
}

#[test]
fn package_entries_are_sorted_dated_1980_with_normalised_modes_and_no_extra_fields() {
    let dir = tempfile::tempdir().unwrap();
    write_plugin_tree(dir.path());
    set_mode(dir.path(), "README.md", 0o600);
    set_mode(dir.path(), "scripts/build.sh", 0o700);
    let bytes = write(
        &collect_dir(dir.path(), &CollectOptions::default()).unwrap(),
        None,
    );

    let entries = entries_of(&bytes);
    let names: Vec<&str> = entries.iter().map(RawEntry::name).collect();
    assert_eq!(
        names,
        [
            "CHECKSUMS",
            "README.md",
            "plexica.toml",
            "scripts/build.sh",
            "ui/dist/assets/app.js",
            "ui/dist/remoteEntry.js",
        ]
    );
    for e in &entries {
        let name = e.name();
        assert_eq!(
            (e.time, e.date),
            (0, DOS_DATE_1980),
            "{name}: not 1980-01-01 00:00"
        );
        assert_eq!(e.made_by >> 8, 3, "{name}: modes must be Unix modes");
        let expected = if name == "scripts/build.sh" {
            REGULAR_0755
        } else {
            REGULAR_0644
        };
        assert_eq!(e.mode(), expected, "{name}: mode {:o}", e.mode());
        assert_eq!(e.method, DEFLATED, "{name}: deflate only");
        assert_eq!(e.extra_bytes, 0, "{name}: extra fields or comments");
    }

    let package = read_package(&bytes, &Limits::default()).unwrap();
    let executables: Vec<&str> = package
        .entries
        .iter()
        .filter(|e| e.executable)
        .map(|e| e.path.as_str())
        .collect();
    assert_eq!(executables, ["scripts/build.sh"]);
    assert_eq!(package.digest, sha256_hex(&bytes));

    // CHECKSUMS lists every other entry with the hash of the file on disk, in canonical form.
    let listed = package.checksums().unwrap().unwrap();
    let on_disk: BTreeMap<String, String> = names[1..]
        .iter()
        .map(|name| {
            let bytes = std::fs::read(dir.path().join(name)).unwrap();
            ((*name).to_owned(), sha256_hex(&bytes))
        })
        .collect();
    assert_eq!(listed, Checksums(on_disk));
    let text = package.checksums_text.as_deref().unwrap();
    assert!(text.starts_with("sha256  "), "{text}");
    assert!(!text.contains('\r'), "{text}");
    assert_eq!(package.content_digest(), Some(sha256_hex(text.as_bytes())));
}

// ---------------------------------------------------------------------------------------------
// 2. Collection rules
// ---------------------------------------------------------------------------------------------

#[test]
fn collect_excludes_build_dirs_dotfiles_packages_and_plexicaignore_matches() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write_plugin_tree(root);
    for excluded in [
        "target/release/demo",
        "sub/target/debug/x",
        "node_modules/left-pad/index.js",
        "ui/node_modules/react/index.js",
        ".git/config",
        ".git/HEAD",
        ".hidden",
        ".github/workflows/ci.yml",
        "ui/.cache/entry",
        "demo-0.9.0.pxp",
        "docs/draft/wip.md",
        "debug.log",
    ] {
        write_file(root, excluded, b"excluded");
    }
    write_file(root, "docs/guide.md", b"# Guide\n");
    write_file(root, "keep.log", b"kept by negation\n");
    write_file(
        root,
        ".plexicaignore",
        b"# gitignore syntax\n*.log\n!keep.log\ndocs/draft/\n",
    );

    let files = collect_dir(root, &CollectOptions::default()).unwrap();
    assert_eq!(
        paths(&files),
        [
            "README.md",
            "docs/guide.md",
            "keep.log",
            "plexica.toml",
            "scripts/build.sh",
            "ui/dist/assets/app.js",
            "ui/dist/remoteEntry.js",
        ]
    );
    let script = files.iter().find(|f| f.path == "scripts/build.sh").unwrap();
    assert!(script.executable);
    assert_eq!(script.source, Source::File(root.join("scripts/build.sh")));
    assert_eq!(script.size, 21);
    assert!(
        files
            .iter()
            .filter(|f| f.path != "scripts/build.sh")
            .all(|f| !f.executable)
    );
}

#[test]
fn collect_refuses_secret_files_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write_plugin_tree(root);
    write_file(root, ".env", b"TOKEN=secret\n");
    write_file(root, "config/server.pem", b"-----BEGIN PRIVATE KEY-----\n");
    write_file(root, "id_rsa", b"-----BEGIN OPENSSH PRIVATE KEY-----\n");
    // A secret that `.plexicaignore` keeps out is never packaged, so it is not refused.
    write_file(root, "local/dev.key", b"secret");
    write_file(root, ".plexicaignore", b"local/\n");

    let err = collect_dir(root, &CollectOptions::default()).unwrap_err();
    let CollectError::Secrets(secrets) = &err else {
        panic!("expected CollectError::Secrets, got {err:?}");
    };
    assert_eq!(secrets, &[".env", "config/server.pem", "id_rsa"]);
    assert_eq!(
        err.to_string(),
        "refusing to package secret files: .env, config/server.pem, id_rsa"
    );

    let allowed = collect_dir(
        root,
        &CollectOptions {
            allow_secrets: true,
            ..CollectOptions::default()
        },
    )
    .unwrap();
    let paths = paths(&allowed);
    assert!(paths.contains(&"config/server.pem"), "{paths:?}");
    assert!(paths.contains(&"id_rsa"), "{paths:?}");
    // `.env` is still a dotfile, and dotfiles are never packaged.
    assert!(!paths.contains(&".env"), "{paths:?}");
    assert!(!paths.contains(&"local/dev.key"), "{paths:?}");
}

#[test]
fn collect_refuses_symbolic_links() {
    let dir = tempfile::tempdir().unwrap();
    write_plugin_tree(dir.path());
    std::os::unix::fs::symlink("README.md", dir.path().join("link.md")).unwrap();
    let err = collect_dir(dir.path(), &CollectOptions::default()).unwrap_err();
    assert!(
        matches!(&err, CollectError::Symlink(p) if p == "link.md"),
        "{err:?}"
    );
}

#[test]
fn collect_refuses_names_the_format_cannot_hold_and_reserved_names() {
    for (name, expected) in [
        ("we\\ird.txt", "bad"),
        ("new\nline.txt", "bad"),
        ("CHECKSUMS", "reserved"),
        ("SIGNATURE", "reserved"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        write_plugin_tree(dir.path());
        write_file(dir.path(), name, b"x");
        let err = collect_dir(dir.path(), &CollectOptions::default()).unwrap_err();
        match expected {
            "bad" => assert!(
                matches!(&err, CollectError::BadName(p) if p == name),
                "{err:?}"
            ),
            _ => assert!(
                matches!(&err, CollectError::Reserved(p) if p == name),
                "{err:?}"
            ),
        }
    }
}

#[test]
fn secrets_inside_excluded_dot_directories_are_not_refused() {
    let dir = tempfile::tempdir().unwrap();
    write_plugin_tree(dir.path());
    write_file(dir.path(), ".venv/lib/certifi/cacert.pem", b"certs");
    let files = collect_dir(dir.path(), &CollectOptions::default()).unwrap();
    assert!(!paths(&files).iter().any(|p| p.contains("cacert")));
}

#[test]
fn collect_copies_the_backend_artifact_to_the_entry_as_an_executable() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write_file(root, "plexica.toml", BACKEND_MANIFEST.as_bytes());
    write_file(root, "target/release/demo", b"\x7fELF built");
    set_mode(root, "target/release/demo", 0o644);
    // A stale, non-executable copy at the entry path is replaced by the artifact.
    write_file(root, "bin/demo", b"stale");

    let files = collect_dir(root, &CollectOptions::default()).unwrap();
    assert_eq!(paths(&files), ["bin/demo", "plexica.toml"]);
    assert_eq!(
        files[0],
        PackageFile {
            path: "bin/demo".into(),
            source: Source::File(root.join("target/release/demo")),
            size: 10,
            executable: true,
        }
    );
    let package = read_package(&write(&files, None), &Limits::default()).unwrap();
    let entry = package
        .entries
        .iter()
        .find(|e| e.path == "bin/demo")
        .unwrap();
    assert!(entry.executable);
    assert_eq!(entry.sha256, sha256_hex(b"\x7fELF built"));
}

#[test]
fn a_debug_collect_takes_the_debug_artifact_and_a_stored_package_reads_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let manifest = BACKEND_MANIFEST.replace("target/release/demo", "target/{profile}/demo");
    write_file(root, "plexica.toml", manifest.as_bytes());
    write_file(root, "target/release/demo", b"\x7fELF release");
    write_file(root, "target/debug/demo", b"\x7fELF debug");
    let options = CollectOptions {
        profile: BuildProfile::Debug,
        ..CollectOptions::default()
    };
    let files = collect_dir(root, &options).unwrap();
    let stored = write_package_with(&files, None, Cursor::new(Vec::new()), Compression::Store)
        .unwrap()
        .into_inner();
    let deflated = write(&files, None);
    let read = |bytes: &[u8]| {
        read_package(bytes, &Limits::default())
            .unwrap()
            .entries
            .into_iter()
            .map(|e| (e.path, e.sha256, e.executable))
            .collect::<Vec<_>>()
    };
    assert_eq!(read(&stored), read(&deflated));
    assert!(read(&stored).contains(&("bin/demo".to_owned(), sha256_hex(b"\x7fELF debug"), true)));
    let report = verify_package(&stored, &[], &Limits::default());
    assert!(
        report
            .checks
            .iter()
            .any(|c| c.check == "checksums" && c.status == CheckStatus::Pass),
        "{report:?}"
    );
}

#[test]
fn collect_reports_a_missing_artifact_entry_or_remote_entry() {
    let dir = tempfile::tempdir().unwrap();
    write_file(dir.path(), "plexica.toml", BACKEND_MANIFEST.as_bytes());
    let err = collect_dir(dir.path(), &CollectOptions::default()).unwrap_err();
    let expected = dir.path().join("target/release/demo").display().to_string();
    assert!(
        matches!(&err, CollectError::MissingArtifact(a) if *a == expected),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!("backend artifact `{expected}` does not exist")
    );

    let dir = tempfile::tempdir().unwrap();
    let no_artifact = BACKEND_MANIFEST.replace("artifact = \"target/release/demo\"\n", "");
    write_file(dir.path(), "plexica.toml", no_artifact.as_bytes());
    let err = collect_dir(dir.path(), &CollectOptions::default()).unwrap_err();
    assert!(
        matches!(&err, CollectError::MissingEntry(e) if e == "bin/demo"),
        "{err:?}"
    );

    let dir = tempfile::tempdir().unwrap();
    write_plugin_tree(dir.path());
    std::fs::remove_file(dir.path().join("ui/dist/remoteEntry.js")).unwrap();
    let err = collect_dir(dir.path(), &CollectOptions::default()).unwrap_err();
    assert!(
        matches!(&err, CollectError::MissingRemoteEntry(e) if e == "ui/dist/remoteEntry.js"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "frontend remote entry `ui/dist/remoteEntry.js` does not exist"
    );
}

// ---------------------------------------------------------------------------------------------
// 3. Verification of signed packages
// ---------------------------------------------------------------------------------------------

#[test]
fn a_signed_package_passes_every_check() {
    let key = SecretKey::generate();
    let plain = unsigned("alpha", "1.0.0");
    let bytes = sign_package(&plain, &key, TIMESTAMP).unwrap();
    let report = verify_package(
        &bytes,
        &[SecretKey::generate().public_key(), key.public_key()],
        &Limits::default(),
    );

    let checks: Vec<(&str, CheckStatus, &str)> = report
        .checks
        .iter()
        .map(|c| (c.check, c.status, c.detail.as_str()))
        .collect();
    let made_by = format!("made by trusted key {}", key.id);
    let valid = format!("signature valid, made by key {}", key.id);
    assert_eq!(
        checks,
        [
            ("archive", CheckStatus::Pass, "7 entries, structure sound"),
            ("manifest", CheckStatus::Pass, "alpha@1.0.0 is valid"),
            ("checksums", CheckStatus::Pass, "5 files match CHECKSUMS"),
            ("key", CheckStatus::Pass, made_by.as_str()),
            ("signature", CheckStatus::Pass, valid.as_str()),
            ("trusted-comment", CheckStatus::Pass, "names alpha@1.0.0"),
        ]
    );
    assert!(report.passed());
    assert_eq!(report.id.as_deref(), Some("alpha"));
    assert_eq!(report.version.as_deref(), Some("1.0.0"));
    assert_eq!(report.key_id, Some(key.id.to_string()));
    assert_eq!(report.digest, Some(sha256_hex(&bytes)));

    // Signing adds SIGNATURE and leaves CHECKSUMS, hence the content digest, unchanged.
    let before = read_package(&plain, &Limits::default()).unwrap();
    let after = read_package(&bytes, &Limits::default()).unwrap();
    assert_eq!(after.content_digest(), before.content_digest());
    assert_eq!(report.content_digest, before.content_digest());
    let comment = TrustedComment {
        id: "alpha".into(),
        version: "1.0.0".into(),
        key_id: key.id,
        timestamp: TIMESTAMP,
    };
    let signature = after.signature_text.unwrap();
    assert!(
        signature.contains(&format!("\ntrusted comment: {}\n", comment.render())),
        "{signature}"
    );
    let mut without_signature = after.entries.clone();
    without_signature.retain(|e| e.path != SIGNATURE_FILE);
    assert_eq!(without_signature, before.entries);

    // An unsigned package fails only the signature check.
    let report = verify_package(&plain, &[key.public_key()], &Limits::default());
    assert_eq!(
        not_passed(&report),
        [(
            "signature",
            CheckStatus::Fail,
            "the package is not signed (no SIGNATURE entry)"
        )]
    );
}

#[test]
fn a_file_changed_after_signing_fails_the_checksums_check() {
    let key = SecretKey::generate();
    let bytes = rezip(&signed(&key, "alpha", "1.0.0"), |entries| {
        let i = position(entries, "README.md");
        entries[i] = RawEntry::stored("README.md", "# Demo, with a backdoor\n");
    });
    let report = verify_package(&bytes, &[key.public_key()], &Limits::default());
    assert_eq!(
        not_passed(&report),
        [(
            "checksums",
            CheckStatus::Fail,
            "file `README.md`'s hash differs"
        )]
    );
}

#[test]
fn a_file_added_after_signing_fails_the_checksums_check() {
    let key = SecretKey::generate();
    let bytes = rezip(&signed(&key, "alpha", "1.0.0"), |entries| {
        entries.push(RawEntry::stored("ui/dist/evil.js", "steal();\n"));
    });
    let report = verify_package(&bytes, &[key.public_key()], &Limits::default());
    assert_eq!(
        not_passed(&report),
        [(
            "checksums",
            CheckStatus::Fail,
            "file `ui/dist/evil.js` not listed"
        )]
    );
}

#[test]
fn a_file_removed_after_signing_fails_the_checksums_check() {
    let key = SecretKey::generate();
    let bytes = rezip(&signed(&key, "alpha", "1.0.0"), |entries| {
        entries.remove(position(entries, "ui/dist/app.js"));
    });
    let report = verify_package(&bytes, &[key.public_key()], &Limits::default());
    assert_eq!(
        not_passed(&report),
        [(
            "checksums",
            CheckStatus::Fail,
            "listed file `ui/dist/app.js` missing"
        )]
    );
}

#[test]
fn rewriting_checksums_after_a_change_breaks_the_signature() {
    let key = SecretKey::generate();
    let original = read_package(&signed(&key, "alpha", "1.0.0"), &Limits::default()).unwrap();
    let mut files = plugin_files("alpha", "1.0.0");
    files[1] = bytes_file("README.md", b"# Demo, with a backdoor\n", false);
    let bytes = write(&files, original.signature_text.as_deref());

    let report = verify_package(&bytes, &[key.public_key()], &Limits::default());
    assert_eq!(
        not_passed(&report),
        [(
            "signature",
            CheckStatus::Fail,
            "signature does not match the signed data"
        )]
    );
}

#[test]
fn a_signature_transplanted_from_another_plugin_names_both_in_the_trusted_comment_check() {
    let key = SecretKey::generate();
    let alpha = entries_of(&signed(&key, "alpha", "1.0.0"));
    let stolen: Vec<RawEntry> = alpha
        .into_iter()
        .filter(|e| e.name == CHECKSUMS_FILE.as_bytes() || e.name == SIGNATURE_FILE.as_bytes())
        .collect();
    assert_eq!(stolen.len(), 2);
    let bytes = rezip(&unsigned("beta", "1.0.0"), |entries| {
        entries.retain(|e| e.name != CHECKSUMS_FILE.as_bytes());
        entries.extend(stolen);
    });

    let report = verify_package(&bytes, &[key.public_key()], &Limits::default());
    assert_eq!(
        not_passed(&report),
        [
            (
                "checksums",
                CheckStatus::Fail,
                "file `plexica.toml`'s hash differs"
            ),
            (
                "trusted-comment",
                CheckStatus::Fail,
                "trusted comment names another plugin or version: alpha@1.0.0, package is beta@1.0.0"
            ),
        ]
    );
}

#[test]
fn a_signature_naming_another_version_or_key_fails_the_trusted_comment_check() {
    let key = SecretKey::generate();
    let files = plugin_files("alpha", "1.0.0");
    let checksums = checksums_text(&write(&files, None));
    let sign_with = |comment: TrustedComment| {
        let signature = key.sign(checksums.as_bytes(), &comment.render());
        let bytes = write(&files, Some(&signature.to_text()));
        verify_package(&bytes, &[key.public_key()], &Limits::default())
    };

    let report = sign_with(TrustedComment {
        id: "alpha".into(),
        version: "2.0.0".into(),
        key_id: key.id,
        timestamp: TIMESTAMP,
    });
    assert_eq!(
        not_passed(&report),
        [(
            "trusted-comment",
            CheckStatus::Fail,
            "trusted comment names another plugin or version: alpha@2.0.0, package is alpha@1.0.0"
        )]
    );

    let other_key = SecretKey::generate().id;
    let report = sign_with(TrustedComment {
        id: "alpha".into(),
        version: "1.0.0".into(),
        key_id: other_key,
        timestamp: TIMESTAMP,
    });
    assert_eq!(
        not_passed(&report),
        [(
            "trusted-comment",
            CheckStatus::Fail,
            "trusted comment names another key"
        )]
    );
}

#[test]
fn a_signature_by_an_untrusted_key_fails_the_key_check() {
    let key = SecretKey::generate();
    let bytes = signed(&key, "alpha", "1.0.0");
    let skipped = "not checked: an earlier check failed";
    let not_trusted = format!("key {} not trusted", key.id);
    for trusted in [vec![], vec![SecretKey::generate().public_key()]] {
        let report = verify_package(&bytes, &trusted, &Limits::default());
        assert_eq!(
            not_passed(&report),
            [
                ("key", CheckStatus::Fail, not_trusted.as_str()),
                ("signature", CheckStatus::Skip, skipped),
                ("trusted-comment", CheckStatus::Skip, skipped),
            ]
        );
        assert_eq!(report.key_id, Some(key.id.to_string()));
    }
}

// ---------------------------------------------------------------------------------------------
// 3. (continued) Hostile and corrupt archives: publish check 3
// ---------------------------------------------------------------------------------------------

#[test]
fn truncated_or_random_bytes_are_corrupt() {
    let bytes = unsigned("alpha", "1.0.0");
    let no_eocd =
        "not a valid package archive: no end-of-central-directory record (not a zip file)";
    let is_corrupt = |e: &PackageError| matches!(e, PackageError::Corrupt(_));
    for broken in [
        &bytes[..bytes.len() / 2],
        &bytes[..bytes.len() - 10],
        &noise(4096)[..],
        &[][..],
    ] {
        assert_rejected(
            broken,
            &Limits::default(),
            is_corrupt,
            "PACKAGE_CORRUPT",
            no_eocd,
        );
    }
}

#[test]
fn an_entry_whose_bytes_fail_their_crc_is_corrupt() {
    let bytes = hostile(vec![RawEntry {
        crc: crc32(b"something else"),
        ..RawEntry::stored("README.md", "# Demo\n")
    }]);
    let err = read_package(&bytes, &Limits::default()).unwrap_err();
    assert!(matches!(err, PackageError::Corrupt(_)), "{err:?}");
    assert_eq!(err.code(), "PACKAGE_CORRUPT");
    let message = err.to_string();
    assert!(
        message.starts_with("not a valid package archive: entry `README.md`: "),
        "{message}"
    );
}

#[test]
fn an_entry_climbing_out_with_dot_dot_is_refused() {
    for name in ["../evil.sh", "ui/../../evil.sh", "ui/.."] {
        assert_rejected(
            &hostile(vec![RawEntry::stored(name, "x")]),
            &Limits::default(),
            |e| matches!(e, PackageError::Traversal(n) if n == name),
            "PACKAGE_PATH_TRAVERSAL",
            &format!("entry `{name}` contains `..`"),
        );
    }
}

#[test]
fn an_entry_with_an_absolute_path_is_refused() {
    for name in ["/etc/passwd", "\\windows\\system.ini", "C:/evil.exe"] {
        assert_rejected(
            &hostile(vec![RawEntry::stored(name, "x")]),
            &Limits::default(),
            |e| matches!(e, PackageError::AbsolutePath(n) if n == name),
            "PACKAGE_ABSOLUTE_PATH",
            &format!("entry `{name}` has an absolute path"),
        );
    }
}

#[test]
fn a_symbolic_link_entry_is_refused() {
    let link = RawEntry {
        external: SYMLINK_0777 << 16,
        ..RawEntry::stored("ui/dist/link", "/etc/passwd")
    };
    assert_rejected(
        &hostile(vec![link]),
        &Limits::default(),
        |e| matches!(e, PackageError::Symlink(n) if n == "ui/dist/link"),
        "PACKAGE_SYMLINK",
        "entry `ui/dist/link` is a symbolic link",
    );
}

#[test]
fn a_duplicate_entry_name_is_refused() {
    let bytes = hostile(vec![
        RawEntry::stored("README.md", "# Demo\n"),
        RawEntry::stored("README.md", "# Evil twin\n"),
    ]);
    assert_rejected(
        &bytes,
        &Limits::default(),
        |e| matches!(e, PackageError::DuplicateEntry(n) if n == "README.md"),
        "PACKAGE_DUPLICATE_ENTRY",
        "entry `README.md` appears more than once",
    );
    // The manifest itself duplicated (a second, different manifest hiding behind the first).
    let bytes = hostile(vec![RawEntry::stored(
        "plexica.toml",
        "[plugin]\nid = \"evil\"\n",
    )]);
    assert_rejected(
        &bytes,
        &Limits::default(),
        |e| matches!(e, PackageError::DuplicateEntry(n) if n == "plexica.toml"),
        "PACKAGE_DUPLICATE_ENTRY",
        "entry `plexica.toml` appears more than once",
    );
}

#[test]
fn entry_names_with_nul_backslash_empty_segments_or_bad_utf8_are_refused() {
    for (name, shown) in [
        (&b"README.md\0.sh"[..], "README.md\0.sh"),
        (b"ui\\dist\\app.js", "ui\\dist\\app.js"),
        (b"ui//app.js", "ui//app.js"),
        (b"./app.js", "./app.js"),
        (b"ui/dist/", "ui/dist/"),
        (b"bad-\xff.js", "bad-\u{fffd}.js"),
    ] {
        assert_rejected(
            &hostile(vec![RawEntry::stored(name, "x")]),
            &Limits::default(),
            |e| matches!(e, PackageError::BadName(n) if n == shown),
            "PACKAGE_BAD_ENTRY_NAME",
            &format!("entry name `{shown}` is not allowed"),
        );
    }
}

#[test]
fn encrypted_or_unsupported_entries_are_refused() {
    let bzip2 = RawEntry {
        method: 12,
        ..RawEntry::stored("a.bin", "x")
    };
    let encrypted = RawEntry {
        flags: 1,
        ..RawEntry::stored("a.bin", "x")
    };
    for entry in [bzip2, encrypted] {
        assert_rejected(
            &hostile(vec![entry]),
            &Limits::default(),
            |e| matches!(e, PackageError::Unsupported(n) if n == "a.bin"),
            "PACKAGE_CORRUPT",
            "entry `a.bin` uses an unsupported compression method or encryption",
        );
    }
}

#[test]
fn an_entry_declaring_a_huge_ratio_is_a_zip_bomb_before_inflating() {
    // 1 KiB stored, 10 MiB declared: refused from the central directory alone.
    let bomb = RawEntry {
        size: 10 << 20,
        ..RawEntry::stored("bomb.bin", vec![0u8; 1024])
    };
    assert_rejected(
        &hostile(vec![bomb]),
        &Limits::default(),
        |e| matches!(e, PackageError::ZipBomb { path, ratio: 10240, max: 100 } if path == "bomb.bin"),
        "PACKAGE_ZIP_BOMB",
        "entry `bomb.bin` has a compression ratio of 10240:1; at most 100:1 is allowed (zip bomb?)",
    );
}

#[test]
fn twenty_mib_of_deflated_zeros_is_a_zip_bomb() {
    let files = [
        demo_manifest_file(),
        bytes_file("zeros.bin", &vec![0u8; 20 << 20], false),
    ];
    let bytes = write(&files, None);
    let entries = entries_of(&bytes);
    let zeros = &entries[position(&entries, "zeros.bin")];
    assert_eq!(zeros.method, DEFLATED);
    let ratio = u64::from(zeros.size / zeros.compressed_size);
    assert!(ratio > 100, "deflate reached only {ratio}:1");
    assert_rejected(
        &bytes,
        &Limits::default(),
        |e| matches!(e, PackageError::ZipBomb { path, ratio: r, max: 100 } if path == "zeros.bin" && *r == ratio),
        "PACKAGE_ZIP_BOMB",
        &format!(
            "entry `zeros.bin` has a compression ratio of {ratio}:1; at most 100:1 is allowed (zip bomb?)"
        ),
    );
    // Small entries are exempt: they cannot amplify.
    let small = [
        demo_manifest_file(),
        bytes_file("zeros.bin", &[0; 4096], false),
    ];
    read_package(&write(&small, None), &Limits::default()).unwrap();
}

#[test]
fn too_many_entries_are_refused() {
    let limits = Limits {
        max_entries: 5,
        ..Limits::default()
    };
    let five: Vec<RawEntry> = (0..4)
        .map(|i| RawEntry::stored(format!("f{i}"), "x"))
        .collect();
    read_package(&hostile(five.clone()), &limits).unwrap();
    let mut six = five;
    six.push(RawEntry::stored("f4", "x"));
    assert_rejected(
        &hostile(six),
        &limits,
        |e| matches!(e, PackageError::TooManyEntries { count: 6, max: 5 }),
        "PACKAGE_TOO_MANY_ENTRIES",
        "the archive has 6 entries; at most 5 are allowed",
    );
}

#[test]
fn the_default_cap_is_ten_thousand_entries() {
    let files = |n: usize| -> Vec<RawEntry> {
        (1..n)
            .map(|i| RawEntry::stored(format!("f/{i:05}"), ""))
            .collect()
    };
    let at_cap = read_package(&hostile(files(10_000)), &Limits::default()).unwrap();
    assert_eq!(at_cap.entries.len(), 10_000);
    assert_rejected(
        &hostile(files(10_001)),
        &Limits::default(),
        |e| {
            matches!(
                e,
                PackageError::TooManyEntries {
                    count: 10_001,
                    max: 10_000
                }
            )
        },
        "PACKAGE_TOO_MANY_ENTRIES",
        "the archive has 10001 entries; at most 10000 are allowed",
    );
}

#[test]
fn entries_inflating_to_more_than_the_total_cap_are_refused() {
    let manifest_len = frontend_manifest("demo", "1.0.0").len() as u64;
    let limits = Limits {
        max_total_uncompressed: manifest_len + 1000,
        ..Limits::default()
    };
    read_package(
        &hostile(vec![RawEntry::stored("a.bin", noise(1000))]),
        &limits,
    )
    .unwrap();
    let total = manifest_len + 1001;
    assert_rejected(
        &hostile(vec![
            RawEntry::stored("a.bin", noise(600)),
            RawEntry::stored("b.bin", noise(401)),
        ]),
        &limits,
        |e| matches!(e, PackageError::TooLarge { total: t, max } if *t == total && *max == total - 1),
        "PACKAGE_TOO_LARGE",
        &format!(
            "the archive inflates to {total} bytes; at most {} are allowed",
            total - 1
        ),
    );
}

#[test]
fn an_entry_inflating_to_another_size_than_declared_is_refused() {
    let files = [
        demo_manifest_file(),
        bytes_file("data.bin", &noise(8192), false),
    ];
    let honest = write(&files, None);
    for declared in [4096, 8191, 8193] {
        let bytes = rezip(&honest, |entries| {
            let i = position(entries, "data.bin");
            assert_eq!(entries[i].method, DEFLATED);
            entries[i].size = declared;
        });
        assert_rejected(
            &bytes,
            &Limits::default(),
            |e| matches!(e, PackageError::SizeMismatch(n) if n == "data.bin"),
            "PACKAGE_CORRUPT",
            "entry `data.bin` does not inflate to its declared size",
        );
    }
    // A stored entry whose declared size is smaller than its data.
    let lying = RawEntry {
        size: 10,
        ..RawEntry::stored("data.bin", noise(100))
    };
    assert_rejected(
        &hostile(vec![lying]),
        &Limits::default(),
        |e| matches!(e, PackageError::SizeMismatch(n) if n == "data.bin"),
        "PACKAGE_CORRUPT",
        "entry `data.bin` does not inflate to its declared size",
    );
}

#[test]
fn a_package_without_a_text_manifest_is_refused() {
    let bytes = zip_of(&[RawEntry::stored("README.md", "# Demo\n")]);
    assert_rejected(
        &bytes,
        &Limits::default(),
        |e| matches!(e, PackageError::MissingManifest),
        "PACKAGE_MANIFEST_MISSING",
        "the package has no plexica.toml",
    );
    let bytes = zip_of(&[RawEntry::stored(
        "plexica.toml",
        b"id = \"\xff\"\n".to_vec(),
    )]);
    assert_rejected(
        &bytes,
        &Limits::default(),
        |e| matches!(e, PackageError::NotText(n) if n == "plexica.toml"),
        "MANIFEST_INVALID",
        "`plexica.toml` is not UTF-8 text",
    );
    let bytes = zip_of(&[
        RawEntry::stored("CHECKSUMS", b"\xff\xfe".to_vec()),
        RawEntry::stored("plexica.toml", "[plugin]\n"),
    ]);
    assert_rejected(
        &bytes,
        &Limits::default(),
        |e| matches!(e, PackageError::NotText(n) if n == "CHECKSUMS"),
        "CHECKSUMS_INVALID",
        "`CHECKSUMS` is not UTF-8 text",
    );
}

// ---------------------------------------------------------------------------------------------
// 4. Signing
// ---------------------------------------------------------------------------------------------

#[test]
fn sign_package_refuses_a_package_whose_checksums_do_not_match() {
    let key = SecretKey::generate();
    let cases = [
        ("file `README.md`'s hash differs", {
            rezip(&unsigned("alpha", "1.0.0"), |entries| {
                let i = position(entries, "README.md");
                entries[i] = RawEntry::stored("README.md", "# Changed\n");
            })
        }),
        ("file `ui/dist/evil.js` not listed", {
            rezip(&unsigned("alpha", "1.0.0"), |entries| {
                entries.push(RawEntry::stored("ui/dist/evil.js", "steal();\n"));
            })
        }),
        ("listed file `README.md` missing", {
            rezip(&unsigned("alpha", "1.0.0"), |entries| {
                entries.remove(position(entries, "README.md"));
            })
        }),
    ];
    for (reason, bytes) in cases {
        let err = sign_package(&bytes, &key, TIMESTAMP).unwrap_err();
        assert!(
            matches!(&err, SignError::Inconsistent(r) if r == reason),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            format!("refusing to sign an inconsistent package: {reason}")
        );
    }

    let traversal = hostile(vec![RawEntry::stored("../evil", "x")]);
    let err = sign_package(&traversal, &key, TIMESTAMP).unwrap_err();
    assert!(
        matches!(&err, SignError::Package(PackageError::Traversal(n)) if n == "../evil"),
        "{err:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// 5. Interoperability with the stock minisign tool
// ---------------------------------------------------------------------------------------------

/// Whether `minisign` can run; when it cannot, prints why the test is skipped, unless on CI
/// (where it is installed) in which case the test fails.
fn minisign_available() -> bool {
    match Command::new("minisign").arg("-v").output() {
        Ok(_) => true,
        Err(e) if std::env::var_os("CI").is_some() => {
            panic!("minisign must be installed on CI: {e}")
        }
        Err(_) => {
            println!("skipped: minisign not installed");
            false
        }
    }
}

/// Runs stock `minisign` in `dir` with `input` on stdin; its output when it succeeds.
fn minisign(dir: &std::path::Path, args: &[&str], input: &str) -> String {
    use std::io::Write as _;
    let mut child = Command::new("minisign")
        .args(args)
        .current_dir(dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "minisign {args:?}: {text}");
    text
}

#[test]
fn keys_made_by_stock_minisign_sign_for_plexica_with_or_without_a_passphrase() {
    if !minisign_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("data"), b"CHECKSUMS stand-in").unwrap();
    // `minisign -G -W`: no passphrase, checksum left zero.
    minisign(dir.path(), &["-G", "-W", "-p", "w.pub", "-s", "w.key"], "");
    let text = std::fs::read_to_string(dir.path().join("w.key")).unwrap();
    let key = SecretKey::parse(&text).unwrap();
    let public = PublicKey::parse(&std::fs::read_to_string(dir.path().join("w.pub")).unwrap());
    assert_eq!(public.as_ref(), Ok(&key.public_key()));
    // `minisign -G` with a passphrase (stock cost: scrypt over 1 GiB).
    minisign(
        dir.path(),
        &["-G", "-p", "e.pub", "-s", "e.key"],
        "stock passphrase\nstock passphrase\n",
    );
    let text = std::fs::read_to_string(dir.path().join("e.key")).unwrap();
    assert!(SecretKey::is_encrypted(&text));
    assert!(SecretKey::parse_with_passphrase(&text, "not it").is_err());
    let key = SecretKey::parse_with_passphrase(&text, "stock passphrase").unwrap();
    let signature = key.sign(b"CHECKSUMS stand-in", "plexica test");
    std::fs::write(dir.path().join("data.minisig"), signature.to_text()).unwrap();
    minisign(dir.path(), &["-V", "-m", "data", "-p", "e.pub"], "");
}

#[test]
fn stock_minisign_signs_with_a_key_plexica_encrypted() {
    if !minisign_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let key = SecretKey::generate();
    std::fs::write(
        dir.path().join("p.key"),
        key.to_encrypted_file_text("plexica passphrase"),
    )
    .unwrap();
    std::fs::write(dir.path().join("p.pub"), key.public_key().to_file_text()).unwrap();
    std::fs::write(dir.path().join("data"), b"CHECKSUMS stand-in").unwrap();
    minisign(
        dir.path(),
        &["-S", "-s", "p.key", "-m", "data"],
        "plexica passphrase\n",
    );
    minisign(dir.path(), &["-V", "-m", "data", "-p", "p.pub"], "");
}

#[test]
fn stock_minisign_verifies_a_signed_packages_checksums() {
    if !minisign_available() {
        return;
    }
    let key = SecretKey::generate();
    let package = read_package(&signed(&key, "alpha", "1.0.0"), &Limits::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let checksums = dir.path().join(CHECKSUMS_FILE);
    std::fs::write(&checksums, package.checksums_text.unwrap()).unwrap();
    std::fs::write(
        dir.path().join(SIGNATURE_FILE),
        package.signature_text.unwrap(),
    )
    .unwrap();
    std::fs::write(dir.path().join("key.pub"), key.public_key().to_file_text()).unwrap();
    let verify = || {
        Command::new("minisign")
            .args([
                "-V",
                "-m",
                CHECKSUMS_FILE,
                "-x",
                SIGNATURE_FILE,
                "-p",
                "key.pub",
            ])
            .current_dir(dir.path())
            .output()
            .unwrap()
    };

    let out = verify();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "minisign refused: {stdout}{stderr}");
    let comment = TrustedComment {
        id: "alpha".into(),
        version: "1.0.0".into(),
        key_id: key.id,
        timestamp: TIMESTAMP,
    };
    assert!(stdout.contains(&comment.render()), "{stdout}");

    let mut tampered = std::fs::read_to_string(&checksums).unwrap();
    tampered.push_str(&format!("sha256  {}  evil.js\n", sha256_hex(b"steal();")));
    std::fs::write(&checksums, tampered).unwrap();
    let out = verify();
    assert!(
        !out.status.success(),
        "minisign accepted tampered CHECKSUMS"
    );
}

#[test]
fn a_signature_made_by_stock_minisign_with_a_plexica_key_verifies() {
    if !minisign_available() {
        return;
    }
    let key = SecretKey::generate();
    let plain = unsigned("alpha", "1.0.0");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(CHECKSUMS_FILE), checksums_text(&plain)).unwrap();
    std::fs::write(dir.path().join("key"), key.to_file_text()).unwrap();
    let comment = TrustedComment {
        id: "alpha".into(),
        version: "1.0.0".into(),
        key_id: key.id,
        timestamp: TIMESTAMP,
    };
    let out = Command::new("minisign")
        .args([
            "-S",
            "-s",
            "key",
            "-m",
            CHECKSUMS_FILE,
            "-x",
            SIGNATURE_FILE,
        ])
        .args(["-t", &comment.render()])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "minisign could not sign: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    let signature = std::fs::read_to_string(dir.path().join(SIGNATURE_FILE)).unwrap();
    let bytes = rewrite_with_signature(&plain, &signature).unwrap();
    let report = verify_package(&bytes, &[key.public_key()], &Limits::default());
    assert!(report.passed(), "{:?}", not_passed(&report));
}

// ---------------------------------------------------------------------------------------------
// 6. Round trips
// ---------------------------------------------------------------------------------------------

fn package_path() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[a-z0-9_-]{1,8}(/[a-z0-9_-]{1,8}){0,2}(\\.[a-z]{1,3})?")
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn written_packages_read_back_with_every_hash_and_matching_checksums(
        contents in proptest::collection::btree_map(
            package_path(),
            (proptest::collection::vec(any::<u8>(), 0..512), any::<bool>()),
            0..8,
        )
    ) {
        let manifest = frontend_manifest("demo", "1.0.0");
        let mut files = vec![bytes_file("plexica.toml", manifest.as_bytes(), false)];
        files.extend(contents.iter().map(|(path, (bytes, exec))| bytes_file(path, bytes, *exec)));
        let bytes = write(&files, None);
        prop_assert_eq!(&write(&files, None), &bytes, "not reproducible");

        let package = read_package(&bytes, &Limits::default()).unwrap();
        prop_assert_eq!(package.entries.len(), files.len() + 1);
        prop_assert!(package.entries.windows(2).all(|w| w[0].path < w[1].path), "unsorted");
        for file in &files {
            let Source::Bytes(data) = &file.source else { unreachable!() };
            let entry = package.entries.iter().find(|e| e.path == file.path).unwrap();
            prop_assert_eq!(&entry.sha256, &sha256_hex(data));
            prop_assert_eq!(entry.size, data.len() as u64);
            prop_assert_eq!(entry.executable, file.executable);
        }
        let listed = package.checksums().unwrap().unwrap();
        let expected: BTreeMap<String, String> = package
            .entries
            .iter()
            .filter(|e| e.path != CHECKSUMS_FILE)
            .map(|e| (e.path.clone(), e.sha256.clone()))
            .collect();
        prop_assert_eq!(listed, Checksums(expected));
        prop_assert_eq!(package.manifest_text, manifest);
    }
}
