//! `hubforce errors`: record errors grouped like sync health.

use super::*;

pub(super) async fn errors(cli: &Cli, a: &ErrorsArgs) -> Result<(), Box<dyn std::error::Error>> {
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
