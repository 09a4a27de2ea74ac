//! `hubforce sim`: the simulator of both APIs, on 127.0.0.1 until Ctrl-C.

use super::*;

pub(super) fn parse_edition(s: &str) -> Result<SalesforceEdition, String> {
    SalesforceEdition::parse(s).ok_or_else(|| {
        format!("unknown edition '{s}': use developer, professional, enterprise or unlimited")
    })
}

pub(super) fn base_config(d: &DataArgs) -> SimConfig {
    let mut c = SimConfig::new(d.seed);
    c.contacts = d.contacts;
    c.companies = d.companies;
    c.deals = d.deals;
    c.leads = d.leads;
    c.tickets = d.tickets;
    c.subscriptions = d.subscriptions;
    c
}

pub(super) async fn sim(args: &SimArgs) -> Result<(), Box<dyn std::error::Error>> {
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
