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

/// Run passes of the engine (`hubforce::watch`), printing each report.
pub(super) async fn sync_passes(
    cli: &Cli,
    opts: hubforce::sync::engine::SyncOptions,
    watch: bool,
    passes: Option<u64>,
    json: bool,
    show: usize,
    guard: PluginGuard,
) -> Result<(), Box<dyn std::error::Error>> {
    let session = open_session(&cli.config, cli.profile.as_deref(), "sync")?;
    // Opened first, so that a sync that cannot start (a plugin that does not load) alerts too.
    let alerts = hubforce::alerts::Alerts::open(&session)?;
    let setup = match hubforce::profile::open(&session, config_dir(cli), guard.options())
        .and_then(|s| s.for_sync(&session))
    {
        Ok(s) => s,
        Err(e) => {
            if let Some(a) = alerts.as_ref().filter(|_| !opts.dry_run) {
                a.ended(e.class(), &e.to_string(), None).await;
            }
            return Err(e.into());
        }
    };
    if setup.read_only && !opts.dry_run {
        return Err(format!(
            "profile `{}` is read-only: only `hubforce sync --dry-run` runs against it",
            session.profile
        )
        .into());
    }
    for e in setup.plugins.errors() {
        hubforce::logs::warn(format!("{e} — left out (--skip-broken-plugins)"));
    }
    let _watcher = if watch {
        Some(setup.plugins.watch()?)
    } else {
        None
    };
    let shape = hubforce::watch::Passes {
        watch,
        limit: passes,
        quiet: json,
    };
    hubforce::watch::run(&session, &setup, &opts, shape, alerts.as_ref(), |report| {
        if json {
            match serde_json::to_string_pretty(report) {
                Ok(text) => hubforce::outln!("{text}"),
                Err(e) => hubforce::logs::warn(format!("the report did not serialise: {e}")),
            }
        } else {
            hubforce::out!("{}", report.render());
            if opts.dry_run {
                hubforce::out!("{}", report.render_plans(show));
            }
        }
    })
    .await?;
    Ok(())
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
