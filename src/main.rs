//! The `hubforce` command line: parse, build the pieces, call into the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
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
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the embedded simulator, connect to both sides and show a first look at the data.
    Demo(DemoArgs),
    /// Serve the HubSpot + Salesforce simulator on 127.0.0.1 until interrupted.
    Sim(SimArgs),
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
    #[arg(long, default_value_t = 200)]
    contacts: usize,
    /// HubSpot companies (half of them are also Salesforce Accounts).
    #[arg(long, default_value_t = 60)]
    companies: usize,
    /// HubSpot deals (half as many Salesforce Opportunities).
    #[arg(long, default_value_t = 80)]
    deals: usize,
    /// Salesforce Leads (some share an email with a HubSpot contact).
    #[arg(long, default_value_t = 100)]
    leads: usize,
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
    c
}

async fn sim(args: SimArgs) -> Result<(), Box<dyn std::error::Error>> {
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
    println!("hubforce simulator listening (Ctrl-C stops it)");
    println!("  HubSpot API          {}", r.hubspot.api_base);
    println!("  Salesforce login     {}", r.salesforce.login_url);
    println!("  Salesforce instance  {}", r.salesforce.instance_url);
    println!("  control API          {}", r.control);
    if let Some(path) = &args.ready_file {
        println!("  ready file           {}", path.display());
    }
    tokio::signal::ctrl_c().await?;
    sim.shutdown().await;
    Ok(())
}

async fn demo(args: DemoArgs) -> Result<(), Box<dyn std::error::Error>> {
    let sim = Simulator::start(base_config(&args.data)).await?;
    let report = hubforce::demo::run(&sim).await?;
    print!("{report}");
    sim.shutdown().await;
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("HUBFORCE_LOG"))
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: could not start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Demo(a) => demo(a).await,
            Command::Sim(a) => sim(a).await,
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
            ExitCode::FAILURE
        }
    }
}
