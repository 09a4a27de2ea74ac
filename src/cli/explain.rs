//! `hubforce explain`: one record in full.

use super::*;

pub(super) async fn explain(cli: &Cli, a: &ExplainArgs) -> Result<(), Box<dyn std::error::Error>> {
    let session = open_session(&cli.config, cli.profile.as_deref(), "explain")?;
    let setup = hubforce::profile::open(&session, config_dir(cli), a.plugins.options())?
        .for_sync(&session)?;
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
