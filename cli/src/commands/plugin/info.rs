//! `plexica plugin info ID[@VERSION]`: a plugin (`PluginDetail`), or one of its versions
//! (`VersionDetail`).

use clap::Args;
use plexica_sdk::api::registry::{PluginDetail, VersionDetail};

use super::parse_spec;
use crate::cli::GlobalArgs;
use crate::commands::{Access, registry_client};
use crate::error::CliResult;
use crate::output::{Ui, human_size};

/// Arguments of `plugin info`.
#[derive(Debug, Args)]
pub struct InfoArgs {
    /// Plugin id, optionally with `@VERSION`.
    #[arg(value_name = "ID[@VERSION]")]
    pub spec: String,
}

/// Shows the plugin or the version.
pub fn run(args: InfoArgs, global: &GlobalArgs, ui: &Ui) -> CliResult {
    let (id, version) = parse_spec(&args.spec)?;
    let client = registry_client(global, None, Access::Public, ui)?;
    match version {
        Some(version) => {
            let detail = client.version(&id, &version)?;
            ui.result(&detail, || version_text(&detail));
        }
        None => {
            let detail = client.plugin(&id)?;
            ui.result(&detail, || plugin_text(&detail));
        }
    }
    Ok(())
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
