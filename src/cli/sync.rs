//! `hubforce sync` (once or watching) and `hubforce resync`.

use super::*;

pub(super) fn parse_class(
    class: Option<&str>,
) -> Result<Option<hubforce::error::ErrorClass>, String> {
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
pub(super) struct Stopped(pub(super) String, pub(super) u8);

/// Run passes of the engine with progress, recording each finished pass in the ledger.
pub(super) async fn sync_passes(
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
pub(super) async fn interrupted_while_waiting(interval: std::time::Duration) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(interval) => false,
        _ = tokio::signal::ctrl_c() => true,
    }
}

pub(super) async fn sync_command(
    cli: &Cli,
    a: &SyncArgs,
) -> Result<(), Box<dyn std::error::Error>> {
    let opts = hubforce::sync::engine::SyncOptions {
        full: a.full,
        dry_run: a.dry_run,
        objects: a.objects.clone(),
        records: a.records.clone(),
        ..Default::default()
    };
    sync_passes(cli, opts, a.watch, a.passes, a.json, a.show, a.plugins).await
}

pub(super) async fn resync(cli: &Cli, a: &ResyncArgs) -> Result<(), Box<dyn std::error::Error>> {
    let opts = hubforce::sync::engine::SyncOptions {
        retry_all: true,
        retry_only: true,
        retry_class: parse_class(a.class.as_deref())?,
        ..Default::default()
    };
    sync_passes(cli, opts, false, None, a.json, 0, a.plugins).await
}
