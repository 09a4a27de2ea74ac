//! The `hubforce` command line: parse, build the pieces, call into the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use hubforce::config::Config;
use hubforce::session::Session;
use hubforce::sim::{SalesforceEdition, SimConfig, Simulator};

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
    #[command(subcommand)]
    command: Command,
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
        tracing_subscriber::EnvFilter::new(directives)
    }
}

#[derive(Subcommand)]
enum Command {
    /// Start the embedded simulator, connect to both sides and show a first look at the data.
    Demo(DemoArgs),
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
    /// Only these object pairs (company, contact, deal), comma-separated.
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
    #[command(flatten)]
    plugins: PluginGuard,
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

fn parse_edition(s: &str) -> Result<SalesforceEdition, String> {
    SalesforceEdition::parse(s).ok_or_else(|| {
        format!("unknown edition '{s}': use developer, professional, enterprise or unlimited")
    })
}

fn base_config(d: &DataArgs) -> SimConfig {
    let mut c = SimConfig::new(d.seed);
    c.contacts = d.contacts;
    c.companies = d.companies;
    c.deals = d.deals;
    c.leads = d.leads;
    c.tickets = d.tickets;
    c.subscriptions = d.subscriptions;
    c
}

async fn sim(args: &SimArgs) -> Result<(), Box<dyn std::error::Error>> {
    let mut c = base_config(&args.data);
    c.hubspot_port = args.hubspot_port;
    c.salesforce_login_port = args.salesforce_login_port;
    c.salesforce_instance_port = args.salesforce_instance_port;
    c.control_port = args.control_port;
    c.limits = !args.no_limits;
    c.salesforce.sandbox = args.sandbox;
    c.hubspot.access_token_ttl_secs = args.hubspot_token_ttl;
    c.hubspot.burst_per_10s = args.hubspot_burst;
    c.hubspot.daily_limit = args.hubspot_daily;
    c.salesforce.session_ttl_secs = args.salesforce_session_ttl;
    c.salesforce.edition = args.edition;
    c.salesforce.seats = args.seats;
    let sim = Simulator::start(c).await?;
    if let Some(path) = &args.ready_file {
        sim.write_ready_file(path)?;
    }
    let r = sim.ready_info();
    hubforce::outln!("hubforce simulator listening (Ctrl-C stops it)");
    hubforce::outln!("  HubSpot API          {}", r.hubspot.api_base);
    hubforce::outln!("  Salesforce login     {}", r.salesforce.login_url);
    hubforce::outln!("  Salesforce instance  {}", r.salesforce.instance_url);
    hubforce::outln!("  control API          {}", r.control);
    if let Some(path) = &args.ready_file {
        hubforce::outln!("  ready file           {}", path.display());
    }
    tokio::signal::ctrl_c().await?;
    sim.shutdown().await;
    Ok(())
}

async fn demo(args: &DemoArgs) -> Result<(), Box<dyn std::error::Error>> {
    let sim = Simulator::start(base_config(&args.data)).await?;
    hubforce::demo::run(&sim).await?;
    sim.shutdown().await;
    Ok(())
}

fn open_session(
    cli_config: &std::path::Path,
    profile: Option<&str>,
    caller: &str,
) -> Result<Session, Box<dyn std::error::Error>> {
    let config = Config::load(cli_config).map_err(|e| match e {
        hubforce::config::ConfigError::Read { path, .. } if !path.exists() => format!(
            "{} not found: run `hubforce init` to write a starter file (or pass --config)",
            path.display()
        )
        .into(),
        other => Box::<dyn std::error::Error>::from(other),
    })?;
    Ok(Session::open(config, profile, caller)?)
}

/// A session for plain Lua (`run`, `repl`): without a hubforce.toml it has no providers
/// (their first use says to run `hubforce init`); a provider whose secret is not set is left
/// out until it is used.
fn open_lua_session(
    cli_config: &std::path::Path,
    profile: Option<&str>,
    caller: &str,
) -> Result<Session, Box<dyn std::error::Error>> {
    if !cli_config.exists() && profile.is_none() {
        return Ok(Session::scratch(cli_config)?);
    }
    let config = Config::load(cli_config)?;
    Ok(Session::open_lenient(config, profile, caller)?)
}

/// The folder of hubforce.toml: plugins/, scripts/ and the state directory sit beside it.
fn config_dir(cli: &Cli) -> &std::path::Path {
    match cli.config.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => std::path::Path::new("."),
    }
}

async fn init(cli: &Cli, args: &InitArgs) -> Result<(), Box<dyn std::error::Error>> {
    let dir = config_dir(cli);
    match &args.from_sim {
        Some(ready) => {
            let text = std::fs::read_to_string(ready)
                .map_err(|e| format!("cannot read the ready file {}: {e}", ready.display()))?;
            let v: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| format!("{} is not a simulator ready file: {e}", ready.display()))?;
            let written = hubforce::connect::init_from_sim(dir, &v, args.force)?;
            let plugins = hubforce::connect::enable_default_plugin(dir)?;
            hubforce::outln!(
                "wrote {written} with profile `sim` (secrets in .hubforce/sim.env, mode 0600)"
            );
            hubforce::outln!("{plugins}");
            hubforce::outln!("next: hubforce connect hubspot && hubforce connect salesforce");
        }
        None => {
            if cli.config.exists() && !args.force {
                return Err(format!(
                    "{} exists; pass --force to replace it",
                    cli.config.display()
                )
                .into());
            }
            std::fs::write(&cli.config, hubforce::config::STARTER)?;
            hubforce::outln!(
                "wrote {} — fill in the client ids, set the secret variables, then run `hubforce connect hubspot`",
                cli.config.display()
            );
        }
    }
    Ok(())
}

fn open_browser(url: &url::Url, open: bool) {
    eprintln!("Open this URL in a browser to authorize hubforce:\n\n  {url}\n");
    if open {
        let opener = if cfg!(target_os = "macos") {
            "open"
        } else {
            "xdg-open"
        };
        if let Err(e) = std::process::Command::new(opener).arg(url.as_str()).spawn() {
            eprintln!("(could not start {opener}: {e}; open the URL yourself)");
        }
    }
}

async fn connect(cli: &Cli, args: &ConnectArgs) -> Result<(), Box<dyn std::error::Error>> {
    let session = open_session(&cli.config, cli.profile.as_deref(), "connect")?;
    let timeout = std::time::Duration::from_secs(args.timeout);
    let status = match (args.provider, args.password) {
        (ProviderArg::Hubspot, _) => {
            hubforce::connect::hubspot(&session, timeout, |u| open_browser(u, args.open)).await?
        }
        (ProviderArg::Salesforce, true) => {
            hubforce::connect::salesforce_password(&session, args.sandbox).await?
        }
        (ProviderArg::Salesforce, false) => {
            hubforce::connect::salesforce(&session, args.sandbox, timeout, |u| {
                open_browser(u, args.open)
            })
            .await?
        }
    };
    hubforce::out!(
        "{}",
        hubforce::connect::render_status(&session.profile, &[status], &[])
    );
    Ok(())
}

async fn status(cli: &Cli, args: &StatusArgs) -> Result<(), Box<dyn std::error::Error>> {
    let session = open_session(&cli.config, cli.profile.as_deref(), "status")?;
    let statuses = hubforce::connect::status(&session).await;
    let calls = session.log.summary(24);
    let sync = hubforce::sync::status::SyncStatus::read(&session)?;
    if args.json {
        hubforce::outln!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({"profile": session.profile, "connections": statuses, "calls_24h": calls, "sync": sync})
            )?
        );
    } else {
        hubforce::out!(
            "{}",
            hubforce::connect::render_status(&session.profile, &statuses, &calls)
        );
        if calls.is_empty() {
            hubforce::outln!("  no API calls in the last 24 h");
        }
        hubforce::out!("{}", sync.render());
    }
    Ok(())
}

async fn api(cli: &Cli, args: &ApiArgs) -> Result<(), Box<dyn std::error::Error>> {
    let method = reqwest::Method::from_bytes(args.method.to_ascii_uppercase().as_bytes())
        .map_err(|_| format!("{} is not an HTTP method", args.method))?;
    let body = match &args.data {
        None => None,
        Some(d) => {
            let text = match d.strip_prefix('@') {
                Some(file) => {
                    std::fs::read_to_string(file).map_err(|e| format!("cannot read {file}: {e}"))?
                }
                None => d.clone(),
            };
            Some(
                serde_json::from_str::<serde_json::Value>(&text)
                    .map_err(|e| format!("--data is not JSON: {e}"))?,
            )
        }
    };
    let session = open_session(&cli.config, cli.profile.as_deref(), "cli")?;
    let value = match args.provider {
        ProviderArg::Hubspot => session.hubspot()?.request(method, &args.path, body).await?,
        ProviderArg::Salesforce => {
            session
                .salesforce()?
                .request(method, &args.path, body)
                .await?
        }
    };
    hubforce::outln!("{}", serde_json::to_string_pretty(&value)?);
    Ok(())
}

/// Plugin folders with tests under `root`, one level of grouping deep (`examples/acme`).
/// Plugin folders that have tests.
fn plugins_with_tests(root: &std::path::Path) -> Vec<String> {
    hubforce::profile::plugin_folders(root)
        .into_iter()
        .filter(|n| root.join(n).join("tests").is_dir())
        .collect()
}

/// `explain` of a record nothing is known of (exit 7, not_found).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct NothingKnown(String);

/// A command used wrongly (exit 2, as for a bad argument).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Usage(String);

/// `plugin list` found plugins in error (they were printed already).
#[derive(Debug, thiserror::Error)]
#[error("{0} plugin(s) in ERROR")]
struct PluginsInError(usize);

/// A failed `plugin test` run (the failures were printed already).
#[derive(Debug, thiserror::Error)]
#[error("{0} plugin test(s) failed")]
struct TestsFailed(usize);

async fn plugin_test(cli: &Cli, name: Option<&str>) -> Result<(), Box<dyn std::error::Error>> {
    let base = config_dir(cli);
    // Settings and the enabled list come from the profile when there is one.
    let profile = Config::load(&cli.config).ok().and_then(|c| {
        c.profile(cli.profile.as_deref())
            .ok()
            .map(|(_, p)| p.clone())
    });
    let root = base.join("plugins");
    let names: Vec<String> = match (name, &profile) {
        (Some(n), _) => {
            let known = hubforce::profile::plugin_folders(&root);
            if !known.iter().any(|k| k == n) {
                return Err(Usage(format!(
                    "no plugin {n} in {}; known: {}",
                    root.display(),
                    if known.is_empty() {
                        "none".into()
                    } else {
                        known.join(", ")
                    }
                ))
                .into());
            }
            vec![n.to_string()]
        }
        (None, Some(p)) => p.plugins.clone(),
        (None, None) => plugins_with_tests(&root),
    };
    let (mut passed, mut failed) = (0usize, 0usize);
    for n in names {
        let settings = profile
            .as_ref()
            .and_then(|p| p.plugin.get(&n).cloned())
            .unwrap_or_default();
        for file in hubforce::plugin_tests::run(
            &base.join("plugins"),
            Some(&base.join("scripts/lib")),
            &n,
            &settings,
        )
        .await
        {
            hubforce::outln!("{}", file.file);
            if let Some(e) = &file.error {
                hubforce::outln!("  ✗ could not run: {e}");
                failed += 1;
            }
            for c in &file.cases {
                if c.ok {
                    passed += 1;
                    hubforce::outln!("  ✓ {}", c.name);
                } else {
                    failed += 1;
                    hubforce::outln!(
                        "  ✗ {}\n      {} ({})",
                        c.name,
                        c.message.clone().unwrap_or_default(),
                        c.at.clone().unwrap_or_default()
                    );
                }
            }
        }
    }
    hubforce::outln!("{passed} passed, {failed} failed");
    if failed > 0 {
        return Err(TestsFailed(failed).into());
    }
    Ok(())
}

async fn plugin(cli: &Cli, cmd: &PluginCommand) -> Result<(), Box<dyn std::error::Error>> {
    let json = match cmd {
        PluginCommand::Test { name } => return plugin_test(cli, name.as_deref()).await,
        PluginCommand::List { json } => json,
    };
    let session = open_session(&cli.config, cli.profile.as_deref(), "plugin")?;
    // Loaded as a sync loads them: what is listed active is what a sync would run.
    let set = hubforce::profile::load_plugins(&session, config_dir(cli))?;
    let list = set.list();
    let in_error = list.iter().filter(|p| p.error.is_some()).count();
    let calls = session.log.summary(24);
    let used = |name: &str, provider: &str| -> u64 {
        calls
            .iter()
            .filter(|c| {
                c.provider == provider
                    && (c.caller == format!("plugin:{name}")
                        || c.caller.starts_with(&format!("plugin:{name}/")))
            })
            .map(|c| c.calls)
            .sum()
    };
    if *json {
        hubforce::outln!("{}", serde_json::to_string_pretty(&list)?);
    } else {
        print_plugin_list(&session, &list, used);
    }
    if in_error > 0 {
        return Err(PluginsInError(in_error).into());
    }
    Ok(())
}

fn print_plugin_list(
    session: &hubforce::session::Session,
    list: &[hubforce::plugins::PluginInfo],
    used: impl Fn(&str, &str) -> u64,
) {
    if list.is_empty() {
        hubforce::outln!(
            "profile {} enables no plugins (set `plugins = [...]` in hubforce.toml)",
            session.profile
        );
    }
    for p in list {
        let budget = |b: Option<u64>, u: u64| {
            b.map(|b| format!("{u}/{b}"))
                .unwrap_or_else(|| format!("{u}/—"))
        };
        hubforce::outln!(
            "{:<20} {:<9} gen {:<3} {:<7} hooks: {:<40} calls 24h hubspot {} salesforce {}",
            p.name,
            p.version.clone().unwrap_or_else(|| "—".into()),
            p.generation,
            if p.error.is_none() { "active" } else { "ERROR" },
            if p.hooks.is_empty() {
                "—".to_string()
            } else {
                p.hooks.join(", ")
            },
            budget(p.budget_hubspot, used(&p.name, "hubspot")),
            budget(p.budget_salesforce, used(&p.name, "salesforce")),
        );
        if let Some(e) = &p.error {
            hubforce::outln!("    {e}");
        }
    }
}

async fn run_script(cli: &Cli, args: &RunArgs) -> Result<(), Box<dyn std::error::Error>> {
    let session = open_lua_session(&cli.config, cli.profile.as_deref(), "script")?;
    let base = config_dir(cli);
    let stem = args
        .file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let caller = format!("script:{stem}");
    let host = hubforce::lua::host::HostContext::for_caller(
        session.hubspot.as_ref(),
        session.salesforce.as_ref(),
        &caller,
        session.store()?,
        caller.clone(),
    )
    .unavailable(&session.unavailable);
    let mut limits = hubforce::lua::script::SCRIPT_LIMITS;
    if let Some(secs) = args.time_limit {
        limits.call_time = std::time::Duration::from_secs(secs);
    }
    let out = hubforce::lua::script::run(
        &args.file,
        &args.args,
        host,
        Some(&base.join("scripts/lib")),
        args.unsafe_mode,
        limits,
    )
    .await?;
    if !out.is_null() {
        hubforce::outln!("{}", serde_json::to_string_pretty(&out)?);
    }
    Ok(())
}

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
    if let Some(Stopped(_, code)) = e.downcast_ref::<Stopped>() {
        return *code;
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(cli.log_filter())
        .with_target(false)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
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
            eprintln!("error: {e}");
            let mut source = e.source();
            while let Some(s) = source {
                eprintln!("  caused by: {s}");
                source = s.source();
            }
            ExitCode::from(exit_code_of(e.as_ref()))
        }
    }
}

fn parse_class(class: Option<&str>) -> Result<Option<hubforce::error::ErrorClass>, String> {
    class
        .map(|c| {
            hubforce::error::ErrorClass::parse(c).ok_or_else(|| {
                format!("unknown error class `{c}` (validation, duplicate, not_found, permission, transient, plugin, rate.daily, …)")
            })
        })
        .transpose()
}

/// A pass that stopped early for a reason that is not a pause.
#[derive(Debug, thiserror::Error)]
#[error("the sync stopped: {0}")]
struct Stopped(String, u8);

/// Run passes of the engine with progress, recording each finished pass in the ledger.
async fn sync_passes(
    cli: &Cli,
    opts: hubforce::sync::engine::SyncOptions,
    watch: bool,
    passes: Option<u64>,
    json: bool,
    show: usize,
    guard: PluginGuard,
) -> Result<(), Box<dyn std::error::Error>> {
    use hubforce::sync::engine::Engine;
    use hubforce::sync::progress::SyncProgress;
    let session = open_session(&cli.config, cli.profile.as_deref(), "sync")?;
    let setup = hubforce::profile::open(&session, config_dir(cli), guard.options())?;
    if setup.read_only && !opts.dry_run {
        return Err(format!(
            "profile `{}` is read-only: only `hubforce sync --dry-run` runs against it",
            session.profile
        )
        .into());
    }
    for e in setup.plugins.errors() {
        eprintln!("warning: {e} — left out (--skip-broken-plugins)");
    }
    let _watcher = if watch {
        Some(setup.plugins.watch()?)
    } else {
        None
    };
    let (hs, sf) = (session.hubspot()?, session.salesforce()?);
    let interval = std::time::Duration::from_secs(setup.settings.watch_interval_secs);
    // A watch outlives outages: what passes (5xx, timeouts, rate limits) is waited out;
    // only what needs a person (a revoked grant, a bad configuration) ends it.
    let passing = |class: hubforce::error::ErrorClass| watch && class.retryable();
    let mut engine = loop {
        match Engine::prepare(
            hs,
            sf,
            &setup.ledger,
            setup.plugins.as_ref(),
            setup.settings.clone(),
        )
        .await
        {
            Ok(engine) => break engine,
            Err(hubforce::sync::engine::SyncError::Api(e)) if passing(e.class) => {
                eprintln!("warning: {e}; trying again in {} s", interval.as_secs());
                if interrupted_while_waiting(interval).await {
                    return Ok(());
                }
            }
            Err(e) => return Err(e.into()),
        }
    };
    let mut pass = 0u64;
    loop {
        let ctx = serde_json::json!({
            "profile": session.profile, "pass": pass + 1, "dry_run": opts.dry_run,
            "full": opts.full, "watch": watch,
        });
        for e in setup
            .plugins
            .lifecycle("on_sync_start", std::slice::from_ref(&ctx))
            .await
        {
            eprintln!("warning: {e}");
        }
        let progress = SyncProgress::attach(&mut engine, json);
        let report = match engine.run(&opts).await {
            Ok(r) => r,
            Err(hubforce::sync::engine::SyncError::Api(e)) if passing(e.class) => {
                progress.finish();
                eprintln!(
                    "warning: the pass stopped: {e}; the next one starts in {} s",
                    interval.as_secs()
                );
                if interrupted_while_waiting(interval).await {
                    return Ok(());
                }
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        progress.finish();
        let mut summary = serde_json::to_value(&report)?;
        summary["plans"] = serde_json::json!([]);
        for e in setup
            .plugins
            .lifecycle("on_sync_end", &[ctx, summary])
            .await
        {
            eprintln!("warning: {e}");
        }
        if json {
            hubforce::outln!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            hubforce::out!("{}", report.render());
            if opts.dry_run {
                hubforce::out!("{}", report.render_plans(show));
            }
        }
        pass += 1;
        if let (Some(class), Some(why)) = (report.stopped_class, &report.stopped)
            && !passing(class)
        {
            return Err(Box::new(Stopped(why.clone(), class.exit_code())));
        }
        if !watch || passes.is_some_and(|n| pass >= n) {
            return Ok(());
        }
        if interrupted_while_waiting(interval).await {
            return Ok(());
        }
    }
}

/// Wait until the next pass of a watch; true when Ctrl-C ended the wait (and the watch).
async fn interrupted_while_waiting(interval: std::time::Duration) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(interval) => false,
        _ = tokio::signal::ctrl_c() => true,
    }
}

async fn sync_command(cli: &Cli, a: &SyncArgs) -> Result<(), Box<dyn std::error::Error>> {
    let opts = hubforce::sync::engine::SyncOptions {
        full: a.full,
        dry_run: a.dry_run,
        objects: a.objects.clone(),
        records: a.records.clone(),
        ..Default::default()
    };
    sync_passes(cli, opts, a.watch, a.passes, a.json, a.show, a.plugins).await
}

async fn resync(cli: &Cli, a: &ResyncArgs) -> Result<(), Box<dyn std::error::Error>> {
    let opts = hubforce::sync::engine::SyncOptions {
        retry_all: true,
        retry_only: true,
        retry_class: parse_class(a.class.as_deref())?,
        ..Default::default()
    };
    sync_passes(cli, opts, false, None, a.json, 0, a.plugins).await
}

async fn explain(cli: &Cli, a: &ExplainArgs) -> Result<(), Box<dyn std::error::Error>> {
    let session = open_session(&cli.config, cli.profile.as_deref(), "explain")?;
    let setup = hubforce::profile::open(&session, config_dir(cli), a.plugins.options())?;
    let engine = hubforce::sync::engine::Engine::prepare(
        session.hubspot()?,
        session.salesforce()?,
        &setup.ledger,
        setup.plugins.as_ref(),
        setup.settings.clone(),
    )
    .await?;
    let e = engine.explain(&a.object, &a.id).await?;
    if a.json {
        hubforce::outln!("{}", serde_json::to_string_pretty(&e)?);
    } else {
        hubforce::out!("{}", e.render());
    }
    if !e.found && e.linked.is_none() && e.tombstones.is_empty() {
        return Err(Box::new(NothingKnown(format!(
            "{} {} exists on neither side: no such {} record, and the ledger knows no link or deletion of it — check the id, and the object (contact, company, deal for a HubSpot id; Lead, Contact, Account, Opportunity for a Salesforce id)",
            e.object,
            e.id,
            if e.side == "hubspot" {
                "HubSpot"
            } else {
                "Salesforce"
            }
        ))));
    }
    Ok(())
}

async fn errors(cli: &Cli, a: &ErrorsArgs) -> Result<(), Box<dyn std::error::Error>> {
    use hubforce::sync::error_groups::{group, human_time};
    let session = open_session(&cli.config, cli.profile.as_deref(), "errors")?;
    let ledger = hubforce::sync::ledger::Ledger::open(&hubforce::profile::ledger_path(&session))?;
    let list = ledger.errors(parse_class(a.class.as_deref())?)?;
    if a.json {
        hubforce::outln!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(());
    }
    if list.is_empty() {
        hubforce::outln!("no record errors");
        return Ok(());
    }
    let code = |c: &Option<String>| c.as_ref().map(|c| format!("{c}: ")).unwrap_or_default();
    if a.all {
        for e in &list {
            hubforce::outln!(
                "{:<11} {} {} {} — {}{} ({} attempt(s), last {})",
                e.class,
                e.side,
                e.object,
                e.id,
                code(&e.code),
                e.message,
                e.attempts,
                human_time(&e.last_at)
            );
            hubforce::outln!("            what to do: {}", e.hint);
        }
    } else {
        let groups = group(&list);
        hubforce::outln!(
            "{} record error(s) of {} kind(s), newest first:",
            list.len(),
            groups.len()
        );
        for g in &groups {
            let e = &g.example;
            hubforce::outln!(
                "{:<11} {:>5} × {} {} — {}{}",
                g.class,
                g.count,
                g.side,
                g.object,
                code(&g.code),
                g.kind
            );
            hubforce::outln!(
                "                    e.g. {} {}: {} ({} attempt(s), last {})",
                e.object,
                e.id,
                e.message,
                e.attempts,
                human_time(&e.last_at)
            );
            hubforce::outln!("                    what to do: {}", e.hint);
        }
    }
    hubforce::outln!(
        "`hubforce errors --all` lists every record, `hubforce explain OBJECT ID` shows one in full, `hubforce resync` retries them"
    );
    Ok(())
}

/// Some checks failed (the report says which and how to fix them).
#[derive(Debug, thiserror::Error)]
#[error("{0} check(s) in error")]
struct ChecksFailed(usize);

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct ReplFailed(String);

async fn repl(cli: &Cli, a: &ReplArgs) -> Result<(), Box<dyn std::error::Error>> {
    use std::io::IsTerminal;
    let session = open_lua_session(&cli.config, cli.profile.as_deref(), "repl")?;
    let mut repl = hubforce::repl::Repl::new(&cli.config, config_dir(cli), session)?;
    if let Some(expr) = &a.expr {
        let value = repl.eval_json(expr).await.map_err(ReplFailed)?;
        hubforce::outln!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    if std::io::stdin().is_terminal() {
        hubforce::repl::interactive(repl).await?;
        return Ok(());
    }
    let failed = hubforce::repl::piped(repl, std::io::stdin().lock(), &mut std::io::stdout()).await;
    if failed > 0 {
        return Err(Box::new(ReplFailed(format!("{failed} input(s) failed"))));
    }
    Ok(())
}

async fn check(cli: &Cli, a: &CheckArgs) -> Result<(), Box<dyn std::error::Error>> {
    use std::io::IsTerminal;
    let session = open_session(&cli.config, cli.profile.as_deref(), "check")?;
    let setup = hubforce::profile::open(&session, config_dir(cli), a.plugins.options())?;
    let opts = hubforce::checks::CheckOptions {
        only: a.only.clone(),
        no_roundtrip: a.no_roundtrip,
    };
    let report = hubforce::checks::run(
        &session,
        &setup.plugins,
        &setup.ledger,
        &setup.settings,
        &opts,
    )
    .await;
    if a.json {
        hubforce::outln!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        hubforce::out!("{}", report.render(std::io::stdout().is_terminal()));
    }
    let errors = report
        .findings
        .iter()
        .filter(|f| f.status == hubforce::checks::Status::Error)
        .count();
    if errors > 0 {
        return Err(Box::new(ChecksFailed(errors)));
    }
    Ok(())
}
