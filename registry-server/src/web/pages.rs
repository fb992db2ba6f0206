//! The pages people read: home, search, plugin, publisher, and the notices. Every value is
//! escaped by `maud`; the only markup inserted as is comes from [`documents::render`].

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use plexica_sdk::api::registry::SearchSort;
use plexica_sdk::api::time::rfc3339;
use plexica_sdk::manifest::{CATEGORIES, Manifest};

use super::Session;
use crate::auth::Caller;
use crate::catalog::{self, SearchParams, average_rating, manifest_of, plugin_or_404, sorted};
use crate::documents;
use crate::error::{ApiError, ApiResult};
use crate::search::SearchQuery;
use crate::state::AppState;
use crate::storage::{DocumentKind, PluginRecord, ReviewRecord, VersionRecord};

/// Plugins per list on the home page.
const HOME_LIST: usize = 6;

/// The frame of every page.
fn layout(title: &str, session: Option<&Caller>, head: Markup, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Plexica plugins" }
                link rel="stylesheet" href="/assets/site.css";
                link rel="alternate" type="application/atom+xml" title="New versions" href="/feed.atom";
                (head)
            }
            body {
                header.top {
                    a.brand href="/" { "Plexica plugins" }
                    form.search role="search" action="/search" method="get" {
                        label.visually-hidden for="top-q" { "Search plugins" }
                        input #top-q type="search" name="q" placeholder="Search plugins";
                        button type="submit" { "Search" }
                    }
                    nav aria-label="Account" {
                        @if let Some(caller) = session {
                            a href={ "/users/" (caller.user.username) } { (caller.user.username) }
                            form.inline action="/logout" method="post" {
                                button.link type="submit" { "Sign out" }
                            }
                        } @else {
                            a href="/login" { "Sign in" }
                        }
                    }
                }
                main #main { (body) }
                footer {
                    a href="/feed.atom" { "New versions (Atom)" }
                    " · "
                    a href="/api/openapi.json" { "API" }
                }
            }
        }
    }
}

fn page(status: StatusCode, markup: Markup) -> Response {
    (status, markup).into_response()
}

/// A page that only says something (an error, a refusal), with a way back.
pub fn notice(status: StatusCode, title: &str, message: &str, back: Option<&str>) -> Response {
    page(
        status,
        layout(
            title,
            None,
            html! {},
            html! {
                h1 { (title) }
                p.notice { (message) }
                @if let Some(back) = back {
                    p { a href=(back) { "Back" } }
                }
            },
        ),
    )
}

/// An API error as a page.
pub fn error_page(error: &ApiError) -> Response {
    let title = match error.status {
        StatusCode::NOT_FOUND => "Not found",
        StatusCode::TOO_MANY_REQUESTS => "Too many requests",
        s if s.is_server_error() => "The registry is unavailable",
        _ => "Refused",
    };
    notice(error.status, title, &error.detail, None)
}

fn or_error_page(result: ApiResult<Response>) -> Response {
    result.unwrap_or_else(|e| error_page(&e))
}

fn plugin_card(p: &PluginRecord) -> Markup {
    html! {
        li.card {
            h3 { a href={ "/plugins/" (p.id) } { (p.name) } }
            p.id { (p.id) @if let Some(v) = &p.latest { " " span.version { (v) } } }
            p { (p.description) }
            p.meta {
                (p.downloads) " downloads"
                @if p.deprecation_message.is_some() { " · " strong { "deprecated" } }
            }
        }
    }
}

fn list(state: &AppState, sort: SearchSort) -> Vec<PluginRecord> {
    state
        .search
        .search(&SearchQuery {
            text: String::new(),
            category: None,
            keyword: None,
            sort,
            offset: 0,
            limit: HOME_LIST,
        })
        .0
}

/// `GET /`: search, categories, most downloaded, recently updated, newly published.
pub async fn home(State(state): State<AppState>, session: Option<Session>) -> Response {
    or_error_page(home_page(&state, session).await)
}

async fn home_page(state: &AppState, session: Option<Session>) -> ApiResult<Response> {
    let categories = state.meta.top_categories(CATEGORIES.len() as i64).await?;
    let sections = [
        ("Most downloaded", SearchSort::Downloads),
        ("Recently updated", SearchSort::Updated),
        ("Newly published", SearchSort::New),
    ];
    let body = html! {
        h1 { "Find plugins for Plexica" }
        form.hero role="search" action="/search" method="get" {
            label for="q" { "Search by name, keyword or description" }
            input #q type="search" name="q" autofocus;
            button type="submit" { "Search" }
        }
        section aria-labelledby="categories" {
            h2 #categories { "Categories" }
            ul.chips {
                @for (category, count) in &categories {
                    li { a href={ "/search?category=" (category) } { (category) " (" (count) ")" } }
                }
            }
        }
        @for (title, sort) in sections {
            section {
                h2 { (title) }
                ul.cards { @for p in &list(state, sort) { (plugin_card(p)) } }
            }
        }
    };
    Ok(page(
        StatusCode::OK,
        layout(
            "Home",
            session.as_ref().map(|s| &s.0),
            html! { meta name="description" content="Find, judge and trust plugins for Plexica."; },
            body,
        ),
    ))
}

/// `GET /search?q=&category=&keyword=&sort=&page=`: ranked as the API ranks.
pub async fn search(
    State(state): State<AppState>,
    session: Option<Session>,
    Query(params): Query<SearchParams>,
) -> Response {
    or_error_page(search_page(&state, session, &params))
}

fn search_link(params: &SearchParams, page: u32) -> String {
    let per_page = params.per_page.map(|n| n.to_string());
    let page = (page > 1).then(|| page.to_string());
    url_query(&[
        ("q", Some(params.q.as_str())),
        ("category", params.category.as_deref()),
        ("keyword", params.keyword.as_deref()),
        ("per_page", per_page.as_deref()),
        ("page", page.as_deref()),
    ])
}

/// `/search?` with the non-empty `pairs`, form-encoded.
fn url_query(pairs: &[(&str, Option<&str>)]) -> String {
    let start = "/search?";
    let mut query = url::form_urlencoded::Serializer::for_suffix(start.to_owned(), start.len());
    for (name, value) in pairs {
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            query.append_pair(name, value);
        }
    }
    query.finish()
}

fn search_page(
    state: &AppState,
    session: Option<Session>,
    params: &SearchParams,
) -> ApiResult<Response> {
    let (query, page, per_page) = params.query()?;
    let (hits, total) = state.search.search(&query);
    let suggestion = (total == 0)
        .then(|| state.search.suggest(&query.text))
        .flatten();
    let pages = total
        .div_ceil(usize::try_from(per_page).unwrap_or(20))
        .max(1);
    let title = if params.q.trim().is_empty() {
        "All plugins".to_owned()
    } else {
        format!("Search: {}", params.q.trim())
    };
    let body = html! {
        h1 { (title) }
        form.filters role="search" action="/search" method="get" {
            label for="sq" { "Query" }
            input #sq type="search" name="q" value=(params.q);
            label for="category" { "Category" }
            select #category name="category" {
                option value="" { "Any" }
                @for c in CATEGORIES {
                    option value=(c) selected[params.category.as_deref() == Some(*c)] { (c) }
                }
            }
            label for="keyword" { "Keyword" }
            input #keyword type="text" name="keyword" value=[params.keyword.as_deref()];
            button type="submit" { "Filter" }
        }
        p.count role="status" { (total) " plugin" @if total != 1 { "s" } }
        @if let Some(suggestion) = &suggestion {
            p.suggestion {
                "Did you mean "
                a href=(url_query(&[("q", Some(suggestion))])) { (suggestion) }
                "?"
            }
        }
        ul.cards { @for p in &hits { (plugin_card(p)) } }
        @if pages > 1 {
            nav.pages aria-label="Pages" {
                @if page > 1 { a rel="prev" href=(search_link(params, page - 1)) { "Previous" } }
                span { "Page " (page) " of " (pages) }
                @if (page as usize) < pages { a rel="next" href=(search_link(params, page + 1)) { "Next" } }
            }
        }
    };
    Ok(page_ok(&title, session, body))
}

fn page_ok(title: &str, session: Option<Session>, body: Markup) -> Response {
    page(
        StatusCode::OK,
        layout(title, session.as_ref().map(|s| &s.0), html! {}, body),
    )
}

/// `GET /plugins/{id}`: the plugin at its latest version.
pub async fn plugin(
    State(state): State<AppState>,
    session: Option<Session>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    or_error_page(plugin_page(&state, session, &headers, &id, None).await)
}

/// `GET /plugins/{id}/v/{version}`: the plugin at one version.
pub async fn plugin_version(
    State(state): State<AppState>,
    session: Option<Session>,
    headers: HeaderMap,
    Path((id, version)): Path<(String, String)>,
) -> Response {
    or_error_page(plugin_page(&state, session, &headers, &id, Some(&version)).await)
}

/// What the plugin page says of the signature of the version it shows.
enum Trust {
    Unsigned,
    /// Signed by a key registered to a current owner, not revoked.
    Verified {
        key_id: String,
        owner: String,
    },
    /// Signed, but the key is revoked or no longer held by an owner.
    Unverified {
        key_id: String,
    },
}

async fn trust_of(state: &AppState, version: &VersionRecord, owners: &[i64]) -> ApiResult<Trust> {
    let Some(key_id) = version.key_id.clone() else {
        return Ok(Trust::Unsigned);
    };
    Ok(match state.meta.key_holder(&key_id).await? {
        Some(holder) if holder.revoked_at.is_none() && owners.contains(&holder.user_id) => {
            Trust::Verified {
                key_id,
                owner: holder.username,
            }
        }
        _ => Trust::Unverified { key_id },
    })
}

async fn plugin_page(
    state: &AppState,
    session: Option<Session>,
    headers: &HeaderMap,
    id: &str,
    wanted: Option<&str>,
) -> ApiResult<Response> {
    let plugin = plugin_or_404(state, id).await?;
    let versions = sorted(state.meta.versions(id).await?);
    let shown = match wanted {
        Some(v) => catalog::version_or_404(state, id, v).await?,
        None => versions
            .iter()
            .find(|v| Some(&v.version) == plugin.latest.as_ref())
            .or_else(|| versions.first())
            .cloned()
            .ok_or_else(|| ApiError::not_found(format!("plugin `{id}` has no version")))?,
    };
    let manifest = manifest_of(&shown)?;
    let owners = state.meta.owners(id).await?;
    let reviews = state.meta.reviews(id).await?;
    let images = state.meta.image_paths(id, &shown.version).await?;
    let image_base = format!("/api/v1/plugins/{id}/versions/{}/images", shown.version);
    let readme = rendered(state, &shown, DocumentKind::Readme, &image_base, &images).await?;
    let changelog = rendered(state, &shown, DocumentKind::Changelog, &image_base, &images).await?;
    let owner_ids = state.meta.owner_ids(id).await?;
    let trust = trust_of(state, &shown, &owner_ids).await?;
    let caller = session.as_ref().map(|s| &s.0);
    let owner = caller.is_some_and(|c| catalog::is_among_owners(c, &owner_ids));
    let view = PluginView {
        plugin: &plugin,
        versions: &versions,
        shown: &shown,
        manifest: &manifest,
        owners: &owners,
        reviews: &reviews,
        readme: readme.as_deref(),
        changelog: changelog.as_deref(),
        image_base: &image_base,
        trust: &trust,
        caller,
        owner,
    };
    let base = state.base_url(headers);
    let head = open_graph(&base, &view);
    let title = format!("{} ({})", plugin.name, plugin.id);
    Ok(page(
        StatusCode::OK,
        layout(&title, caller, head, plugin_body(&view)),
    ))
}

/// `version`'s document of `kind`, rendered, when the version has one (no query otherwise).
async fn rendered(
    state: &AppState,
    version: &VersionRecord,
    kind: DocumentKind,
    image_base: &str,
    images: &[String],
) -> ApiResult<Option<String>> {
    let present = match kind {
        DocumentKind::Readme => version.readme,
        DocumentKind::Changelog => version.changelog,
    };
    if !present {
        return Ok(None);
    }
    Ok(state
        .meta
        .document(&version.plugin_id, &version.version, kind)
        .await?
        .map(|md| documents::render(&md, image_base, images)))
}

/// What a plugin page shows.
struct PluginView<'a> {
    plugin: &'a PluginRecord,
    versions: &'a [VersionRecord],
    shown: &'a VersionRecord,
    manifest: &'a Manifest,
    owners: &'a [String],
    reviews: &'a [ReviewRecord],
    readme: Option<&'a str>,
    changelog: Option<&'a str>,
    image_base: &'a str,
    trust: &'a Trust,
    caller: Option<&'a Caller>,
    owner: bool,
}

fn open_graph(base: &str, view: &PluginView<'_>) -> Markup {
    let url = format!("{base}/plugins/{}", view.plugin.id);
    let image = view
        .manifest
        .plugin
        .screenshots
        .first()
        .map(|shot| format!("{base}{}/{shot}", view.image_base));
    html! {
        meta name="description" content=(view.manifest.plugin.description);
        link rel="canonical" href=(url);
        meta property="og:type" content="website";
        meta property="og:site_name" content="Plexica plugins";
        meta property="og:title" content=(view.plugin.name);
        meta property="og:description" content=(view.manifest.plugin.description);
        meta property="og:url" content=(url);
        @if let Some(image) = image { meta property="og:image" content=(image); }
    }
}

/// A time as its date, with the exact instant for machines.
fn date(ms: i64) -> Markup {
    let exact = rfc3339(ms);
    let day = exact.get(..10).unwrap_or(&exact).to_owned();
    html! { time datetime=(exact) { (day) } }
}

fn stars(rating: f64) -> String {
    format!("{rating:.1} out of 5")
}

fn install_line(view: &PluginView<'_>) -> String {
    if Some(&view.shown.version) == view.plugin.latest.as_ref() {
        format!("plexica tenant plugin install <tenant> {}", view.plugin.id)
    } else {
        format!(
            "plexica tenant plugin install <tenant> {}@={}",
            view.plugin.id, view.shown.version
        )
    }
}

fn plugin_body(view: &PluginView<'_>) -> Markup {
    let p = view.plugin;
    let m = &view.manifest.plugin;
    let rating = average_rating(view.reviews.iter().map(|r| r.rating));
    html! {
        @if let Some(message) = &p.deprecation_message {
            div.banner.deprecated role="note" {
                strong { "Deprecated: " } (message)
                @if let Some(successor) = &p.deprecation_successor {
                    " Use " a href={ "/plugins/" (successor) } { (successor) } " instead."
                }
            }
        }
        @if view.shown.yanked {
            div.banner.yanked role="note" {
                strong { "Version " (view.shown.version) " is yanked" }
                @if let Some(reason) = &view.shown.yank_reason { ": " (reason) }
            }
        }
        div.plugin-head {
            h1 { (p.name) " " span.version { (view.shown.version) } }
            p.id { (p.id) }
            p.lead { (m.description) }
            p.install {
                label for="install" { "Install" }
                input #install readonly value=(install_line(view));
            }
        }
        div.columns {
            article.readme aria-label="README" {
                @if let Some(readme) = view.readme {
                    (PreEscaped(readme))
                } @else {
                    p { "This version has no README." }
                }
                @if !m.screenshots.is_empty() {
                    h2 { "Screenshots" }
                    div.shots {
                        @for (i, shot) in m.screenshots.iter().enumerate() {
                            img src={ (view.image_base) "/" (shot) } alt={ "Screenshot " (i + 1) " of " (p.name) } loading="lazy";
                        }
                    }
                }
                @if let Some(changelog) = view.changelog {
                    details.changelog {
                        summary { "Changelog" }
                        (PreEscaped(changelog))
                    }
                }
            }
            aside.facts aria-label="About this plugin" {
                (trust_block(view.trust))
                dl {
                    dt { "Latest" } dd { (p.latest.as_deref().unwrap_or("none (all yanked)")) }
                    dt { "License" } dd { (m.license) }
                    @if let Some(req) = &m.plexica { dt { "Platform" } dd { "Plexica " (req.to_string()) } }
                    dt { "Downloads" } dd { (p.downloads) }
                    dt { "Rating" } dd {
                        @if let Some(r) = rating { (stars(r)) " (" (view.reviews.len()) " reviews)" }
                        @else { "no reviews yet" }
                    }
                    dt { "Owners" } dd {
                        @for (i, o) in view.owners.iter().enumerate() {
                            @if i > 0 { ", " }
                            a href={ "/users/" (o) } { (o) }
                        }
                    }
                    @if let Some(home) = &m.homepage { dt { "Home page" } dd { a href=(home) rel="nofollow noopener" { (home) } } }
                    @if let Some(repo) = &m.repository { dt { "Repository" } dd { a href=(repo) rel="nofollow noopener" { (repo) } } }
                    @if !m.categories.is_empty() {
                        dt { "Categories" } dd {
                            @for c in &m.categories { a.chip href={ "/search?category=" (c) } { (c) } " " }
                        }
                    }
                    @if !m.keywords.is_empty() {
                        dt { "Keywords" } dd {
                            @for k in &m.keywords { a.chip href=(url_query(&[("keyword", Some(k))])) { (k) } " " }
                        }
                    }
                }
                (requirements(view.manifest))
            }
        }
        section aria-labelledby="versions" {
            h2 #versions { "Versions" }
            table {
                thead { tr { th scope="col" { "Version" } th scope="col" { "Published" } th scope="col" { "Downloads" } th scope="col" { "Status" } } }
                tbody {
                    @for v in view.versions {
                        tr.yanked[v.yanked] {
                            td { a href={ "/plugins/" (p.id) "/v/" (v.version) } { (v.version) } }
                            td { (date(v.published_at)) }
                            td { (v.downloads) }
                            td {
                                @if v.yanked {
                                    "yanked" @if let Some(reason) = &v.yank_reason { ": " (reason) }
                                } @else { "available" }
                            }
                        }
                    }
                }
            }
        }
        (reviews_block(view))
        @if view.owner { (owner_block(view)) }
    }
}

fn trust_block(trust: &Trust) -> Markup {
    html! {
        @match trust {
            Trust::Verified { key_id, owner } => p.trust.verified {
                "✔ Verified: signed by key " code { (key_id) } " registered to owner "
                a href={ "/users/" (owner) } { (owner) }
            },
            Trust::Unverified { key_id } => p.trust.unverified {
                "Signed by key " code { (key_id) } ", which is not registered to a current owner"
            },
            Trust::Unsigned => p.trust.unverified { "Not signed" },
        }
    }
}

fn requirements(manifest: &Manifest) -> Markup {
    let deps = &manifest.dependencies;
    html! {
        @if !deps.required.is_empty() || !deps.optional.is_empty() {
            h2 { "Dependencies" }
            ul {
                @for (dep, req) in &deps.required {
                    li { a href={ "/plugins/" (dep) } { (dep) } " " code { (req.to_string()) } }
                }
                @for (dep, req) in &deps.optional {
                    li { a href={ "/plugins/" (dep) } { (dep) } " " code { (req.to_string()) } " (optional)" }
                }
            }
        }
        @if !manifest.permissions.is_empty() {
            h2 { "Permissions it asks for" }
            ul {
                @for perm in &manifest.permissions {
                    li { code { (perm.key) } " — " (perm.description) }
                }
            }
        }
        @if !manifest.events.publishes.is_empty() || !manifest.events.subscribes.is_empty() {
            h2 { "Events" }
            @if !manifest.events.publishes.is_empty() {
                p { "Publishes:" }
                ul { @for e in &manifest.events.publishes { li { code { (e) } } } }
            }
            @if !manifest.events.subscribes.is_empty() {
                p { "Subscribes to:" }
                ul { @for e in &manifest.events.subscribes { li { code { (e) } } } }
            }
        }
    }
}

fn reviews_block(view: &PluginView<'_>) -> Markup {
    let id = &view.plugin.id;
    let mine = view
        .caller
        .and_then(|c| view.reviews.iter().find(|r| r.username == c.user.username));
    html! {
        section aria-labelledby="reviews" {
            h2 #reviews { "Reviews" }
            @if view.reviews.is_empty() { p { "No reviews yet." } }
            ul.reviews {
                @for r in view.reviews {
                    li.review {
                        p.meta { strong { (r.username) } " rated it " (r.rating) " out of 5 · " (date(r.updated_at)) }
                        @if !r.text.is_empty() { p { (r.text) } }
                    }
                }
            }
            @if let Some(caller) = view.caller {
                form.review-form action={ "/plugins/" (id) "/review" } method="post" {
                    h3 { @if mine.is_some() { "Edit your review" } @else { "Write a review as " (caller.user.username) } }
                    label for="rating" { "Rating" }
                    select #rating name="rating" required {
                        @for n in (1..=5).rev() {
                            option value=(n) selected[mine.is_some_and(|r| r.rating == n)] { (n) " out of 5" }
                        }
                    }
                    label for="text" { "Review" }
                    textarea #text name="text" rows="4" maxlength=(catalog::MAX_REVIEW_CHARS) {
                        (mine.map(|r| r.text.as_str()).unwrap_or_default())
                    }
                    button type="submit" { "Post review" }
                }
            } @else {
                p { a href="/login" { "Sign in" } " to write a review." }
            }
        }
    }
}

fn owner_block(view: &PluginView<'_>) -> Markup {
    let id = &view.plugin.id;
    html! {
        section.manage aria-labelledby="manage" {
            h2 #manage { "Manage (owners)" }
            form action={ "/plugins/" (id) "/yank" } method="post" {
                h3 { "Yank a version" }
                label for="yank-version" { "Version" }
                select #yank-version name="version" {
                    @for v in view.versions.iter().filter(|v| !v.yanked) { option { (v.version) } }
                }
                label for="yank-reason" { "Reason" }
                input #yank-reason name="reason" required maxlength="1000";
                button type="submit" { "Yank" }
            }
            @if view.versions.iter().any(|v| v.yanked) {
                form action={ "/plugins/" (id) "/unyank" } method="post" {
                    h3 { "Restore a yanked version" }
                    label for="unyank-version" { "Version" }
                    select #unyank-version name="version" {
                        @for v in view.versions.iter().filter(|v| v.yanked) { option { (v.version) } }
                    }
                    button type="submit" { "Unyank" }
                }
            }
            @if view.plugin.deprecation_message.is_some() {
                form action={ "/plugins/" (id) "/undeprecate" } method="post" {
                    h3 { "Deprecation" }
                    button type="submit" { "Lift the deprecation" }
                }
            } @else {
                form action={ "/plugins/" (id) "/deprecate" } method="post" {
                    h3 { "Deprecate" }
                    label for="dep-message" { "Message" }
                    input #dep-message name="message" required maxlength="1000";
                    label for="dep-successor" { "Successor (plugin id, optional)" }
                    input #dep-successor name="successor";
                    button type="submit" { "Deprecate" }
                }
            }
            form action={ "/plugins/" (id) "/owners/add" } method="post" {
                h3 { "Add an owner" }
                label for="owner-add" { "Username" }
                input #owner-add name="username" required;
                button type="submit" { "Add" }
            }
            form action={ "/plugins/" (id) "/owners/remove" } method="post" {
                h3 { "Remove an owner" }
                label for="owner-remove" { "Owner" }
                select #owner-remove name="username" { @for o in view.owners { option { (o) } } }
                button type="submit" { "Remove" }
            }
        }
    }
}

/// `GET /users/{name}`: a publisher's plugins and keys.
pub async fn publisher(
    State(state): State<AppState>,
    session: Option<Session>,
    Path(name): Path<String>,
) -> Response {
    or_error_page(publisher_page(&state, session, &name).await)
}

async fn publisher_page(
    state: &AppState,
    session: Option<Session>,
    name: &str,
) -> ApiResult<Response> {
    let user = state
        .meta
        .user_by_name(name)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no publisher `{name}`")))?;
    let plugins = state.meta.plugins_owned_by(user.id).await?;
    let keys = state.meta.keys_of(user.id).await?;
    let body = html! {
        h1 { (user.username) }
        section aria-labelledby="their-plugins" {
            h2 #their-plugins { "Plugins" }
            @if plugins.is_empty() { p { "No plugins yet." } }
            ul.cards { @for p in &plugins { (plugin_card(p)) } }
        }
        section aria-labelledby="keys" {
            h2 #keys { "Signing keys" }
            @if keys.is_empty() { p { "No keys registered." } }
            ul {
                @for k in &keys {
                    li {
                        code { (k.key_id) } " registered " (date(k.created_at))
                        @if let Some(revoked) = k.revoked_at { " · " strong { "revoked " (date(revoked)) } }
                    }
                }
            }
        }
    };
    Ok(page_ok(&user.username, session, body))
}

/// The sign-in page, with an error when the last attempt failed.
pub fn login_form(status: StatusCode, error: Option<&str>, username: &str) -> Response {
    page(
        status,
        layout(
            "Sign in",
            None,
            html! {},
            html! {
                h1 { "Sign in" }
                p { "Publishers sign in with their registry account to review plugins and manage their own." }
                @if let Some(error) = error { p.notice role="alert" { (error) } }
                form.login action="/login" method="post" {
                    label for="username" { "Username" }
                    input #username name="username" autocomplete="username" required value=(username);
                    label for="password" { "Password" }
                    input #password name="password" type="password" autocomplete="current-password" required;
                    button type="submit" { "Sign in" }
                }
            },
        ),
    )
}
