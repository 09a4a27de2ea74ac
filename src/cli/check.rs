//! `hubforce check`: the post-connection checklist.

use super::*;

/// Some checks failed (the report says which and how to fix them).
#[derive(Debug, thiserror::Error)]
#[error("{0} check(s) in error")]
pub(super) struct ChecksFailed(usize);

pub(super) async fn check(cli: &Cli, a: &CheckArgs) -> Result<(), Box<dyn std::error::Error>> {
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
