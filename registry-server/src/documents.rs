//! What a package says of itself (registry.md, "the marketplace"): its README and changelog,
//! kept as Markdown and rendered to sanitized HTML when served, and its images (screenshots,
//! and the images its README shows), type-checked by their bytes and size-capped at publish.
//!
//! Sanitizing is done by `ammonia` (an allow-list HTML sanitizer built on html5ever), never by
//! a pattern: no script, no style, no event handler, no `javascript:` or `data:` URL survives;
//! images load only from the package (served by the registry) or over https. The pages add a
//! Content-Security-Policy without `script-src`, so even a sanitizer bug runs no script.

use std::borrow::Cow;
use std::collections::BTreeSet;

use plexica_sdk::manifest::{Manifest, check_package_path};
use plexica_sdk::package::{Package, PackageError, read_entry};
use pulldown_cmark::{Event, Options, Parser, Tag};

use crate::storage::{DocumentKind, Image};

/// Largest README or changelog kept, bytes.
pub const MAX_DOCUMENT_BYTES: u64 = 512 * 1024;
/// Largest image kept, bytes.
pub const MAX_IMAGE_BYTES: u64 = 2 * 1024 * 1024;
/// Most images kept per version (screenshots first, then the README's).
pub const MAX_IMAGES: usize = 16;

/// Why a package's documents or images were refused.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    /// A document or screenshot is larger than allowed, or the package could not be read.
    #[error(transparent)]
    Package(#[from] PackageError),
    /// A document is not UTF-8.
    #[error("`{0}` is not UTF-8 text")]
    NotText(String),
    /// A declared screenshot is not an image the pages show.
    #[error("screenshot `{0}` is not a PNG, JPEG, WebP or GIF image (checked by its bytes)")]
    NotAnImage(String),
    /// A declared screenshot is missing from the package.
    #[error("screenshot `{0}` is not in the package")]
    MissingScreenshot(String),
}

impl DocumentError {
    /// The stable error code the API answers with.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Package(PackageError::EntryTooLarge { .. }) => "DOCUMENT_TOO_LARGE",
            Self::Package(e) => e.code(),
            Self::NotText(_) => "DOCUMENT_INVALID",
            Self::NotAnImage(_) | Self::MissingScreenshot(_) => "SCREENSHOT_INVALID",
        }
    }
}

/// A package's documents and images, as publish stores them.
#[derive(Debug, Default)]
pub struct Extracted {
    /// README and changelog sources.
    pub documents: Vec<(DocumentKind, String)>,
    /// Screenshots, then the README's own images.
    pub images: Vec<Image>,
}

/// The media type of image `bytes`, by their signature; `None` for anything else (SVG
/// included: it can carry script).
pub fn image_media_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

/// Reads the README, the changelog and the images of a checked package. A declared screenshot
/// must be an image within [`MAX_IMAGE_BYTES`]; an image the README links that is not one is
/// left out (the page then shows the README without it).
pub fn extract(
    bytes: &[u8],
    package: &Package,
    manifest: &Manifest,
) -> Result<Extracted, DocumentError> {
    let mut extracted = Extracted::default();
    for kind in DocumentKind::ALL {
        if let Some(content) = read_entry(bytes, package, kind.file_name(), MAX_DOCUMENT_BYTES)? {
            let text = String::from_utf8(content)
                .map_err(|_| DocumentError::NotText(kind.file_name().to_owned()))?;
            extracted.documents.push((kind, text));
        }
    }
    for shot in &manifest.plugin.screenshots {
        let content = read_entry(bytes, package, shot, MAX_IMAGE_BYTES)?
            .ok_or_else(|| DocumentError::MissingScreenshot(shot.clone()))?;
        let media_type =
            image_media_type(&content).ok_or_else(|| DocumentError::NotAnImage(shot.clone()))?;
        push_image(&mut extracted.images, shot, media_type, content);
    }
    let readme = extracted
        .documents
        .iter()
        .find(|(kind, _)| *kind == DocumentKind::Readme)
        .map(|(_, text)| text.as_str())
        .unwrap_or_default();
    for path in relative_images(readme) {
        if extracted.images.len() >= MAX_IMAGES {
            break;
        }
        if let Ok(Some(content)) = read_entry(bytes, package, &path, MAX_IMAGE_BYTES)
            && let Some(media_type) = image_media_type(&content)
        {
            push_image(&mut extracted.images, &path, media_type, content);
        }
    }
    Ok(extracted)
}

fn push_image(images: &mut Vec<Image>, path: &str, media_type: &str, bytes: Vec<u8>) {
    if !images.iter().any(|i| i.path == path) {
        images.push(Image {
            path: path.to_owned(),
            media_type: media_type.to_owned(),
            bytes,
        });
    }
}

fn markdown_options() -> Options {
    Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS
}

/// `./docs/a.png` → `docs/a.png`; `None` for anything that is not a path inside the package.
fn package_path(url: &str) -> Option<String> {
    let path = url.strip_prefix("./").unwrap_or(url);
    (!path.contains(':') && !path.starts_with('#') && check_package_path(path).is_ok())
        .then(|| path.to_owned())
}

/// The package paths of the images a README shows, in order, once each.
fn relative_images(markdown: &str) -> Vec<String> {
    let mut seen = BTreeSet::new();
    Parser::new_ext(markdown, markdown_options())
        .filter_map(|event| match event {
            Event::Start(Tag::Image { dest_url, .. }) => package_path(&dest_url),
            _ => None,
        })
        .filter(|path| seen.insert(path.clone()))
        .collect()
}

/// Renders `markdown` to sanitized HTML. Images inside the package that the registry keeps
/// (`images`) are served from `image_base` (`…/versions/{v}/images`); https images stay;
/// every other image source is dropped.
pub fn render(markdown: &str, image_base: &str, images: &[String]) -> String {
    let mut html = String::with_capacity(markdown.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, Parser::new_ext(markdown, markdown_options()));
    let base = image_base.to_owned();
    let kept: BTreeSet<String> = images.iter().cloned().collect();
    let clean = ammonia::Builder::default()
        .link_rel(Some("nofollow noopener noreferrer"))
        .url_schemes(["https", "http", "mailto"].into_iter().collect())
        .attribute_filter(move |element, attribute, value| {
            if element != "img" || attribute != "src" {
                return Some(Cow::Borrowed(value));
            }
            if value.starts_with("https://") {
                Some(Cow::Borrowed(value))
            } else {
                package_path(value)
                    .filter(|path| kept.contains(path))
                    .map(|path| Cow::Owned(format!("{base}/{path}")))
            }
        })
        .clean(&html)
        .to_string();
    with_alt_text(&clean)
}

/// Gives every `<img>` of sanitized HTML that has no `alt` an empty one (decorative), so the
/// page stays accessible whatever the README wrote. The input is html5ever's serialization:
/// every attribute value is double-quoted with `"` escaped inside, so a tag ends at the first
/// `>` outside quotes.
fn with_alt_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len() + 16);
    let mut rest = html;
    while let Some(start) = rest.find("<img") {
        let (before, tag) = rest.split_at(start);
        out.push_str(before);
        let mut quoted = false;
        let end = tag
            .char_indices()
            .find(|&(_, c)| {
                if c == '"' {
                    quoted = !quoted;
                }
                c == '>' && !quoted
            })
            .map_or(tag.len(), |(i, _)| i);
        let (element, after) = tag.split_at(end);
        out.push_str(element);
        if !element.contains(" alt=\"") {
            out.push_str(" alt=\"\"");
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "/api/v1/plugins/crm/versions/1.0.0/images";

    #[test]
    fn scripts_handlers_and_javascript_links_are_removed() {
        let hostile = "# Hi\n\n<script>alert(1)</script>\n\n<img src=x onerror=alert(2)>\n\n\
            [click](javascript:alert(3))\n\n<a href=\"javascript:alert(4)\">x</a>\n\n\
            <svg><script>alert(5)</script></svg>\n\n<iframe src=\"https://evil\"></iframe>\n\n\
            <p style=\"color:red\" onclick=\"alert(6)\">text</p>";
        let html = render(hostile, BASE, &[]);
        for banned in [
            "<script",
            "onerror",
            "javascript:",
            "<svg",
            "<iframe",
            "onclick",
            "style=",
        ] {
            assert!(!html.contains(banned), "{banned} survived in {html}");
        }
        assert!(html.contains("<h1>Hi</h1>"), "{html}");
        assert!(html.contains(">text</p>"), "{html}");
        assert!(html.contains("<img alt=\"\">"), "{html}");
    }

    #[test]
    fn images_without_alt_text_get_an_empty_one() {
        assert_eq!(
            with_alt_text("<p><img title=\"a>b\" src=\"https://x/y.png\"> <img alt=\"z\"></p>"),
            "<p><img title=\"a>b\" src=\"https://x/y.png\" alt=\"\"> <img alt=\"z\"></p>"
        );
    }

    #[test]
    fn images_come_from_the_package_or_https_only() {
        let md = "![a](docs/a.png) ![b](./docs/b.png) ![c](https://img.example/c.png) \
                  ![d](http://img.example/d.png) ![e](data:image/png;base64,AAAA) ![f](../x.png)";
        let html = render(md, BASE, &["docs/a.png".to_owned()]);
        assert!(
            html.contains(&format!("src=\"{BASE}/docs/a.png\"")),
            "{html}"
        );
        assert!(html.contains("src=\"https://img.example/c.png\""), "{html}");
        for dropped in ["b.png", "http://img", "data:", "x.png"] {
            assert!(!html.contains(dropped), "{dropped} survived in {html}");
        }
        assert_eq!(
            relative_images(md),
            ["docs/a.png", "docs/b.png"].map(str::to_owned)
        );
    }

    #[test]
    fn media_types_are_read_from_the_bytes() {
        assert_eq!(
            image_media_type(b"\x89PNG\r\n\x1a\n...."),
            Some("image/png")
        );
        assert_eq!(
            image_media_type(&[0xff, 0xd8, 0xff, 0xe0]),
            Some("image/jpeg")
        );
        assert_eq!(image_media_type(b"GIF89a..."), Some("image/gif"));
        assert_eq!(
            image_media_type(b"RIFF\0\0\0\0WEBPVP8 "),
            Some("image/webp")
        );
        assert_eq!(image_media_type(b"<svg onload=alert(1)>"), None);
        assert_eq!(image_media_type(b""), None);
    }
}
