//! Any text given to the manifest checker yields diagnostics inside the text, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use plexica_sdk::manifest;

fuzz_target!(|text: &str| {
    let checked = manifest::check(text, "plexica.toml", None);
    for d in &checked.diagnostics {
        assert!(d.span.start <= d.span.end && d.span.end <= text.len());
    }
    assert_eq!(checked.manifest.is_some(), checked.error_count() == 0);
});
