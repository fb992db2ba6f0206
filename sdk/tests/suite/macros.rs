//! Compile tests of `#[event_handler]` and `#[hook]` (trybuild): what must compile and run —
//! every option and hook — and what must not, each with the error pointing at the offending
//! token (`tests/ui/fail/*.stderr`). The usage in events-sdk.md is a doctest of
//! `plexica_sdk::runtime`.
//!
//! Compiler messages change between Rust releases, so the expected output is checked on the
//! toolchain it was recorded with only. Re-record with `TRYBUILD=overwrite cargo test -p
//! plexica-sdk --test suite -- macros` after a toolchain upgrade and review the diff.

#[rustversion::attr(
    not(stable(1.95)),
    ignore = "compiler messages are recorded with Rust 1.95"
)]
#[test]
fn macros_compile_or_fail_with_spanned_errors() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/pass/*.rs");
    cases.compile_fail("tests/ui/fail/*.rs");
}
