//! Writing and reading the zip container of a package.
//!
//! Writing is reproducible: entries sorted by path, every timestamp 1980-01-01 00:00, modes 0644
//! or 0755, deflate at a fixed level, no extra fields. Reading trusts nothing: the central
//! directory is parsed here (so duplicate names cannot hide behind a map), names, modes, counts
//! and ratios are checked before any byte is inflated, and inflated sizes are enforced.

use std::collections::BTreeMap;
use std::io::{Cursor, Read, Seek, Write};

use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipArchive, ZipWriter};

use super::checksums::{Checksums, ChecksumsError, hex, sha256_hex};
use super::collect::{PackageFile, Source};
use super::{CHECKSUMS_FILE, SIGNATURE_FILE};
use crate::manifest::{MANIFEST_FILE, PluginFiles};

/// Caps applied when reading a package (registry.md, publish check 3).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Most entries an archive may hold.
    pub max_entries: usize,
    /// Most bytes all entries may inflate to.
    pub max_total_uncompressed: u64,
    /// Highest inflated/compressed ratio of one entry.
    pub max_ratio: u64,
    /// Entries no larger than this are exempt from the ratio cap: they cannot amplify, and
    /// small repetitive files legitimately compress beyond it.
    pub ratio_exempt_below: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_entries: 10_000,
            max_total_uncompressed: 512 * 1024 * 1024,
            max_ratio: 100,
            ratio_exempt_below: 4096,
        }
    }
}

/// Why a package cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    /// Reading or writing failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The bytes are not a zip archive this reader accepts.
    #[error("not a valid package archive: {0}")]
    Corrupt(String),
    /// More entries than [`Limits::max_entries`].
    #[error("the archive has {count} entries; at most {max} are allowed")]
    TooManyEntries {
        /// Entries found.
        count: usize,
        /// The cap.
        max: usize,
    },
    /// Entries inflate to more than [`Limits::max_total_uncompressed`].
    #[error("the archive inflates to {total} bytes; at most {max} are allowed")]
    TooLarge {
        /// Declared inflated total.
        total: u64,
        /// The cap.
        max: u64,
    },
    /// One entry compresses more than [`Limits::max_ratio`] to 1: a zip bomb.
    #[error(
        "entry `{path}` has a compression ratio of {ratio}:1; at most {max}:1 is allowed (zip bomb?)"
    )]
    ZipBomb {
        /// The entry.
        path: String,
        /// Its ratio.
        ratio: u64,
        /// The cap.
        max: u64,
    },
    /// An entry name is absolute.
    #[error("entry `{0}` has an absolute path")]
    AbsolutePath(String),
    /// An entry name climbs out with `..`.
    #[error("entry `{0}` contains `..`")]
    Traversal(String),
    /// An entry is a symbolic link.
    #[error("entry `{0}` is a symbolic link")]
    Symlink(String),
    /// Two entries share a name.
    #[error("entry `{0}` appears more than once")]
    DuplicateEntry(String),
    /// An entry name is not a clean UTF-8 relative path (control character, backslash, empty
    /// segment, directory).
    #[error("entry name `{0}` is not allowed")]
    BadName(String),
    /// An entry uses encryption or a method other than stored/deflate.
    #[error("entry `{0}` uses an unsupported compression method or encryption")]
    Unsupported(String),
    /// An entry inflated to another size than declared.
    #[error("entry `{0}` does not inflate to its declared size")]
    SizeMismatch(String),
    /// No `plexica.toml` at the root.
    #[error("the package has no plexica.toml")]
    MissingManifest,
    /// `plexica.toml`, `CHECKSUMS` or `SIGNATURE` is not UTF-8.
    #[error("`{0}` is not UTF-8 text")]
    NotText(String),
    /// `CHECKSUMS` is malformed.
    #[error(transparent)]
    Checksums(#[from] ChecksumsError),
    /// An entry read on its own is larger than its reader takes.
    #[error("`{path}` is {size} bytes; at most {max} are allowed")]
    EntryTooLarge {
        /// The entry.
        path: String,
        /// Its size.
        size: u64,
        /// The cap.
        max: u64,
    },
}

impl PackageError {
    /// Stable error code, as the registry returns it.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Io(_) => "IO_ERROR",
            Self::Corrupt(_) | Self::Unsupported(_) | Self::SizeMismatch(_) => "PACKAGE_CORRUPT",
            Self::TooManyEntries { .. } => "PACKAGE_TOO_MANY_ENTRIES",
            Self::TooLarge { .. } => "PACKAGE_TOO_LARGE",
            Self::ZipBomb { .. } => "PACKAGE_ZIP_BOMB",
            Self::AbsolutePath(_) => "PACKAGE_ABSOLUTE_PATH",
            Self::Traversal(_) => "PACKAGE_PATH_TRAVERSAL",
            Self::Symlink(_) => "PACKAGE_SYMLINK",
            Self::DuplicateEntry(_) => "PACKAGE_DUPLICATE_ENTRY",
            Self::BadName(_) => "PACKAGE_BAD_ENTRY_NAME",
            Self::MissingManifest => "PACKAGE_MANIFEST_MISSING",
            Self::NotText(name) if name == CHECKSUMS_FILE => "CHECKSUMS_INVALID",
            Self::NotText(name) if name == SIGNATURE_FILE => "SIGNATURE_INVALID",
            Self::NotText(_) => "MANIFEST_INVALID",
            Self::Checksums(_) => "CHECKSUMS_INVALID",
            Self::EntryTooLarge { .. } => "PACKAGE_ENTRY_TOO_LARGE",
        }
    }
}

/// One entry of a read package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Path inside the package.
    pub path: String,
    /// Inflated size.
    pub size: u64,
    /// Stored with an executable mode.
    pub executable: bool,
    /// Hex sha256 of the inflated bytes.
    pub sha256: String,
}

/// A package that passed the structural checks, with every entry hashed.
#[derive(Debug, Clone)]
pub struct Package {
    /// Entries in archive order.
    pub entries: Vec<Entry>,
    /// Text of `plexica.toml`.
    pub manifest_text: String,
    /// Text of `CHECKSUMS`, if present.
    pub checksums_text: Option<String>,
    /// Text of `SIGNATURE`, if present.
    pub signature_text: Option<String>,
    /// Hex sha256 of the archive bytes (the package digest).
    pub digest: String,
    /// Small text entries (`*.sql`), for the manifest rules that read them.
    texts: BTreeMap<String, String>,
}

impl Package {
    /// Hex sha256 of `CHECKSUMS` (the content digest), if present.
    pub fn content_digest(&self) -> Option<String> {
        self.checksums_text
            .as_deref()
            .map(|t| sha256_hex(t.as_bytes()))
    }

    /// The parsed `CHECKSUMS`, if present.
    pub fn checksums(&self) -> Option<Result<Checksums, ChecksumsError>> {
        self.checksums_text.as_deref().map(Checksums::parse)
    }
}

impl PluginFiles for Package {
    fn list(&self, dir: &str) -> Option<Vec<String>> {
        let prefix = if dir.is_empty() || dir == "." {
            String::new()
        } else {
            format!("{dir}/")
        };
        let names: Vec<String> = self
            .entries
            .iter()
            .filter_map(|e| e.path.strip_prefix(&prefix))
            .filter(|rest| !rest.contains('/'))
            .map(str::to_owned)
            .collect();
        (!names.is_empty()).then_some(names)
    }

    fn read(&self, path: &str) -> Option<String> {
        self.texts.get(path).cloned()
    }
}

const TEXT_ENTRY_MAX: u64 = 1024 * 1024;

/// How a package's entries are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    /// Deflated: what packages that travel (the registry, downloads) are.
    #[default]
    Deflate,
    /// As they are: for a package that stays on this machine (a development install), with
    /// nothing to compress or inflate.
    Store,
}

/// Writes a package of `files` (which include `plexica.toml`) with its `CHECKSUMS` and, when
/// given, its `SIGNATURE`. The same input always yields the same bytes.
pub fn write_package<W: Write + Seek>(
    files: &[PackageFile],
    signature: Option<&str>,
    out: W,
) -> Result<W, PackageError> {
    write_package_with(files, signature, out, Compression::Deflate)
}

/// [`write_package`], its entries stored as `compression` says.
pub fn write_package_with<W: Write + Seek>(
    files: &[PackageFile],
    signature: Option<&str>,
    out: W,
    compression: Compression,
) -> Result<W, PackageError> {
    let mut contents = Vec::with_capacity(files.len() + 2);
    for file in files {
        let bytes = match &file.source {
            Source::File(path) => std::fs::read(path)?,
            Source::Bytes(bytes) => bytes.clone(),
        };
        contents.push((file.path.clone(), bytes, file.executable));
    }
    write_entries(contents, signature, out, compression)
}

fn write_entries<W: Write + Seek>(
    contents: Vec<(String, Vec<u8>, bool)>,
    signature: Option<&str>,
    out: W,
    compression: Compression,
) -> Result<W, PackageError> {
    let workers = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    write_entries_with(contents, signature, out, workers, compression)
}

/// One entry to write: path, bytes, executable.
type Content = (String, Vec<u8>, bool);

/// Writes the archive, compressing with up to `workers` threads. Each thread deflates a
/// contiguous run of the sorted entries into an archive of its own; the runs are then copied
/// raw, in order, into the output. Every entry is its own deflate stream, so the bytes do not
/// depend on `workers`.
fn write_entries_with<W: Write + Seek>(
    mut contents: Vec<Content>,
    signature: Option<&str>,
    out: W,
    workers: usize,
    compression: Compression,
) -> Result<W, PackageError> {
    contents.retain(|(path, _, _)| path != CHECKSUMS_FILE && path != SIGNATURE_FILE);
    if let Some((path, _, _)) = contents
        .iter()
        .find(|(path, _, _)| entry_name_problem(path).is_some())
    {
        return Err(PackageError::BadName(path.clone()));
    }
    let checksums = Checksums(
        contents
            .iter()
            .map(|(path, bytes, _)| (path.clone(), sha256_hex(bytes)))
            .collect(),
    );
    contents.push((
        CHECKSUMS_FILE.to_owned(),
        checksums.render().into_bytes(),
        false,
    ));
    if let Some(signature) = signature {
        contents.push((
            SIGNATURE_FILE.to_owned(),
            signature.as_bytes().to_vec(),
            false,
        ));
    }
    contents.sort_by(|a, b| a.0.cmp(&b.0));
    let runs = balanced_runs(&contents, workers.max(1));
    let parts: Vec<Result<Vec<u8>, PackageError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = runs
            .iter()
            .map(|run| scope.spawn(move || write_run(run, compression)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(corrupt("a compression thread panicked")))
            })
            .collect()
    });
    let mut zip = ZipWriter::new(out);
    for part in parts {
        let part = ZipArchive::new(Cursor::new(part?))
            .map_err(|e| PackageError::Corrupt(e.to_string()))?;
        zip.merge_archive(part)
            .map_err(|e| PackageError::Corrupt(e.to_string()))?;
    }
    zip.finish()
        .map_err(|e| PackageError::Corrupt(e.to_string()))
}

/// Splits the sorted entries into at most `workers` contiguous runs of similar byte counts.
fn balanced_runs(contents: &[Content], workers: usize) -> Vec<&[Content]> {
    let total: usize = contents.iter().map(|(_, bytes, _)| bytes.len()).sum();
    let target = total.div_ceil(workers).max(1);
    let mut runs = Vec::with_capacity(workers);
    let mut start = 0;
    let mut size = 0;
    for (i, (_, bytes, _)) in contents.iter().enumerate() {
        size += bytes.len();
        if size >= target && runs.len() + 1 < workers {
            runs.push(&contents[start..=i]);
            start = i + 1;
            size = 0;
        }
    }
    if start < contents.len() {
        runs.push(&contents[start..]);
    }
    runs
}

fn write_run(run: &[Content], compression: Compression) -> Result<Vec<u8>, PackageError> {
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let (method, level) = match compression {
        Compression::Deflate => (CompressionMethod::Deflated, Some(6)),
        Compression::Store => (CompressionMethod::Stored, None),
    };
    for (path, bytes, executable) in run {
        let options = SimpleFileOptions::default()
            .compression_method(method)
            .compression_level(level)
            .last_modified_time(DateTime::default())
            .unix_permissions(if *executable { 0o755 } else { 0o644 });
        zip.start_file(path.as_str(), options)
            .map_err(|e| PackageError::Corrupt(e.to_string()))?;
        zip.write_all(bytes)?;
    }
    zip.finish()
        .map(Cursor::into_inner)
        .map_err(|e| PackageError::Corrupt(e.to_string()))
}

/// Returns the package `bytes` with `SIGNATURE` added (or replaced), everything else unchanged.
pub fn rewrite_with_signature(bytes: &[u8], signature: &str) -> Result<Vec<u8>, PackageError> {
    let package = read_package(bytes, &Limits::default())?;
    let mut archive =
        ZipArchive::new(Cursor::new(bytes)).map_err(|e| PackageError::Corrupt(e.to_string()))?;
    let mut contents = Vec::with_capacity(package.entries.len());
    for (i, entry) in package.entries.iter().enumerate() {
        let mut file = archive
            .by_index(i)
            .map_err(|e| PackageError::Corrupt(e.to_string()))?;
        let mut data = Vec::with_capacity(usize::try_from(entry.size).unwrap_or(0));
        file.read_to_end(&mut data)?;
        contents.push((entry.path.clone(), data, entry.executable));
    }
    let out = write_entries(
        contents,
        Some(signature),
        Cursor::new(Vec::new()),
        Compression::Deflate,
    )?;
    Ok(out.into_inner())
}

/// One central-directory record, as parsed here.
struct CentralEntry {
    name: String,
    method: u16,
    encrypted: bool,
    compressed: u64,
    size: u64,
    mode: Option<u32>,
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn corrupt(what: &str) -> PackageError {
    PackageError::Corrupt(what.to_owned())
}

/// Parses the central directory, refusing zip64 and anything malformed.
fn central_directory(bytes: &[u8], limits: &Limits) -> Result<Vec<CentralEntry>, PackageError> {
    const EOCD_SIG: u32 = 0x0605_4b50;
    const CD_SIG: u32 = 0x0201_4b50;
    let search_from = bytes.len().saturating_sub(22 + 65_535);
    let eocd = (search_from..bytes.len().saturating_sub(21))
        .rev()
        .find(|&i| u32_at(bytes, i) == Some(EOCD_SIG))
        .ok_or_else(|| corrupt("no end-of-central-directory record (not a zip file)"))?;
    let count = usize::from(u16_at(bytes, eocd + 10).ok_or_else(|| corrupt("truncated"))?);
    let cd_offset = u32_at(bytes, eocd + 16).ok_or_else(|| corrupt("truncated"))?;
    if count == 0xFFFF || cd_offset == 0xFFFF_FFFF {
        return Err(corrupt("zip64 archives are not accepted"));
    }
    if count > limits.max_entries {
        return Err(PackageError::TooManyEntries {
            count,
            max: limits.max_entries,
        });
    }
    let mut at = cd_offset as usize;
    let mut entries = Vec::with_capacity(count);
    for _ in 0..count {
        if u32_at(bytes, at) != Some(CD_SIG) {
            return Err(corrupt("central directory is damaged"));
        }
        let field = |off: usize| u16_at(bytes, at + off).ok_or_else(|| corrupt("truncated"));
        let made_by = field(4)?;
        let flags = field(8)?;
        let method = field(10)?;
        let compressed = u32_at(bytes, at + 20).ok_or_else(|| corrupt("truncated"))?;
        let size = u32_at(bytes, at + 24).ok_or_else(|| corrupt("truncated"))?;
        let name_len = usize::from(field(28)?);
        let extra_len = usize::from(field(30)?);
        let comment_len = usize::from(field(32)?);
        let external = u32_at(bytes, at + 38).ok_or_else(|| corrupt("truncated"))?;
        let raw_name = bytes
            .get(at + 46..at + 46 + name_len)
            .ok_or_else(|| corrupt("truncated entry name"))?;
        let name = String::from_utf8(raw_name.to_vec())
            .map_err(|_| PackageError::BadName(String::from_utf8_lossy(raw_name).into_owned()))?;
        let mode = (made_by >> 8 == 3).then_some(external >> 16);
        entries.push(CentralEntry {
            name,
            method,
            encrypted: flags & 1 != 0,
            compressed: u64::from(compressed),
            size: u64::from(size),
            mode,
        });
        at += 46 + name_len + extra_len + comment_len;
    }
    Ok(entries)
}

/// What is wrong with a package entry name, if anything: it must be a relative, normalized,
/// `/`-separated UTF-8 path without control characters.
pub(crate) fn entry_name_problem(name: &str) -> Option<fn(String) -> PackageError> {
    if name.starts_with('/') || name.starts_with('\\') || name.get(1..2) == Some(":") {
        return Some(PackageError::AbsolutePath);
    }
    if name.split(['/', '\\']).any(|s| s == "..") {
        return Some(PackageError::Traversal);
    }
    if name.is_empty()
        || name.chars().any(char::is_control)
        || name.contains('\\')
        || name.split('/').any(|s| s.is_empty() || s == ".")
    {
        return Some(PackageError::BadName);
    }
    None
}

/// Checks one entry's name and metadata against the rules of a package.
fn check_entry(entry: &CentralEntry, limits: &Limits) -> Result<(), PackageError> {
    let name = &entry.name;
    if let Some(problem) = entry_name_problem(name) {
        return Err(problem(name.clone()));
    }
    if entry.mode.is_some_and(|m| m & 0o170_000 == 0o120_000) {
        return Err(PackageError::Symlink(name.clone()));
    }
    if entry.encrypted || !matches!(entry.method, 0 | 8) {
        return Err(PackageError::Unsupported(name.clone()));
    }
    if entry.size > limits.ratio_exempt_below
        && entry.size > limits.max_ratio.saturating_mul(entry.compressed.max(1))
    {
        return Err(PackageError::ZipBomb {
            path: name.clone(),
            ratio: entry.size / entry.compressed.max(1),
            max: limits.max_ratio,
        });
    }
    Ok(())
}

/// Opens a package from its bytes: every structural check, then every entry inflated (within
/// its declared size) and hashed.
pub fn read_package(bytes: &[u8], limits: &Limits) -> Result<Package, PackageError> {
    let central = central_directory(bytes, limits)?;
    let mut seen = std::collections::HashSet::with_capacity(central.len());
    let mut total: u64 = 0;
    for entry in &central {
        check_entry(entry, limits)?;
        if !seen.insert(entry.name.as_str()) {
            return Err(PackageError::DuplicateEntry(entry.name.clone()));
        }
        total = total.saturating_add(entry.size);
    }
    if total > limits.max_total_uncompressed {
        return Err(PackageError::TooLarge {
            total,
            max: limits.max_total_uncompressed,
        });
    }
    let mut archive =
        ZipArchive::new(Cursor::new(bytes)).map_err(|e| PackageError::Corrupt(e.to_string()))?;
    if archive.len() != central.len() {
        return Err(corrupt("central directory and archive disagree"));
    }
    let mut entries = Vec::with_capacity(central.len());
    let mut special: BTreeMap<&str, String> = BTreeMap::new();
    let mut texts = BTreeMap::new();
    for (i, c) in central.iter().enumerate() {
        let file = archive
            .by_index(i)
            .map_err(|e| PackageError::Corrupt(format!("entry `{}`: {e}", c.name)))?;
        if file.name() != c.name {
            return Err(corrupt("central directory and archive disagree"));
        }
        let keep = [MANIFEST_FILE, CHECKSUMS_FILE, SIGNATURE_FILE].contains(&c.name.as_str())
            || (c.name.ends_with(".sql") && c.size <= TEXT_ENTRY_MAX);
        let mut hasher = Sha256::new();
        let mut kept = Vec::new();
        let mut limited = file.take(c.size + 1);
        let mut buf = vec![0u8; 64 * 1024];
        let mut read: u64 = 0;
        loop {
            let n = limited
                .read(&mut buf)
                .map_err(|e| PackageError::Corrupt(format!("entry `{}`: {e}", c.name)))?;
            if n == 0 {
                break;
            }
            read += n as u64;
            hasher.update(&buf[..n]);
            if keep {
                kept.extend_from_slice(&buf[..n]);
            }
        }
        if read != c.size {
            return Err(PackageError::SizeMismatch(c.name.clone()));
        }
        if keep {
            let text = String::from_utf8(kept).map_err(|_| PackageError::NotText(c.name.clone()));
            match c.name.as_str() {
                name @ (MANIFEST_FILE | CHECKSUMS_FILE | SIGNATURE_FILE) => {
                    special.insert(name, text?);
                }
                name => {
                    if let Ok(text) = text {
                        texts.insert(name.to_owned(), text);
                    }
                }
            }
        }
        entries.push(Entry {
            path: c.name.clone(),
            size: c.size,
            executable: c.mode.is_some_and(|m| m & 0o111 != 0),
            sha256: hex(&hasher.finalize()),
        });
    }
    let manifest_text = special
        .remove(MANIFEST_FILE)
        .ok_or(PackageError::MissingManifest)?;
    Ok(Package {
        entries,
        manifest_text,
        checksums_text: special.remove(CHECKSUMS_FILE),
        signature_text: special.remove(SIGNATURE_FILE),
        digest: sha256_hex(bytes),
        texts,
    })
}

/// The bytes of entry `path` of `package` (read from `bytes` by [`read_package`]), checked
/// against the hash recorded when it was read; `None` when the package has no such entry,
/// [`PackageError::EntryTooLarge`] when it is larger than `max` bytes.
pub fn read_entry(
    bytes: &[u8],
    package: &Package,
    path: &str,
    max: u64,
) -> Result<Option<Vec<u8>>, PackageError> {
    let Some(entry) = package.entries.iter().find(|e| e.path == path) else {
        return Ok(None);
    };
    if entry.size > max {
        return Err(PackageError::EntryTooLarge {
            path: path.to_owned(),
            size: entry.size,
            max,
        });
    }
    let mut archive =
        ZipArchive::new(Cursor::new(bytes)).map_err(|e| PackageError::Corrupt(e.to_string()))?;
    let file = archive
        .by_name(path)
        .map_err(|e| PackageError::Corrupt(format!("entry `{path}`: {e}")))?;
    let mut content = Vec::with_capacity(usize::try_from(entry.size).unwrap_or(0));
    file.take(entry.size + 1)
        .read_to_end(&mut content)
        .map_err(|e| PackageError::Corrupt(format!("entry `{path}`: {e}")))?;
    if sha256_hex(&content) != entry.sha256 {
        return Err(PackageError::SizeMismatch(path.to_owned()));
    }
    Ok(Some(content))
}

/// Writes the entries of `package` (read from `bytes` by [`read_package`]) under `dest`,
/// checking each file's bytes against the hash recorded when it was read. Entry names were
/// validated by [`read_package`], so nothing lands outside `dest`; executables get mode 0755.
pub fn extract_package(
    bytes: &[u8],
    package: &Package,
    dest: &std::path::Path,
) -> Result<(), PackageError> {
    let mut archive =
        ZipArchive::new(Cursor::new(bytes)).map_err(|e| PackageError::Corrupt(e.to_string()))?;
    for (i, entry) in package.entries.iter().enumerate() {
        let file = archive
            .by_index(i)
            .map_err(|e| PackageError::Corrupt(format!("entry `{}`: {e}", entry.path)))?;
        if file.name() != entry.path {
            return Err(corrupt("the archive changed since it was read"));
        }
        let target = dest.join(&entry.path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let mut out = std::fs::File::create(&target)?;
        let mut hashing = HashingWriter {
            inner: &mut out,
            hasher: Sha256::new(),
        };
        let written = std::io::copy(&mut file.take(entry.size + 1), &mut hashing)?;
        if written != entry.size || hex(&hashing.hasher.finalize()) != entry.sha256 {
            return Err(PackageError::SizeMismatch(entry.path.clone()));
        }
        out.sync_all()?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = if entry.executable { 0o755 } else { 0o644 };
            std::fs::set_permissions(&target, std::fs::Permissions::from_mode(mode))?;
        }
    }
    Ok(())
}

/// Hashes what passes through on its way to `inner`.
struct HashingWriter<'a, W> {
    inner: &'a mut W,
    hasher: Sha256,
}

impl<W: Write> Write for HashingWriter<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_does_not_depend_on_the_number_of_compression_threads() {
        let mut state = 7u32;
        let mut noise = |len: usize| -> Vec<u8> {
            (0..len)
                .map(|_| {
                    state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                    (state >> 24) as u8
                })
                .collect()
        };
        let contents: Vec<Content> = (0..7u8)
            .map(|i| {
                (
                    format!("f{i}"),
                    noise(10_000 * usize::from(i + 1)),
                    i % 2 == 0,
                )
            })
            .collect();
        let one = write_entries_with(
            contents.clone(),
            Some("sig"),
            Cursor::new(Vec::new()),
            1,
            Compression::Deflate,
        )
        .map(Cursor::into_inner)
        .expect("writes");
        for workers in [2, 3, 16] {
            let many = write_entries_with(
                contents.clone(),
                Some("sig"),
                Cursor::new(Vec::new()),
                workers,
                Compression::Deflate,
            )
            .map(Cursor::into_inner)
            .expect("writes");
            assert_eq!(one, many, "{workers} workers");
        }
        let read = read_package(&one, &Limits::default());
        assert!(matches!(read, Err(PackageError::MissingManifest)));
    }

    #[test]
    fn refuses_to_write_names_it_would_not_read() {
        for name in ["a\\b", "new\nline", "/abs", "../up", "a//b"] {
            let contents = vec![(name.to_owned(), b"x".to_vec(), false)];
            assert!(
                write_entries_with(
                    contents,
                    None,
                    Cursor::new(Vec::new()),
                    1,
                    Compression::Store
                )
                .is_err(),
                "{name:?}"
            );
        }
    }
}
