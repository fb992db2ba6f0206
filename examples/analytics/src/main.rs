//! Analytics, a Plexica plugin that builds on CRM (`[dependencies] required = { crm = "^1.0" }`):
//!
//! - Counts the contacts CRM announces (`plugin.crm.contact.created`) in its own table, one
//!   row per contact, so a repeated delivery counts once.
//! - Service `analytics.reports`: `GET /report` asks CRM, through the platform's gateway
//!   (`ctx.services()`; CRM's manifest lists `analytics` in its services' `callers`), for the
//!   workspace's contacts and deals and sums them per stage.
//!
//! Both are scoped to the workspace of the event or request by the platform.

use std::collections::BTreeMap;

use plexica_sdk::api::time::{now_ms, rfc3339};
use plexica_sdk::axum::http::{Method, header};
use plexica_sdk::prelude::*;
use serde_json::Value;

/// Deals are fetched from CRM this many at a time.
const DEALS_PAGE: u64 = 500;

/// How long a report stays fresh when the tenant did not configure it, seconds.
const DEFAULT_REFRESH_SECONDS: u64 = 300;

/// The `data` of `plugin.crm.contact.created`.
#[derive(Debug, Deserialize, Serialize)]
struct ContactCreated {
    contact_id: String,
}

/// The plugin's configuration (the manifest's `[[config]]`).
#[derive(Debug, Deserialize)]
struct Settings {
    refresh_interval: u64,
}

/// What `GET /contacts` of CRM answers (the part used here).
#[derive(Debug, Deserialize)]
struct CrmContacts {
    total: u64,
}

/// What `GET /deals` of CRM answers (the part used here).
#[derive(Debug, Deserialize)]
struct CrmDeals {
    deals: Vec<CrmDeal>,
    total: u64,
}

/// One of CRM's deals.
#[derive(Debug, Clone, Deserialize)]
struct CrmDeal {
    amount_cents: i64,
    currency: String,
    stage: String,
}

/// The deals at one stage.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
struct StageTotal {
    deals: u64,
    amount_cents: i64,
}

/// `GET /report`.
#[derive(Debug, Serialize)]
struct Report {
    workspace: String,
    /// Contacts in CRM now.
    contacts: u64,
    /// Contacts this plugin was told about (`plugin.crm.contact.created`).
    contacts_counted: u64,
    deals: u64,
    /// Per stage, in the order of the stage names.
    pipeline: BTreeMap<String, StageTotal>,
    /// The deals' currencies (one, unless the tenant changed it over time).
    currencies: Vec<String>,
    refresh_interval_seconds: u64,
    generated_at: String,
}

/// Sums `deals` per stage; the currencies seen, sorted.
fn summarize(deals: &[CrmDeal]) -> (BTreeMap<String, StageTotal>, Vec<String>) {
    let mut stages: BTreeMap<String, StageTotal> = BTreeMap::new();
    let mut currencies: Vec<String> = Vec::new();
    for deal in deals {
        let total = stages.entry(deal.stage.clone()).or_default();
        total.deals += 1;
        total.amount_cents = total.amount_cents.saturating_add(deal.amount_cents);
        if !currencies.contains(&deal.currency) {
            currencies.push(deal.currency.clone());
        }
    }
    currencies.sort();
    (stages, currencies)
}

/// Counts a contact CRM created, once however often the event comes.
#[event_handler("plugin.crm.contact.created")]
async fn count_contact(ctx: &Context, ev: Event<ContactCreated>) -> Result<()> {
    let row = json!({
        "contact_id": ev.contact_id,
        "event_id": ev.id,
        "counted_at": rfc3339(now_ms()),
    });
    match ctx.data().insert::<Value>("analytics_contacts", row).await {
        Ok(_) | Err(Error::NotConnected) => Ok(()),
        Err(Error::Refused { code, .. }) if code == "ROW_EXISTS" => Ok(()),
        Err(e) => Err(e),
    }
}

/// How long a report stays fresh in this tenant.
async fn refresh_interval(ctx: &Context) -> Result<u64> {
    match ctx.core().config::<Settings>().await {
        Ok(settings) => Ok(settings.refresh_interval),
        Err(Error::NotConnected) => Ok(DEFAULT_REFRESH_SECONDS),
        Err(e) => Err(e),
    }
}

/// Every deal of the workspace, page by page from CRM.
async fn all_deals(ctx: &Context) -> Result<Vec<CrmDeal>> {
    let mut deals = Vec::new();
    loop {
        let path = format!("deals?limit={DEALS_PAGE}&offset={}", deals.len());
        let page: CrmDeals = ctx
            .services()
            .call("crm", "crm.deals", Method::GET, &path)
            .await?;
        let last = page.deals.is_empty() || deals.len() + page.deals.len() >= page.total as usize;
        deals.extend(page.deals);
        if last {
            return Ok(deals);
        }
    }
}

/// `GET /report`: the workspace's contacts and deals, from CRM, with a `Cache-Control` of the
/// configured refresh interval.
async fn report(ctx: Context) -> Result<([(header::HeaderName, String); 1], Json<Report>)> {
    let workspace = ctx
        .workspace()
        .ok_or_else(|| Error::Rejected {
            status: 400,
            code: "WORKSPACE_REQUIRED".to_owned(),
            message: "a report is of one workspace: name it (X-Plexica-Workspace)".to_owned(),
        })?
        .to_owned();
    let contacts: CrmContacts = ctx
        .services()
        .call("crm", "crm.contacts", Method::GET, "contacts?limit=1")
        .await?;
    let deals = all_deals(&ctx).await?;
    let (pipeline, currencies) = summarize(&deals);
    let refresh = refresh_interval(&ctx).await?;
    let report = Report {
        workspace,
        contacts: contacts.total,
        contacts_counted: ctx.data().count("analytics_contacts", ()).await?,
        deals: deals.len() as u64,
        pipeline,
        currencies,
        refresh_interval_seconds: refresh,
        generated_at: rfc3339(now_ms()),
    };
    let cache = [(header::CACHE_CONTROL, format!("private, max-age={refresh}"))];
    Ok((cache, Json(report)))
}

/// The plugin's routes (the service endpoints of `plexica.toml`).
fn routes() -> Router {
    Router::new().route("/report", get(report))
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

    fn deal(stage: &str, amount_cents: i64, currency: &str) -> CrmDeal {
        CrmDeal {
            amount_cents,
            currency: currency.into(),
            stage: stage.into(),
        }
    }

    #[test]
    fn deals_are_summed_per_stage() {
        let (stages, currencies) = summarize(&[
            deal("lead", 100, "USD"),
            deal("won", 250, "USD"),
            deal("lead", 50, "EUR"),
        ]);
        assert_eq!(
            stages.get("lead"),
            Some(&StageTotal {
                deals: 2,
                amount_cents: 150
            })
        );
        assert_eq!(
            stages.get("won"),
            Some(&StageTotal {
                deals: 1,
                amount_cents: 250
            })
        );
        assert_eq!(stages.len(), 2);
        assert_eq!(currencies, ["EUR", "USD"]);
        assert_eq!(summarize(&[]).0.len(), 0);
    }

    #[tokio::test]
    async fn announced_contacts_reach_the_counting_handler() {
        let ctx = testing::ContextBuilder::new("acme")
            .workspace("sales")
            .build();
        let ev = testing::event(
            "plugin.crm.contact.created",
            ContactCreated {
                contact_id: "c-1".into(),
            },
        );
        testing::dispatch(ctx, ev).await.expect("dispatched");
    }

    #[tokio::test]
    async fn a_report_needs_a_workspace() {
        match report(testing::context("acme")).await {
            Err(Error::Rejected {
                status: 400, code, ..
            }) => {
                assert_eq!(code, "WORKSPACE_REQUIRED")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_manifest_requires_crm_and_matches_the_handlers() {
        let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/plexica.toml");
        let plugin = Plugin::from_manifest(manifest).expect("plexica.toml");
        let manifest = plugin.manifest();
        assert_eq!(manifest.plugin.id, "analytics");
        assert!(manifest.dependencies.required.contains_key("crm"));
    }
}
