//! CRM, a Plexica plugin: contacts, deals and a sales pipeline for every workspace, kept in the
//! plugin's own tables (`migrations/`) through `ctx.data()`. The platform scopes every row to
//! the workspace of the request, so the code below never filters by workspace itself.
//!
//! - `core.workspace.created` → the workspace's pipeline (`plugin.crm.pipeline.created`).
//! - Service `crm.contacts`: `GET /contacts`, `GET /contacts/:id`, `POST /contacts`
//!   (`plugin.crm.contact.created`).
//! - Service `crm.deals`: `GET /deals`, `POST /deals` (`plugin.crm.deal.created`),
//!   `GET /pipeline`.

use plexica_sdk::api::events::new_event_id;
use plexica_sdk::api::time::{now_ms, rfc3339};
use plexica_sdk::axum::extract::{Path, Query};
use plexica_sdk::axum::http::StatusCode;
use plexica_sdk::prelude::*;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// The stages of a new workspace's pipeline, in order.
const STAGES: [&str; 5] = ["lead", "qualified", "proposal", "won", "lost"];

/// The name of the pipeline every workspace gets.
const PIPELINE_NAME: &str = "Sales";

/// The most contacts or deals one list answers with.
const MAX_PAGE: u32 = 500;

/// The `data` of a `core.workspace.created` event.
#[derive(Debug, Deserialize, Serialize)]
struct WorkspaceCreated {
    workspace_id: String,
    slug: String,
    name: String,
}

/// The plugin's configuration (the manifest's `[[config]]`).
#[derive(Debug, Deserialize)]
struct Settings {
    currency: String,
}

/// A contact, as stored in `crm_contacts`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
struct Contact {
    id: String,
    name: String,
    email: Option<String>,
    company: Option<String>,
    created_at: String,
}

/// `POST /contacts`.
#[derive(Debug, Deserialize)]
struct NewContact {
    name: String,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    company: Option<String>,
}

/// A deal, as stored in `crm_deals`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
struct Deal {
    id: String,
    contact_id: Option<String>,
    title: String,
    amount_cents: i64,
    currency: String,
    stage: String,
    created_at: String,
}

/// `POST /deals`.
#[derive(Debug, Deserialize)]
struct NewDeal {
    title: String,
    amount_cents: i64,
    #[serde(default)]
    contact_id: Option<String>,
    #[serde(default)]
    stage: Option<String>,
}

/// The workspace's pipeline, as stored in `crm_pipelines`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
struct Pipeline {
    name: String,
    stages: Vec<String>,
    created_at: String,
}

/// `?limit=&offset=` of the lists.
#[derive(Debug, Default, Deserialize)]
struct Page {
    limit: Option<u32>,
    offset: Option<u32>,
}

/// Trims `text` and refuses it outside `1..=max` characters.
fn required_text(field: &str, text: &str, max: usize) -> Result<String> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > max {
        return Err(Error::invalid(format!(
            "`{field}` is 1 to {max} characters"
        )));
    }
    Ok(text.to_owned())
}

/// Trims an optional text; empty is none.
fn optional_text(field: &str, text: Option<&str>, max: usize) -> Result<Option<String>> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        Some(t) => required_text(field, t, max).map(Some),
        None => Ok(None),
    }
}

impl NewContact {
    /// The contact to store, or why not.
    fn into_contact(self, now: &str) -> Result<Contact> {
        let email = optional_text("email", self.email.as_deref(), 254)?;
        if let Some(email) = &email {
            let parts: Vec<&str> = email.split('@').collect();
            let valid = parts.len() == 2
                && parts.iter().all(|p| !p.is_empty())
                && !email.contains(char::is_whitespace);
            if !valid {
                return Err(Error::invalid(format!("`{email}` is not an email address")));
            }
        }
        Ok(Contact {
            id: new_event_id(),
            name: required_text("name", &self.name, 200)?,
            email: email.map(|e| e.to_lowercase()),
            company: optional_text("company", self.company.as_deref(), 200)?,
            created_at: now.to_owned(),
        })
    }
}

impl NewDeal {
    /// The deal to store in `pipeline`, or why not.
    fn into_deal(self, pipeline: &Pipeline, currency: &str, now: &str) -> Result<Deal> {
        if self.amount_cents < 0 {
            return Err(Error::invalid("`amount_cents` is zero or more"));
        }
        let stage = match self.stage {
            Some(stage) if pipeline.stages.contains(&stage) => stage,
            Some(stage) => {
                return Err(Error::invalid(format!(
                    "`{stage}` is not a stage of the pipeline ({})",
                    pipeline.stages.join(", ")
                )));
            }
            None => pipeline.stages.first().cloned().unwrap_or_default(),
        };
        Ok(Deal {
            id: new_event_id(),
            contact_id: self.contact_id,
            title: required_text("title", &self.title, 200)?,
            amount_cents: self.amount_cents,
            currency: currency.to_owned(),
            stage,
            created_at: now.to_owned(),
        })
    }
}

/// The pipeline a new workspace gets.
fn default_pipeline(now: &str) -> Pipeline {
    Pipeline {
        name: PIPELINE_NAME.to_owned(),
        stages: STAGES.map(str::to_owned).to_vec(),
        created_at: now.to_owned(),
    }
}

fn now() -> String {
    rfc3339(now_ms())
}

/// Is `result` the platform saying the row is there already?
fn exists<T>(result: &Result<T>) -> bool {
    matches!(result, Err(Error::Refused { code, .. }) if code == "ROW_EXISTS")
}

/// CRM's data belongs to a workspace: requests must name one.
fn require_workspace(ctx: &Context) -> Result<&str> {
    ctx.workspace().ok_or_else(|| Error::Rejected {
        status: 400,
        code: "WORKSPACE_REQUIRED".to_owned(),
        message: "CRM's data belongs to a workspace: name it (X-Plexica-Workspace)".to_owned(),
    })
}

/// Publishes `data` as `event_type`; outside the platform (unit tests) nobody listens.
async fn publish(ctx: &Context, event_type: &str, data: Value) -> Result<()> {
    match ctx.events().publish(event_type, data).await {
        Ok(_) | Err(Error::NotConnected) => Ok(()),
        Err(e) => Err(e),
    }
}

/// A new workspace gets its pipeline. Deliveries can repeat: a second one finds the pipeline
/// there and does nothing.
#[event_handler("core.workspace.created")]
async fn create_pipeline(ctx: &Context, ev: Event<WorkspaceCreated>) -> Result<()> {
    let pipeline = default_pipeline(&now());
    let stored = ctx.data().insert::<Value>("crm_pipelines", &pipeline).await;
    match stored {
        Ok(_) => {}
        Err(Error::NotConnected) => return Ok(()),
        _ if exists(&stored) => return Ok(()),
        Err(e) => return Err(e),
    }
    let created = json!({ "workspace": ev.slug, "name": pipeline.name, "stages": pipeline.stages });
    publish(ctx, "plugin.crm.pipeline.created", created).await
}

/// One page of `table`'s rows in the context's workspace, newest first, and how many there
/// are in all: `{<key>: [...], "total": n}`.
async fn list<T: DeserializeOwned + Serialize>(
    ctx: &Context,
    table: &str,
    key: &str,
    page: Page,
) -> Result<Json<Value>> {
    require_workspace(ctx)?;
    let rows: Vec<T> = ctx
        .data()
        .query(table)
        .order_by("-created_at")
        .order_by("id")
        .limit(page.limit.unwrap_or(100).clamp(1, MAX_PAGE))
        .offset(page.offset.unwrap_or(0))
        .fetch()
        .await?;
    let total = ctx.data().count(table, ()).await?;
    Ok(Json(json!({ key: rows, "total": total })))
}

/// `GET /contacts`: the workspace's contacts, newest first, and how many there are.
async fn list_contacts(ctx: Context, Query(page): Query<Page>) -> Result<Json<Value>> {
    list::<Contact>(&ctx, "crm_contacts", "contacts", page).await
}

/// `GET /contacts/:id`.
async fn get_contact(ctx: Context, Path(id): Path<String>) -> Result<Json<Contact>> {
    require_workspace(&ctx)?;
    ctx.data()
        .query("crm_contacts")
        .filter("id", id.as_str())
        .first()
        .await?
        .map(Json)
        .ok_or_else(|| Error::not_found(format!("no contact `{id}` in this workspace")))
}

/// `POST /contacts` `{name, email?, company?}`: stores the contact and tells the tenant
/// (`plugin.crm.contact.created`).
async fn create_contact(
    ctx: Context,
    Json(request): Json<NewContact>,
) -> Result<(StatusCode, Json<Contact>)> {
    let workspace = require_workspace(&ctx)?.to_owned();
    let contact = request.into_contact(&now())?;
    let stored = ctx.data().insert::<Contact>("crm_contacts", &contact).await;
    if exists(&stored) {
        return Err(Error::Rejected {
            status: 409,
            code: "CONTACT_EXISTS".to_owned(),
            message: "a contact with this email exists in the workspace".to_owned(),
        });
    }
    let contact = stored?;
    let created = json!({
        "contact_id": contact.id,
        "name": contact.name,
        "email": contact.email,
        "workspace": workspace,
    });
    publish(&ctx, "plugin.crm.contact.created", created).await?;
    Ok((StatusCode::CREATED, Json(contact)))
}

/// The workspace's pipeline (created with the workspace; created now for a workspace that
/// existed before CRM was installed).
async fn pipeline_of(ctx: &Context) -> Result<Pipeline> {
    if let Some(pipeline) = ctx.data().query("crm_pipelines").first().await? {
        return Ok(pipeline);
    }
    let pipeline = default_pipeline(&now());
    let stored = ctx
        .data()
        .insert::<Pipeline>("crm_pipelines", &pipeline)
        .await;
    match stored {
        _ if exists(&stored) => ctx
            .data()
            .query("crm_pipelines")
            .first()
            .await?
            .ok_or_else(|| Error::other("the pipeline vanished")),
        other => other,
    }
}

/// `GET /pipeline`.
async fn get_pipeline(ctx: Context) -> Result<Json<Pipeline>> {
    require_workspace(&ctx)?;
    Ok(Json(pipeline_of(&ctx).await?))
}

/// `GET /deals`: the workspace's deals, newest first, and how many there are.
async fn list_deals(ctx: Context, Query(page): Query<Page>) -> Result<Json<Value>> {
    list::<Deal>(&ctx, "crm_deals", "deals", page).await
}

/// The tenant's currency (the workspace's, when it overrides it).
async fn currency(ctx: &Context) -> Result<String> {
    Ok(ctx.core().config::<Settings>().await?.currency)
}

/// `POST /deals` `{title, amount_cents, contact_id?, stage?}`: a deal in the configured
/// currency, at the pipeline's first stage unless told.
async fn create_deal(
    ctx: Context,
    Json(request): Json<NewDeal>,
) -> Result<(StatusCode, Json<Deal>)> {
    let workspace = require_workspace(&ctx)?.to_owned();
    if let Some(contact) = &request.contact_id {
        let found: Option<Value> = ctx
            .data()
            .query("crm_contacts")
            .filter("id", contact.as_str())
            .first()
            .await?;
        if found.is_none() {
            return Err(Error::invalid(format!(
                "no contact `{contact}` in this workspace"
            )));
        }
    }
    let pipeline = pipeline_of(&ctx).await?;
    let deal = request.into_deal(&pipeline, &currency(&ctx).await?, &now())?;
    let deal: Deal = ctx.data().insert("crm_deals", &deal).await?;
    let created = json!({
        "deal_id": deal.id,
        "amount_cents": deal.amount_cents,
        "currency": deal.currency,
        "stage": deal.stage,
        "workspace": workspace,
    });
    publish(&ctx, "plugin.crm.deal.created", created).await?;
    Ok((StatusCode::CREATED, Json(deal)))
}

/// The plugin's routes (the services' endpoints of `plexica.toml`).
fn routes() -> Router {
    Router::new()
        .route("/contacts", get(list_contacts).post(create_contact))
        .route("/contacts/{id}", get(get_contact))
        .route("/deals", get(list_deals).post(create_deal))
        .route("/pipeline", get(get_pipeline))
}

#[tokio::main]
async fn main() -> Result<()> {
    Plugin::from_manifest("plexica.toml")?
        .routes(routes())
        .run()
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use plexica_sdk::testing;

    fn contact(name: &str, email: Option<&str>) -> NewContact {
        NewContact {
            name: name.into(),
            email: email.map(str::to_owned),
            company: None,
        }
    }

    fn rejected(result: Result<impl std::fmt::Debug>) -> String {
        match result {
            Err(Error::Rejected {
                status: 422,
                message,
                ..
            }) => message,
            other => panic!("expected a 422, got {other:?}"),
        }
    }

    #[test]
    fn contacts_are_trimmed_and_checked() {
        let ada = contact("  Ada Lovelace ", Some(" Ada@Example.com "))
            .into_contact("2026-01-01T00:00:00.000Z")
            .expect("valid");
        assert_eq!(ada.name, "Ada Lovelace");
        assert_eq!(ada.email.as_deref(), Some("ada@example.com"));
        assert_eq!(ada.company, None);
        assert!(!ada.id.is_empty());
        assert!(rejected(contact(" ", None).into_contact("t")).contains("`name`"));
        for bad in ["ada", "ada@", "@example.com", "a@b@c", "a da@example.com"] {
            let message = rejected(contact("Ada", Some(bad)).into_contact("t"));
            assert!(message.contains("not an email"), "{bad}: {message}");
        }
        let long = "x".repeat(201);
        assert!(rejected(contact(&long, None).into_contact("t")).contains("1 to 200"));
    }

    #[test]
    fn deals_start_at_the_first_stage_and_only_move_to_known_ones() {
        let pipeline = default_pipeline("t");
        let deal = |stage: Option<&str>, amount_cents: i64| NewDeal {
            title: "Engines".into(),
            amount_cents,
            contact_id: None,
            stage: stage.map(str::to_owned),
        };
        let new = deal(None, 1_000)
            .into_deal(&pipeline, "EUR", "t")
            .expect("valid");
        assert_eq!((new.stage.as_str(), new.currency.as_str()), ("lead", "EUR"));
        let won = deal(Some("won"), 0)
            .into_deal(&pipeline, "USD", "t")
            .expect("valid");
        assert_eq!(won.stage, "won");
        assert!(
            rejected(deal(Some("maybe"), 1).into_deal(&pipeline, "USD", "t"))
                .contains("lead, qualified")
        );
        assert!(rejected(deal(None, -1).into_deal(&pipeline, "USD", "t")).contains("zero or more"));
    }

    #[test]
    fn every_workspace_gets_the_sales_pipeline() {
        let pipeline = default_pipeline("t");
        assert_eq!(pipeline.name, "Sales");
        assert_eq!(
            pipeline.stages,
            ["lead", "qualified", "proposal", "won", "lost"]
        );
    }

    #[tokio::test]
    async fn the_workspace_created_handler_is_registered() {
        let ctx = testing::ContextBuilder::new("acme")
            .workspace("sales")
            .build();
        let ev = testing::event(
            "core.workspace.created",
            WorkspaceCreated {
                workspace_id: "ws-1".into(),
                slug: "sales".into(),
                name: "Sales".into(),
            },
        );
        testing::dispatch(ctx, ev).await.expect("dispatched");
    }

    #[tokio::test]
    async fn requests_without_a_workspace_are_refused() {
        let refused = list_contacts(testing::context("acme"), Query(Page::default())).await;
        match refused {
            Err(Error::Rejected {
                status: 400, code, ..
            }) => assert_eq!(code, "WORKSPACE_REQUIRED"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_manifest_is_valid_and_matches_the_handlers() {
        let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/plexica.toml");
        let plugin = Plugin::from_manifest(manifest).expect("plexica.toml");
        assert_eq!(plugin.manifest().plugin.id, "crm");
        assert!(plugin.manifest().plugin.workspace_aware);
    }
}
