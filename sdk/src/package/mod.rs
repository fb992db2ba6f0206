//! The `.pxp` package (registry.md, "The package" and "Signatures").
//!
//! - [`collect`] walks a plugin directory and decides what goes in (`.plexicaignore`, default
//!   exclusions, secret-file refusal, the built backend artifact).
//! - [`write_package`] writes a **reproducible** zip: sorted entries, fixed timestamps and modes,
//!   no extra fields, plus `CHECKSUMS`.
//! - [`read_package`] opens a package defensively (entry caps, zip-bomb ratio, traversal,
//!   symlinks, duplicates) and hashes every entry.
//! - [`signing`] holds minisign-compatible Ed25519 keys and signatures over `CHECKSUMS`.
//! - [`verify_package`] runs every check and reports each one, pass or the exact reason.

mod archive;
mod checksums;
mod collect;
pub mod signing;
mod verify;

pub use archive::{
    Compression, Entry, Limits, Package, PackageError, extract_package, read_entry, read_package,
    rewrite_with_signature, write_package, write_package_with,
};
pub use checksums::{Checksums, ChecksumsError, sha256_hex};
pub use collect::{CollectError, CollectOptions, PackageFile, Source, collect};
pub use verify::{
    Check, CheckStatus, SignError, VerifyReport, sign_package, verify_package, verify_read_package,
};

/// Name of the checksum list entry.
pub const CHECKSUMS_FILE: &str = "CHECKSUMS";
/// Name of the detached signature entry.
pub const SIGNATURE_FILE: &str = "SIGNATURE";
/// File name of the ignore file in a plugin directory (gitignore syntax).
pub const IGNORE_FILE: &str = ".plexicaignore";
