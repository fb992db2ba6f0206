//! The global flags (cli.md, "Global flags"): what every command accepts. A leaf of the
//! grammar, so that commands take them without depending on the command tree; the modules
//! below the commands get plain values from them ([`Selection`], [`UiOptions`]).

use clap::Args;

use crate::output::{ColorChoice, OutputFormat, Ui, UiOptions};
use crate::profile::Selection;

/// Flags shared by every command (listed apart in each command's help).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Configuration profile to use.
    #[arg(long, global = true, env = "PLEXICA_PROFILE")]
    #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::complete::profiles))]
    pub profile: Option<String>,
    /// Core API base URL.
    #[arg(long, global = true, env = "PLEXICA_API_URL")]
    pub api_url: Option<String>,
    /// Registry base URL.
    #[arg(long, global = true, env = "PLEXICA_REGISTRY_URL")]
    pub registry_url: Option<String>,
    /// Output format of results on stdout.
    #[arg(short, long, global = true, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
    /// Print nothing but results and errors.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Print more about what is happening (on stderr).
    #[arg(short, long, global = true)]
    pub verbose: bool,
    /// Never prompt; a missing answer is an error naming the flag to pass. Implied when stdin
    /// is not a terminal.
    #[arg(long, global = true)]
    pub no_input: bool,
    /// Accept defaults and confirmations without asking.
    #[arg(short = 'y', long, global = true)]
    pub yes: bool,
    /// When to colour diagnostics.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

impl GlobalArgs {
    /// The profile and services these flags name.
    pub fn selection(&self) -> Selection {
        Selection {
            profile: self.profile.clone(),
            api_url: self.api_url.clone(),
            registry_url: self.registry_url.clone(),
        }
    }

    /// What these flags ask of the interface.
    pub fn ui_options(&self) -> UiOptions {
        UiOptions {
            format: self.output,
            quiet: self.quiet,
            verbose: self.verbose,
            no_input: self.no_input,
            yes: self.yes,
            color: self.color,
        }
    }

    /// The interface these flags ask for.
    pub fn ui(&self) -> Ui {
        Ui::new(&self.ui_options())
    }
}
