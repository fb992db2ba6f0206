//! A tenant (and a workspace in it) ready to use: created when missing, provisioned.

use std::time::Duration;

#[cfg(feature = "platform")]
use plexica_sdk::api::core::{CreateTenantRequest, CreateWorkspaceRequest, InitialAdmin};
use plexica_sdk::api::core::{Tenant, TenantStatus};

use crate::client::core::CoreClient;
use crate::error::{CliError, CliResult, ExitKind};

/// Waits, at most `within`, until `tenant` is no longer provisioning; returns it as it is then.
pub fn wait_provisioned(
    client: &CoreClient,
    mut tenant: Tenant,
    within: Duration,
) -> CliResult<Tenant> {
    let deadline = std::time::Instant::now() + within;
    while tenant.status == TenantStatus::Provisioning {
        if std::time::Instant::now() > deadline {
            return Err(CliError::new(
                ExitKind::Unavailable,
                format!(
                    "tenant {} is still provisioning after {} s",
                    tenant.slug,
                    within.as_secs()
                ),
            ));
        }
        std::thread::sleep(Duration::from_millis(250));
        tenant = client.tenant(&tenant.slug)?;
    }
    Ok(tenant)
}

#[cfg(feature = "platform")]
/// Creates `tenant` and its `workspace` unless they exist (waiting until the tenant is
/// provisioned); returns the tenant's first admin when it was created now.
pub fn ensure_tenant_and_workspace(
    client: &CoreClient,
    tenant: &str,
    workspace: &str,
) -> CliResult<Option<InitialAdmin>> {
    let mut created = None;
    let found = match client.tenant(tenant) {
        Ok(found) => found,
        Err(e) if e.status() == Some(404) => {
            let (_, mut made) = client.create_tenant(&CreateTenantRequest {
                slug: tenant.to_owned(),
                name: "Development".to_owned(),
                ..CreateTenantRequest::default()
            })?;
            created = made.initial_admin.take();
            made
        }
        Err(e) => return Err(e.into()),
    };
    wait_provisioned(client, found, Duration::from_secs(60))?;
    match client.workspace(tenant, workspace) {
        Ok(_) => Ok(created),
        Err(e) if e.status() == Some(404) => {
            client.create_workspace(
                tenant,
                &CreateWorkspaceRequest {
                    slug: workspace.to_owned(),
                    name: "Development".to_owned(),
                    ..CreateWorkspaceRequest::default()
                },
            )?;
            Ok(created)
        }
        Err(e) => Err(e.into()),
    }
}
