//! `hubforce repl`.

use super::*;

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(super) struct ReplFailed(String);

pub(super) async fn repl(cli: &Cli, a: &ReplArgs) -> Result<(), Box<dyn std::error::Error>> {
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
