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

/// How a command's passes run.
pub(super) struct PassShape {
    pub watch: bool,
    pub passes: Option<u64>,
    pub json: bool,
    pub show: usize,
    /// With a watch: the sync health page's address.
    pub serve: Option<std::net::SocketAddr>,
}

/// Run passes of the engine (`hubforce::watch`), printing each report.
pub(super) async fn sync_passes(
    cli: &Cli,
    opts: hubforce::sync::engine::SyncOptions,
    shape: PassShape,
    guard: PluginGuard,
) -> Result<(), Box<dyn std::error::Error>> {
    let session = std::sync::Arc::new(open_session(&cli.config, cli.profile.as_deref(), "sync")?);
    // Opened first, so that a sync that cannot start (a plugin that does not load) alerts too.
    let alerts = hubforce::alerts::Alerts::open(&session)?;
    let setup = match hubforce::profile::open(&session, config_dir(cli), guard.options())
        .and_then(|s| s.for_sync(&session))
    {
        Ok(s) => std::sync::Arc::new(s),
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
    let _watcher = if shape.watch {
        Some(setup.plugins.watch()?)
    } else {
        None
    };
    let wake = std::sync::Arc::new(tokio::sync::Notify::new());
    let page = match shape.serve {
        Some(addr) => Some(
            super::serve::start_page(
                session.clone(),
                setup.clone(),
                hubforce::serve::Watcher::Here(wake.clone()),
                addr,
            )
            .await?,
        ),
        None => None,
    };
    let passes = hubforce::watch::Passes {
        watch: shape.watch,
        limit: shape.passes,
        quiet: shape.json,
    };
    let around = hubforce::watch::Around {
        alerts: alerts.as_ref(),
        wake: page.as_ref().map(|_| wake.as_ref()),
    };
    let (json, dry_run, show) = (shape.json, opts.dry_run, shape.show);
    hubforce::watch::run(&session, &setup, &opts, passes, around, |report| {
        if let Some(p) = &page {
            p.pass_ended(report);
        }
        if json {
            match serde_json::to_string_pretty(report) {
                Ok(text) => hubforce::outln!("{text}"),
                Err(e) => hubforce::logs::warn(format!("the report did not serialise: {e}")),
            }
        } else {
            hubforce::out!("{}", report.render());
            if dry_run {
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
    let shape = PassShape {
        watch: a.watch,
        passes: a.passes,
        json: a.json,
        show: a.show,
        serve: a.serve,
    };
    sync_passes(cli, opts, shape, a.plugins).await
}

pub(super) async fn resync(cli: &Cli, a: &ResyncArgs) -> Result<(), Box<dyn std::error::Error>> {
    let opts = hubforce::sync::engine::SyncOptions {
        retry_all: true,
        retry_only: true,
        retry_class: parse_class(a.class.as_deref())?,
        ..Default::default()
    };
    let shape = PassShape {
        watch: false,
        passes: None,
        json: a.json,
        show: 0,
        serve: None,
    };
    sync_passes(cli, opts, shape, a.plugins).await
}
