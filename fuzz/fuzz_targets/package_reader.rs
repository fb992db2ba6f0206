//! Any bytes given to the package reader and verifier are refused or read, never a panic, and
//! never more memory than the caps allow.
#![no_main]

use libfuzzer_sys::fuzz_target;
use plexica_sdk::package::{Limits, read_package, verify_package};

fuzz_target!(|bytes: &[u8]| {
    let limits = Limits {
        max_total_uncompressed: 16 << 20,
        ..Limits::default()
    };
    if read_package(bytes, &limits).is_ok() {
        let _ = verify_package(bytes, &[], &limits);
    }
});
