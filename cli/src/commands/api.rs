//! `plexica api PATH`: calls any route of the core API as the logged-in user (the session
//! renewed as for every command), as `gh api` does: for a plugin's routes through the gateway,
//! or a route no command wraps yet.

use std::path::PathBuf;

use clap::Args;
use reqwest::Method;

use super::core_client;
use crate::error::{CliError, CliResult, IoContext};
use crate::global::GlobalArgs;
use crate::output::Ui;

/// Arguments of `plexica api`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    plexica api tenants/acme/workspaces\n  \
    plexica api tenants/acme/plugins/crm/api/contacts --workspace sales\n  \
    plexica api tenants/acme/workspaces -X POST --data '{\"slug\":\"ops\",\"name\":\"Ops\"}'\n  \
    plexica api /health/ready")]
pub struct ApiArgs {
    /// The route: relative to `/api/v1/` (`tenants/acme/workspaces`), or from the root when it
    /// starts with `/`. Only this core API's routes: the token goes nowhere else.
    pub path: String,
    /// HTTP method [default: GET, or POST with --data]
    #[arg(short = 'X', long, value_name = "METHOD")]
    pub method: Option<String>,
    /// The JSON body: the text itself, `@FILE`, or `@-` for stdin.
    #[arg(short = 'd', long, value_name = "JSON|@FILE|@-")]
    pub data: Option<String>,
    /// The workspace the call acts in (`X-Plexica-Workspace`, which plugin routes need).
    #[arg(long, value_name = "SLUG")]
    pub workspace: Option<String>,
    /// Another request header, `NAME: VALUE`. Repeatable.
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
}

/// The body of `--data`.
fn body(data: &str) -> CliResult<Vec<u8>> {
    let bytes = match data.strip_prefix('@') {
        Some("-") => {
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes)
                .map_err(|e| CliError::usage(format!("cannot read --data from stdin: {e}")))?;
            bytes
        }
        Some(file) => {
            let path = PathBuf::from(file);
            std::fs::read(&path).context("read", &path)?
        }
        None => data.as_bytes().to_vec(),
    };
    serde_json::from_slice::<serde_json::Value>(&bytes).map_err(|e| {
        CliError::usage(format!("--data is not JSON: {e}"))
            .with_help("pass a JSON document, @FILE or @- (stdin)")
    })?;
    Ok(bytes)
}

/// Calls the route and prints its answer: JSON pretty-printed (compact with `-o json`), any
/// other body as it is. An error answer exits like every command (4 for 404, 3 for 403, …).
pub fn run(args: ApiArgs, global: &GlobalArgs, ui: &Ui) -> CliResult {
    if args.path.contains("://") || args.path.starts_with("//") {
        return Err(CliError::usage(format!(
            "`{}` is a URL: `plexica api` takes a path of the profile's core API",
            args.path
        ))
        .with_help("e.g. `plexica api tenants/acme/workspaces` (another API: --api-url URL)"));
    }
    let body = args.data.as_deref().map(body).transpose()?;
    let method = match &args.method {
        Some(name) => Method::from_bytes(name.to_ascii_uppercase().as_bytes())
            .map_err(|_| CliError::usage(format!("`{name}` is not an HTTP method")))?,
        None if body.is_some() => Method::POST,
        None => Method::GET,
    };
    let mut headers = Vec::new();
    for header in &args.headers {
        let (name, value) = header.split_once(':').ok_or_else(|| {
            CliError::usage(format!("`{header}` is not NAME: VALUE"))
                .with_help("e.g. -H 'Accept-Language: fr'")
        })?;
        headers.push((name.trim().to_owned(), value.trim().to_owned()));
    }
    if let Some(workspace) = args.workspace {
        headers.push(("X-Plexica-Workspace".to_owned(), workspace));
    }
    let client = core_client(global, ui)?;
    let response = client.request(method, &args.path, body, &headers)?;
    let bytes = response
        .bytes()
        .map_err(|e| CliError::failed(format!("cannot read the answer: {e}")))?;
    let text = match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Ok(json) if ui.json() => json.to_string(),
        Ok(json) => serde_json::to_string_pretty(&json).unwrap_or_default(),
        Err(_) => String::from_utf8_lossy(&bytes).into_owned(),
    };
    if !text.is_empty() {
        use std::io::Write as _;
        // A closed stdout (`| head`) is not an error.
        let _ = writeln!(std::io::stdout().lock(), "{text}");
    }
    Ok(())
}
