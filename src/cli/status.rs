//! `hubforce status`: connections, passes, budgets.

use super::*;

pub(super) async fn status(cli: &Cli, args: &StatusArgs) -> Result<(), Box<dyn std::error::Error>> {
    let session = open_session(&cli.config, cli.profile.as_deref(), "status")?;
    let statuses = hubforce::connect::status(&session).await;
    let calls = session.log.summary(24);
    let placed = session.log.by_place(24);
    let sync = hubforce::sync::status::SyncStatus::read(&session)?;
    if args.json {
        hubforce::outln!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({"profile": session.profile, "connections": statuses, "calls_24h": calls, "calls_24h_by_place": placed, "sync": sync})
            )?
        );
    } else {
        hubforce::out!(
            "{}",
            hubforce::connect::render_status(&session.profile, &statuses, &calls)
        );
        if calls.is_empty() {
            hubforce::outln!("  no API calls in the last 24 h");
        } else {
            hubforce::out!("{}", hubforce::connect::render_places(&placed));
        }
        hubforce::out!("{}", sync.render());
    }
    Ok(())
}
