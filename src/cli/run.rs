//! `hubforce run`: a Lua script with the host API.

use super::*;

pub(super) async fn run_script(
    cli: &Cli,
    args: &RunArgs,
) -> Result<(), Box<dyn std::error::Error>> {
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
