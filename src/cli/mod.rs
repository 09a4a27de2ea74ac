//! The `hubforce` command line: the arguments and the dispatch here, one file per command
//! beside it; each parses, builds the pieces and calls into the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use hubforce::config::Config;
use hubforce::session::Session;
use hubforce::sim::{SalesforceEdition, SimConfig, Simulator};

mod api;
mod check;
mod connect;
mod demo;
mod errors;
mod explain;
mod init;
mod plugin;
mod repl;
mod run;
mod serve;
mod sim;
mod status;
mod sync;

use api::*;
use check::*;
use connect::*;
use demo::*;
use errors::*;
use explain::*;
use init::*;
use plugin::*;
use repl::*;
use run::*;
use sim::*;
use status::*;
use sync::*;

#[derive(Parser)]
#[command(
    name = "hubforce",
    version,
    about = "Lua plugins with authenticated HubSpot and Salesforce primitives",
    long_about = "hubforce hosts Lua plugins and gives them authenticated HubSpot and Salesforce primitives: \
                  OAuth with token refresh, API budgets, retries and one error classification over both APIs."
)]
struct Cli {
    /// The configuration file.
    #[arg(long, global = true, default_value = "hubforce.toml")]
    config: PathBuf,
    /// The profile (client) to use; default: `default_profile`, or the only one.
    #[arg(long, global = true)]
    profile: Option<String>,
    /// More on stderr: -v hubforce's own info lines and plugins' debug lines, -vv everything.
    /// Without it: warnings, and plugins' `log.info` lines under the plugin's name.
    /// `HUBFORCE_LOG` (e.g. `HUBFORCE_LOG=debug` or `warn,plugin=debug`) overrides both.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Less on stderr: errors only (plugins' included).
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
    /// How stderr logs: `text` for a person, `json` (one object a line: warnings, progress
    /// and each pass's summary under the target `pass`) for a log shipper.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

impl Cli {
    /// The log filter: `HUBFORCE_LOG` if set, else by -v/-q. Plugins log under the target
    /// `plugin`.
    fn log_filter(&self) -> tracing_subscriber::EnvFilter {
        if let Ok(f) = tracing_subscriber::EnvFilter::try_from_env("HUBFORCE_LOG") {
            return f;
        }
        let directives = match (self.quiet, self.verbose) {
            (true, _) => "error",
            (false, 0) => "warn,plugin=info",
            (false, 1) => "info,plugin=debug",
            _ => "debug",
        };
        // As JSON, the lines a person would see as text (progress, a stop asked, each pass's
        // summary) are info events of hubforce's own targets: shown unless -q.
        let json_lines = if self.log_format == LogFormat::Json && !self.quiet {
            ",progress=info,pass=info"
        } else {
            ""
        };
        let directives = format!("{directives}{json_lines}");
        tracing_subscriber::EnvFilter::new(directives)
    }
}

#[derive(Subcommand)]
enum Command {
    /// Start the embedded simulator, connect to both sides and show a first look at the data.
    Demo(DemoArgs),
    /// The sync health page in the browser: overview, sync health cards, records, plugins,
    /// /metrics (127.0.0.1:8700 unless --listen).
    Serve(ServeArgs),
    /// Write a commented starter hubforce.toml (or one for a running `hubforce sim`).
    Init(InitArgs),
    /// Connect a provider: OAuth in the browser (or Salesforce's password login); stores tokens.
    Connect(ConnectArgs),
    /// Connection state of the profile and its API calls in the last 24 h (never a token).
    Status(StatusArgs),
    /// One authenticated API call with refresh, budget and retries; JSON to stdout.
    Api(ApiArgs),
    /// Plugins of the profile.
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// Run a Lua script with the host API under the profile (sandboxed unless --unsafe).
    Run(RunArgs),
    /// Serve the HubSpot + Salesforce simulator on 127.0.0.1 until interrupted.
    Sim(SimArgs),
    /// Sync HubSpot ⇄ Salesforce: one pass (the default), or --watch to keep polling.
    Sync(SyncArgs),
    /// Why a record did or did not sync: inclusion, match, each field's rule and winner, last error.
    Explain(ExplainArgs),
    /// Record errors from earlier syncs, with their class and what to do.
    Errors(ErrorsArgs),
    /// Retry the records that failed (all of them, or one class) now.
    Resync(ResyncArgs),
    /// Post-connection checks: configuration, tokens, scopes, permissions, health, plugins.
    Check(CheckArgs),
    /// Explore both APIs from Lua: the plugins' host API, completion, history, `:help`.
    Repl(ReplArgs),
}

#[derive(Args)]
struct ReplArgs {
    /// Evaluate one expression, print its value as JSON and exit.
    #[arg(short = 'e', long = "eval")]
    expr: Option<String>,
}

#[derive(Args)]
struct CheckArgs {
    /// Only these checks: `hubspot`, `hubspot.tokens`, `salesforce.permissions`, a plugin's name…
    only: Option<String>,
    #[arg(long)]
    json: bool,
    /// Skip the round trip (a marked test contact created in HubSpot, synced to Salesforce,
    /// then removed from both).
    #[arg(long)]
    no_roundtrip: bool,
    #[command(flatten)]
    plugins: PluginGuard,
}

/// A named plugin that does not load stops the command (exit 8) unless this is given.
#[derive(Args, Clone, Copy)]
struct PluginGuard {
    /// Go on without the plugins that do not load (their rules, filters and checks do not apply).
    #[arg(long)]
    skip_broken_plugins: bool,
}

impl PluginGuard {
    fn options(self) -> hubforce::profile::OpenOptions {
        hubforce::profile::OpenOptions {
            skip_broken_plugins: self.skip_broken_plugins,
        }
    }
}

#[derive(Args)]
struct SyncArgs {
    /// One pass, then exit (the default).
    #[arg(long, conflicts_with = "watch")]
    once: bool,
    /// Keep syncing: a pass every `sync.watch_interval_secs`; plugins hot-reload between batches.
    #[arg(long)]
    watch: bool,
    /// Only these object pairs (company, contact, deal, task, or one a plugin declares), comma-separated.
    #[arg(long, value_delimiter = ',')]
    objects: Vec<String>,
    /// Read every record again (the incumbent's import of existing records).
    #[arg(long)]
    full: bool,
    /// Plan without writing: per record and field, both values, the rule, the winner, the write.
    #[arg(long)]
    dry_run: bool,
    /// Print the report (and a dry run's plans) as JSON.
    #[arg(long)]
    json: bool,
    /// How many changing records a dry run prints.
    #[arg(long, default_value_t = 20)]
    show: usize,
    /// With --watch: stop after this many passes.
    #[arg(long)]
    passes: Option<u64>,
    /// Only these records, both ways (the incumbent's per-record Sync button; with --dry-run,
    /// their plan): OBJECT:ID, repeated or comma-separated — contact:101, Lead:00Q….
    #[arg(long = "record", value_delimiter = ',', value_parser = hubforce::sync::records_only::parse_record, conflicts_with_all = ["watch", "full"])]
    records: Vec<(String, String)>,
    /// With --watch: serve the sync health page too, at ADDR (127.0.0.1:8700 if none); its
    /// buttons wake the watcher.
    #[arg(long, requires = "watch", num_args = 0..=1, default_missing_value = "127.0.0.1:8700")]
    serve: Option<std::net::SocketAddr>,
    #[command(flatten)]
    plugins: PluginGuard,
}

#[derive(Args)]
struct ServeArgs {
    /// Listen here instead of 127.0.0.1:8700; an address other than loopback needs an access
    /// token (HUBFORCE_SERVE_TOKEN, or one generated and printed once).
    #[arg(long)]
    listen: Option<std::net::SocketAddr>,
}

#[derive(Args)]
struct ExplainArgs {
    /// contact, company or deal (a HubSpot id); Lead, Contact, Account or Opportunity (a Salesforce id).
    object: String,
    id: String,
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    plugins: PluginGuard,
}

#[derive(Args)]
struct ErrorsArgs {
    /// Only this class (validation, duplicate, transient, plugin, permission, …).
    #[arg(long)]
    class: Option<String>,
    /// Every record, not one line per kind of error.
    #[arg(long)]
    all: bool,
    /// Every record as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct ResyncArgs {
    /// Only records whose error is of this class.
    #[arg(long)]
    class: Option<String>,
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    plugins: PluginGuard,
}

#[derive(Args)]
struct InitArgs {
    /// The ready file of a running `hubforce sim`: write a profile that points at it.
    #[arg(long)]
    from_sim: Option<PathBuf>,
    /// Replace an existing hubforce.toml.
    #[arg(long)]
    force: bool,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum ProviderArg {
    Hubspot,
    Salesforce,
}

#[derive(Args)]
struct ConnectArgs {
    provider: ProviderArg,
    /// Salesforce: log in to a sandbox (test.salesforce.com).
    #[arg(long)]
    sandbox: bool,
    /// Salesforce: the username + password + security token grant instead of the browser.
    #[arg(long)]
    password: bool,
    /// Open the authorization URL in the browser.
    #[arg(long)]
    open: bool,
    /// How long to wait for the browser to come back, in seconds.
    #[arg(long, default_value_t = 300)]
    timeout: u64,
}

#[derive(Args)]
struct RunArgs {
    /// The Lua file.
    file: PathBuf,
    /// Arguments, as `arg` (and `...`) in the script.
    args: Vec<String>,
    /// Give the script Lua's full standard library (io, os, package): trusted scripts only.
    #[arg(long = "unsafe")]
    unsafe_mode: bool,
    /// Stop the script after this many seconds of Lua work (waiting on the APIs does not
    /// count); the default is a day.
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=86_400))]
    time_limit: Option<u64>,
}

#[derive(Subcommand)]
enum PluginCommand {
    /// Each enabled plugin: version, generation, status (with its error), hooks, budget and use.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Run a plugin's tests/*.lua (all enabled plugins without NAME) against an in-process simulator.
    Test { name: Option<String> },
}

#[derive(Args)]
struct StatusArgs {
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct ApiArgs {
    provider: ProviderArg,
    /// GET, POST, PATCH, PUT or DELETE.
    method: String,
    /// HubSpot: a path like /crm/v3/objects/contacts; Salesforce: below /services/data/vNN.0/ (e.g. query?q=…) or a full /services/… path.
    path: String,
    /// A JSON body, or @FILE to read it from a file.
    #[arg(long)]
    data: Option<String>,
}

#[derive(Args)]
struct DemoArgs {
    #[command(flatten)]
    data: DataArgs,
}

/// What the simulator is seeded with.
#[derive(Args, Clone)]
struct DataArgs {
    /// Same seed, same records and credentials.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// HubSpot contacts.
    #[arg(long, default_value_t = 3000)]
    contacts: usize,
    /// HubSpot companies (half of them are also Salesforce Accounts).
    #[arg(long, default_value_t = 600)]
    companies: usize,
    /// HubSpot deals (half as many Salesforce Opportunities).
    #[arg(long, default_value_t = 800)]
    deals: usize,
    /// Salesforce Leads (some share an email with a HubSpot contact).
    #[arg(long, default_value_t = 1500)]
    leads: usize,
    /// HubSpot tickets and as many Salesforce Cases, across two pipelines / record types.
    #[arg(long, default_value_t = 0)]
    tickets: usize,
    /// Records of the custom object pair: HubSpot "subscriptions" (a custom object schema)
    /// and Salesforce `Subscription__c` (looking up Account); 0 leaves both undefined.
    #[arg(long, default_value_t = 0)]
    subscriptions: usize,
}

#[derive(Args)]
struct SimArgs {
    #[command(flatten)]
    data: DataArgs,
    /// Write the listening URLs and app credentials as JSON here once every port listens.
    #[arg(long)]
    ready_file: Option<PathBuf>,
    #[arg(long, default_value_t = 0)]
    hubspot_port: u16,
    #[arg(long, default_value_t = 0)]
    salesforce_login_port: u16,
    #[arg(long, default_value_t = 0)]
    salesforce_instance_port: u16,
    #[arg(long, default_value_t = 0)]
    control_port: u16,
    /// Turn off every rate limit and quota (for throughput benchmarks).
    #[arg(long)]
    no_limits: bool,
    /// Answer as a Salesforce sandbox (test.salesforce.com, sandbox usernames, IsSandbox).
    #[arg(long)]
    sandbox: bool,
    /// HubSpot access-token lifetime in seconds.
    #[arg(long, default_value_t = 1800)]
    hubspot_token_ttl: u64,
    /// Salesforce session timeout in seconds (restarted by every call).
    #[arg(long, default_value_t = 7200)]
    salesforce_session_ttl: u64,
    /// Salesforce edition: developer, professional, enterprise or unlimited.
    #[arg(long, default_value = "enterprise", value_parser = parse_edition)]
    edition: SalesforceEdition,
    /// Salesforce licences, for the daily API allocation.
    #[arg(long, default_value_t = 50)]
    seats: u64,
    /// Requests per ten seconds on the HubSpot side.
    #[arg(long, default_value_t = 190)]
    hubspot_burst: u32,
    /// Requests per day on the HubSpot side.
    #[arg(long, default_value_t = 625_000)]
    hubspot_daily: u64,
}

/// The session of the profile the command names (`hubforce::profile::session`).
fn open_session(
    cli_config: &std::path::Path,
    profile: Option<&str>,
    caller: &str,
) -> Result<Session, Box<dyn std::error::Error>> {
    Ok(hubforce::profile::session(cli_config, profile, caller)?)
}

/// A session for plain Lua (`hubforce::profile::lua_session`).
fn open_lua_session(
    cli_config: &std::path::Path,
    profile: Option<&str>,
    caller: &str,
) -> Result<Session, Box<dyn std::error::Error>> {
    Ok(hubforce::profile::lua_session(cli_config, profile, caller)?)
}

/// The folder of hubforce.toml: plugins/, scripts/ and the state directory sit beside it.
fn config_dir(cli: &Cli) -> &std::path::Path {
    match cli.config.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => std::path::Path::new("."),
    }
}

/// `explain` of a record nothing is known of (exit 7, not_found).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct NothingKnown(String);

/// A command used wrongly (exit 2, as for a bad argument).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Usage(String);

/// The exit code for a failure: one per error-class family, 1 otherwise.
fn exit_code_of(e: &(dyn std::error::Error + 'static)) -> u8 {
    if let Some(a) = e.downcast_ref::<hubforce::error::ApiError>() {
        return a.class.exit_code();
    }
    if let Some(c) = e.downcast_ref::<hubforce::connect::ConnectError>() {
        return c.exit_code();
    }
    if let Some(c) = e.downcast_ref::<hubforce::sync::engine::SyncError>() {
        return c.exit_code();
    }
    if let Some(code) = e
        .downcast_ref::<hubforce::profile::SetupError>()
        .and_then(|s| s.exit_code())
    {
        return code;
    }
    if let Some(code) = e
        .downcast_ref::<hubforce::watch::WatchError>()
        .and_then(|w| w.exit_code())
    {
        return code;
    }
    if e.downcast_ref::<Usage>().is_some() {
        return 2;
    }
    if e.downcast_ref::<NothingKnown>().is_some() {
        return hubforce::error::ErrorClass::NotFound.exit_code();
    }
    // A script's Lua failed: the class of plugin failures.
    if e.downcast_ref::<hubforce::lua::script::ScriptError>()
        .is_some()
    {
        return hubforce::error::ErrorClass::Plugin.exit_code();
    }
    1
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let logs = tracing_subscriber::fmt()
        .with_env_filter(cli.log_filter())
        .with_writer(std::io::stderr);
    if cli.log_format == LogFormat::Json {
        hubforce::logs::set_json(true);
        logs.json()
            .flatten_event(true)
            .with_current_span(false)
            .with_target(true)
            .init();
    } else {
        logs.with_target(false)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init();
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: could not start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match &cli.command {
            Command::Demo(a) => demo(a).await,
            Command::Sim(a) => sim(a).await,
            Command::Serve(a) => serve::serve(&cli, a).await,
            Command::Init(a) => init(&cli, a).await,
            Command::Connect(a) => connect(&cli, a).await,
            Command::Status(a) => status(&cli, a).await,
            Command::Api(a) => api(&cli, a).await,
            Command::Plugin(c) => plugin(&cli, c).await,
            Command::Run(a) => run_script(&cli, a).await,
            Command::Sync(a) => sync_command(&cli, a).await,
            Command::Explain(a) => explain(&cli, a).await,
            Command::Errors(a) => errors(&cli, a).await,
            Command::Resync(a) => resync(&cli, a).await,
            Command::Check(a) => check(&cli, a).await,
            Command::Repl(a) => repl(&cli, a).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let code = exit_code_of(e.as_ref());
            let mut causes = Vec::new();
            let mut source = e.source();
            while let Some(s) = source {
                causes.push(s.to_string());
                source = s.source();
            }
            if hubforce::logs::json() {
                tracing::error!(target: "hubforce", exit_code = code, caused_by = causes.join("; "), "{e}");
            } else {
                eprintln!("error: {e}");
                for c in &causes {
                    eprintln!("  caused by: {c}");
                }
            }
            ExitCode::from(code)
        }
    }
}
