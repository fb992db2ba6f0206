//! Properties of the manifest checker on arbitrary input: it never panics, every diagnostic
//! points inside the text it names, and accepted package paths never leave the plugin.

use plexica_sdk::manifest::{self, check_package_path};
use proptest::prelude::*;

const FULL: &str = include_str!("fixtures/full.toml");

fn assert_located(text: &str, checked: &manifest::Checked) {
    for d in &checked.diagnostics {
        if d.file != "plexica.toml" {
            continue;
        }
        assert!(
            d.span.start <= d.span.end && d.span.end <= text.len(),
            "{d:?}"
        );
        assert!(d.line >= 1 && d.column >= 1, "{d:?}");
        assert!(d.line <= text.lines().count().max(1) + 1, "{d:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,400}") {
        let checked = manifest::check(&text, "plexica.toml", None);
        assert_located(&text, &checked);
        prop_assert_eq!(checked.manifest.is_some(), checked.error_count() == 0);
    }

    #[test]
    fn damaged_manifests_are_reported_not_panicked_on(start in 0usize..FULL.len(), len in 0usize..40, insert in "\\PC{0,8}") {
        let start = (0..=start).rev().find(|i| FULL.is_char_boundary(*i)).unwrap_or(0);
        let end = (start + len..=FULL.len()).find(|i| FULL.is_char_boundary(*i)).unwrap_or(FULL.len());
        let text = format!("{}{}{}", &FULL[..start], insert, &FULL[end..]);
        let checked = manifest::check(&text, "plexica.toml", None);
        assert_located(&text, &checked);
    }

    #[test]
    fn accepted_package_paths_stay_inside(path in "[a-z./\\\\:]{0,12}") {
        if check_package_path(&path).is_ok() {
            prop_assert!(!path.starts_with('/'));
            prop_assert!(!path.split('/').any(|s| s == ".." || s == "." || s.is_empty()));
            prop_assert!(!path.contains('\\'));
        }
    }
}
