//! Machine formats: an Atom feed of new versions and a sitemap of every plugin
//! page, with absolute links from [`AppState::base_url`].

use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use plexica_sdk::api::time::rfc3339;

use super::pages;
use crate::error::ApiResult;
use crate::state::AppState;

/// Versions the feed lists.
const FEED_ENTRIES: i64 = 50;

/// `&`, `<`, `>`, `"` and `'` as XML entities.
fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if c.is_control() && c != '\n' && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

fn xml_response(body: String, content_type: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=60"),
        ],
        body,
    )
        .into_response()
}

/// `GET /feed.atom`: the newest versions, newest first.
pub async fn atom(State(state): State<AppState>, headers: HeaderMap) -> Response {
    feed(&state, &headers)
        .await
        .unwrap_or_else(|e| pages::error_page(&e))
}

async fn feed(state: &AppState, headers: &HeaderMap) -> ApiResult<Response> {
    let base = state.base_url(headers);
    let recent = state.meta.recent_versions(FEED_ENTRIES).await?;
    let updated = recent.first().map_or(0, |(_, _, at)| *at);
    let mut body = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n\
         <feed xmlns=\"http://www.w3.org/2005/Atom\">\n\
         <title>Plexica plugins: new versions</title>\n\
         <id>{base}/feed.atom</id>\n\
         <link rel=\"self\" href=\"{base}/feed.atom\"/>\n\
         <link rel=\"alternate\" type=\"text/html\" href=\"{base}/\"/>\n\
         <updated>{}</updated>\n",
        rfc3339(updated),
        base = xml(&base),
    );
    let plugins = state
        .search
        .records(recent.iter().map(|(id, _, _)| id.as_str()));
    for (id, version, published_at) in &recent {
        let (name, description) = plugins
            .get(id)
            .map(|p| (p.name.as_str(), p.description.as_str()))
            .unwrap_or((id.as_str(), ""));
        let url = format!("{base}/plugins/{id}/v/{version}");
        body.push_str(&format!(
            "<entry>\n<title>{} {}</title>\n<id>{}</id>\n<link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>\n\
             <updated>{}</updated>\n<author><name>{}</name></author>\n<summary>{}</summary>\n</entry>\n",
            xml(name),
            xml(version),
            xml(&url),
            xml(&url),
            rfc3339(*published_at),
            xml(id),
            xml(description),
        ));
    }
    body.push_str("</feed>\n");
    Ok(xml_response(body, "application/atom+xml; charset=utf-8"))
}

/// `GET /sitemap.xml`: the home page and every plugin page.
pub async fn sitemap(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let base = xml(&state.base_url(&headers));
    let mut body = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n\
         <urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
    );
    body.push_str(&format!("<url><loc>{base}/</loc></url>\n"));
    for (id, updated_at) in state.search.ids_and_updates() {
        body.push_str(&format!(
            "<url><loc>{base}/plugins/{}</loc><lastmod>{}</lastmod></url>\n",
            xml(&id),
            rfc3339(updated_at)
        ));
    }
    body.push_str("</urlset>\n");
    xml_response(body, "application/xml; charset=utf-8")
}
