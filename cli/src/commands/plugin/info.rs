//! `plexica plugin info ID[@VERSION] [--tenant T]`: a plugin (`PluginDetail`), or one of its
//! versions (`VersionDetail`); with `--tenant`, also that tenant's install of it.

use clap::Args;
use plexica_sdk::api::core::PluginState;
use plexica_sdk::api::registry::{PluginDetail, VersionDetail};
use serde::Serialize;

use crate::commands::{Access, core_client, registry_client};
use crate::error::CliResult;
use crate::global::GlobalArgs;
use crate::ops::spec::parse_spec;
use crate::output::{Ui, human_size};

/// Arguments of `plugin info`.
#[derive(Debug, Args)]
pub struct InfoArgs {
    /// Plugin id, optionally with `@VERSION`.
    #[arg(value_name = "ID[@VERSION]")]
    #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::complete::plugins))]
    pub spec: String,
    /// Also show this tenant's install of the plugin (version, state), from the core API
    /// (needs a core API login).
    #[arg(long)]
    #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::complete::tenants))]
    pub tenant: Option<String>,
}

/// A tenant's install of the plugin, as `plugin info --tenant` shows it.
#[derive(Debug, Serialize)]
struct TenantInstall {
    tenant: String,
    installed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<PluginState>,
}

impl TenantInstall {
    fn text(&self) -> String {
        match (&self.version, self.state) {
            (Some(version), Some(state)) => format!(
                "tenant {}: {version} installed, {}\n",
                self.tenant,
                state.as_str()
            ),
            _ => format!("tenant {}: not installed\n", self.tenant),
        }
    }
}

/// The registry's answer as is, with the tenant's install when `--tenant` was given.
#[derive(Debug, Serialize)]
struct Info<'a, T> {
    #[serde(flatten)]
    registry: &'a T,
    #[serde(skip_serializing_if = "Option::is_none")]
    tenant_install: Option<TenantInstall>,
}

/// Shows the plugin or the version (and the tenant's install of it).
pub fn run(args: InfoArgs, global: &GlobalArgs, ui: &Ui) -> CliResult {
    let (id, version) = parse_spec(&args.spec)?;
    let client = registry_client(global, None, Access::Public, ui)?;
    let installed = |tenant: Option<String>| -> CliResult<Option<TenantInstall>> {
        let Some(tenant) = tenant else {
            return Ok(None);
        };
        let install = match core_client(global, ui)?.plugin_install(&tenant, &id) {
            Ok(install) => Some(install),
            Err(e) if e.has_code("PLUGIN_NOT_INSTALLED") => None,
            Err(e) => return Err(e.into()),
        };
        Ok(Some(TenantInstall {
            tenant,
            installed: install.is_some(),
            version: install.as_ref().map(|i| i.version.clone()),
            state: install.map(|i| i.state),
        }))
    };
    match version {
        Some(version) => {
            let detail = client.version(&id, &version)?;
            let info = Info {
                registry: &detail,
                tenant_install: installed(args.tenant)?,
            };
            ui.result(&info, || with_install(version_text(&detail), &info));
        }
        None => {
            let detail = client.plugin(&id)?;
            let info = Info {
                registry: &detail,
                tenant_install: installed(args.tenant)?,
            };
            ui.result(&info, || with_install(plugin_text(&detail), &info));
        }
    }
    Ok(())
}

fn with_install<T>(mut text: String, info: &Info<'_, T>) -> String {
    if let Some(install) = &info.tenant_install {
        text.push_str(&install.text());
    }
    text
}

fn plugin_text(p: &PluginDetail) -> String {
    let mut out = format!("{} — {}\n{}\n\n", p.id, p.name, p.description);
    out.push_str(&format!(
        "latest:     {}\n",
        p.latest.as_deref().unwrap_or("-")
    ));
    out.push_str(&format!("owners:     {}\n", p.owners.join(", ")));
    out.push_str(&format!("downloads:  {}\n", p.downloads));
    if let Some(rating) = p.rating {
        out.push_str(&format!(
            "rating:     {rating:.1} ({} reviews)\n",
            p.reviews
        ));
    }
    if let Some(deprecation) = &p.deprecation {
        out.push_str(&format!("deprecated: {}", deprecation.message));
        if let Some(successor) = &deprecation.successor {
            out.push_str(&format!(" (use {successor})"));
        }
        out.push('\n');
    }
    out.push_str("versions:\n");
    for v in &p.versions {
        let yanked = if v.yanked { "  yanked" } else { "" };
        out.push_str(&format!("  {:<16} {}{yanked}\n", v.version, v.published_at));
    }
    out
}

fn version_text(v: &VersionDetail) -> String {
    let mut out = format!("{} {}\n", v.id, v.version);
    out.push_str(&format!(
        "published:  {} by {}\n",
        v.published_at, v.published_by
    ));
    out.push_str(&format!("size:       {}\n", human_size(v.size)));
    out.push_str(&format!("sha256:     {}\n", v.digest));
    out.push_str(&format!("content:    {}\n", v.content_digest));
    out.push_str(&format!(
        "signed by:  {}\n",
        v.key_id.as_deref().unwrap_or("(unsigned)")
    ));
    out.push_str(&format!("downloads:  {}\n", v.downloads));
    if v.yanked {
        out.push_str(&format!(
            "yanked:     {}\n",
            v.yank_reason.as_deref().unwrap_or("(no reason given)")
        ));
    }
    out.push_str(&format!("name:       {}\n", v.manifest.plugin.name));
    out
}
