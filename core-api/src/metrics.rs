//! The core API's metric families, each named once: call sites record through these names, and
//! [`FAMILIES`] gives each its help text at start-up. No label on any of them (the request
//! families of [`plexica_server::metrics::track`] carry the only, bounded, labels).

use plexica_server::metrics::Family;

/// Events relayed from the outboxes to the transport.
pub const EVENTS_PUBLISHED: &str = "core_events_published_total";
/// Events a plugin's handler accepted.
pub const EVENTS_DELIVERED: &str = "core_events_delivered_total";
/// Delivery attempts that failed (each retried or dead-lettered).
pub const EVENTS_FAILED: &str = "core_events_failed_total";
/// Events given up on after their retries.
pub const EVENTS_DEAD_LETTERED: &str = "core_events_dead_lettered_total";
/// Events committed but not yet relayed.
pub const OUTBOX_DEPTH: &str = "core_events_outbox_depth";
/// Deliveries queued but not yet settled (embedded transport).
pub const PENDING_DELIVERIES: &str = "core_events_pending_deliveries";
/// Active event subscriptions.
pub const SUBSCRIPTIONS: &str = "core_event_subscriptions_active";
/// Tenants on the platform.
pub const TENANTS: &str = "core_tenants";
/// Plugin backend processes running.
pub const PLUGIN_PROCESSES: &str = "core_plugin_processes";
/// Plugin backends restarted after they exited.
pub const PLUGIN_RESTARTS: &str = "core_plugin_restarts_total";
/// Plugin installs completed.
pub const PLUGIN_INSTALLS: &str = "core_plugin_installs_total";
/// Plugin installs marked failed.
pub const PLUGIN_FAILURES: &str = "core_plugin_failures_total";
/// Gateway calls whose plugin could not be reached or timed out.
pub const GATEWAY_FAILURES: &str = "core_gateway_failures_total";
/// Gateway circuit breakers opened.
pub const GATEWAY_CIRCUITS_OPENED: &str = "core_gateway_circuit_opened_total";
/// Time a plugin took to answer a gateway call.
pub const GATEWAY_UPSTREAM_SECONDS: &str = "core_gateway_upstream_seconds";
/// Time to provision a tenant.
pub const TENANT_PROVISIONING_SECONDS: &str = "core_tenant_provisioning_seconds";
/// Events pruned by retention.
pub const PRUNED_EVENTS: &str = "core_pruned_events_total";
/// Dead letters pruned by retention.
pub const PRUNED_DEAD_LETTERS: &str = "core_pruned_dead_letters_total";
/// Expired sessions and tokens pruned by retention.
pub const PRUNED_CREDENTIALS: &str = "core_pruned_credentials_total";

/// Every family above, with its help text.
pub const FAMILIES: &[Family] = &[
    Family::counter(
        EVENTS_PUBLISHED,
        "Events relayed from the tenants' outboxes to the event transport.",
    ),
    Family::counter(EVENTS_DELIVERED, "Events a plugin's handler accepted."),
    Family::counter(
        EVENTS_FAILED,
        "Event delivery attempts that failed (then retried or dead-lettered).",
    ),
    Family::counter(
        EVENTS_DEAD_LETTERED,
        "Events dead-lettered after their last retry.",
    ),
    Family::gauge(
        OUTBOX_DEPTH,
        "Events committed in the tenants' outboxes and not yet relayed.",
    ),
    Family::gauge(
        PENDING_DELIVERIES,
        "Event deliveries queued and not yet settled (embedded transport).",
    ),
    Family::gauge(
        SUBSCRIPTIONS,
        "Active event subscriptions of installed plugins.",
    ),
    Family::gauge(TENANTS, "Tenants on the platform."),
    Family::gauge(
        PLUGIN_PROCESSES,
        "Plugin backend processes this replica runs.",
    ),
    Family::counter(
        PLUGIN_RESTARTS,
        "Plugin backend processes restarted after they exited.",
    ),
    Family::counter(PLUGIN_INSTALLS, "Plugin installs completed."),
    Family::counter(
        PLUGIN_FAILURES,
        "Plugin installs or upgrades marked failed.",
    ),
    Family::counter(
        GATEWAY_FAILURES,
        "Gateway calls whose plugin could not be reached or did not answer in time.",
    ),
    Family::counter(
        GATEWAY_CIRCUITS_OPENED,
        "Gateway circuit breakers opened on a failing plugin.",
    ),
    Family::histogram(
        GATEWAY_UPSTREAM_SECONDS,
        "Time a plugin took to answer a call through the gateway.",
    ),
    Family::histogram(
        TENANT_PROVISIONING_SECONDS,
        "Time to provision a tenant (database, roles, admin).",
    ),
    Family::counter(
        PRUNED_EVENTS,
        "Relayed events pruned from the outboxes by retention.",
    ),
    Family::counter(PRUNED_DEAD_LETTERS, "Dead letters pruned by retention."),
    Family::counter(
        PRUNED_CREDENTIALS,
        "Expired or revoked sessions and tokens pruned by retention.",
    ),
];
