//! Passes of the sync, once or watching: what `hubforce sync [--watch]` runs and the demo
//! reuses. The engine is prepared (a watch waits out what passes: 5xx, timeouts, rate
//! limits), each pass runs between the plugins' `on_sync_start` and `on_sync_end`, its report
//! is handed on, a stop that needs a person ends the loop with its class, and a watch waits
//! its interval. SIGTERM or Ctrl-C ends a pass at its next checkpoint, or a wait at once, and the
//! command exits 0. Warnings go through `logs` (text or JSON).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::Notify;

use crate::alerts::Alerts;
use crate::budget::{Stage, within};
use crate::error::ErrorClass;
use crate::profile::SyncSetup;
use crate::session::{Session, SessionError};
use crate::sync::engine::{Engine, SyncError, SyncOptions};
use crate::sync::progress::SyncProgress;
use crate::sync::report::RunReport;

#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// A pass stopped for a reason that is not a pause (a revoked grant, a spent quota…).
    #[error("the sync stopped: {reason}")]
    Stopped { reason: String, class: ErrorClass },
    #[error(transparent)]
    Sync(#[from] SyncError),
    #[error(transparent)]
    Session(#[from] SessionError),
}

impl WatchError {
    /// The class of what ended it, when it has one (what an alert is raised for).
    pub fn class(&self) -> Option<ErrorClass> {
        match self {
            WatchError::Stopped { class, .. } => Some(*class),
            WatchError::Sync(SyncError::Api(api)) => Some(api.class),
            _ => None,
        }
    }

    /// The exit code of the class that ended it, when one did.
    pub fn exit_code(&self) -> Option<u8> {
        match self {
            WatchError::Stopped { class, .. } => Some(class.exit_code()),
            WatchError::Sync(e) => Some(e.exit_code()),
            WatchError::Session(_) => None,
        }
    }
}

/// How many passes, and how they show.
#[derive(Debug, Clone, Copy, Default)]
pub struct Passes {
    /// Keep passing, every `watch_interval_secs`, until Ctrl-C or a stop.
    pub watch: bool,
    /// At most this many passes.
    pub limit: Option<u64>,
    /// No progress bars (JSON output, or a caller that draws its own).
    pub quiet: bool,
}

/// What runs around the passes: alerts raised and cleared after each, and a wake-up that
/// ends the wait between passes early (the sync health page asked for something).
#[derive(Default, Clone, Copy)]
pub struct Around<'a> {
    pub alerts: Option<&'a Alerts>,
    pub wake: Option<&'a Notify>,
}

/// A stop asked by SIGTERM or SIGINT (Ctrl-C), listened for from the start of a command's
/// passes: a pass ends at its next checkpoint, a wait ends at once, and the command exits 0.
/// A second signal ends the process there and then; what was checkpointed stays.
#[derive(Clone)]
pub struct StopSignal {
    asked: Arc<AtomicBool>,
    notify: Arc<Notify>,
}

impl StopSignal {
    /// Listen for the signals (on a task of its own).
    pub fn listen() -> StopSignal {
        let stop = StopSignal {
            asked: Arc::new(AtomicBool::new(false)),
            notify: Arc::new(Notify::new()),
        };
        let (asked, notify) = (stop.asked.clone(), stop.notify.clone());
        tokio::spawn(async move {
            #[cfg(unix)]
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
            loop {
                #[cfg(unix)]
                let terminated = async {
                    match term.as_mut() {
                        Some(t) => t.recv().await,
                        None => std::future::pending().await,
                    }
                };
                #[cfg(not(unix))]
                let terminated = std::future::pending::<Option<()>>();
                tokio::select! {
                    _ = terminated => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
                if asked.swap(true, Ordering::SeqCst) {
                    crate::logs::note(
                        "stopped at once (a second signal); the next run resumes from the last checkpoint",
                    );
                    std::process::exit(130);
                }
                crate::logs::note("stopping at the next checkpoint (signal again to stop at once)");
                notify.notify_waiters();
            }
        });
        stop
    }

    /// One that no signal sets: Ctrl-C keeps its default (the demo).
    pub fn never() -> StopSignal {
        StopSignal {
            asked: Arc::new(AtomicBool::new(false)),
            notify: Arc::new(Notify::new()),
        }
    }

    /// The flag the engine reads between batches.
    pub fn flag(&self) -> Arc<AtomicBool> {
        self.asked.clone()
    }

    pub fn asked(&self) -> bool {
        self.asked.load(Ordering::SeqCst)
    }

    /// Wait `interval`; true when a stop was asked (before or during the wait).
    pub async fn while_waiting(&self, interval: Duration) -> bool {
        self.until_next(interval, None).await
    }

    /// Wait `interval`, or until `wake`; true when a stop was asked.
    pub async fn until_next(&self, interval: Duration, wake: Option<&Notify>) -> bool {
        let notified = self.notify.notified();
        if self.asked() {
            return true;
        }
        let woken = async {
            match wake {
                Some(w) => w.notified().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(interval) => self.asked(),
            _ = notified => true,
            _ = woken => self.asked(),
        }
    }
}

/// The engine for a profile's passes; None when a stop was asked while waiting out an
/// outage.
pub async fn prepare<'a>(
    session: &'a Session,
    setup: &'a SyncSetup,
    watch: bool,
    stop: &StopSignal,
) -> Result<Option<Engine<'a>>, WatchError> {
    let (hs, sf) = (session.hubspot()?, session.salesforce()?);
    let interval = Duration::from_secs(setup.settings.watch_interval_secs);
    loop {
        match Engine::prepare(
            hs,
            sf,
            &setup.ledger,
            setup.plugins.as_ref(),
            setup.settings.clone(),
        )
        .await
        {
            Ok(mut engine) => {
                engine.stop_on(stop.flag());
                return Ok(Some(engine));
            }
            Err(SyncError::Api(e)) if watch && e.class.retryable() => {
                crate::logs::warn(format!("{e}; trying again in {} s", interval.as_secs()));
                if stop.while_waiting(interval).await {
                    return Ok(None);
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// One pass between the lifecycle hooks, with progress unless `quiet`.
pub async fn pass(
    engine: &mut Engine<'_>,
    setup: &SyncSetup,
    opts: &SyncOptions,
    ctx: serde_json::Value,
    quiet: bool,
) -> Result<RunReport, SyncError> {
    let start = setup
        .plugins
        .lifecycle("on_sync_start", std::slice::from_ref(&ctx));
    for e in within(None, Stage::Hooks, start).await {
        crate::logs::warn(e);
    }
    let progress = SyncProgress::attach(engine, quiet);
    let result = engine.run(opts).await;
    progress.finish();
    let report = result?;
    let mut summary = serde_json::to_value(&report).unwrap_or_default();
    summary["plans"] = serde_json::json!([]);
    let args = [ctx, summary];
    let end = setup.plugins.lifecycle("on_sync_end", &args);
    for e in within(None, Stage::Hooks, end).await {
        crate::logs::warn(e);
    }
    Ok(report)
}

/// Passes until done: one (or `limit`), or a watch until Ctrl-C. Each report goes to
/// `on_report`; a stop that needs a person ends it with its class. With `alerts`, each pass
/// raises and clears alerts, and so does the error that ends it.
pub async fn run(
    session: &Session,
    setup: &SyncSetup,
    opts: &SyncOptions,
    passes: Passes,
    around: Around<'_>,
    on_report: impl FnMut(&RunReport),
) -> Result<(), WatchError> {
    // A watcher says it runs (for a sync health page served by another process).
    let pid_file = crate::profile::watcher_pid_path(session);
    if passes.watch {
        let _ = crate::private::write_atomic(&pid_file, std::process::id().to_string().as_bytes());
    }
    let result = passes_until_done(session, setup, opts, passes, around, on_report).await;
    if passes.watch {
        let _ = std::fs::remove_file(&pid_file);
    }
    if let (Err(e), Some(a)) = (&result, around.alerts)
        && !opts.dry_run
    {
        a.ended(e.class(), &e.to_string(), Some(&setup.plugins))
            .await;
    }
    result
}

async fn passes_until_done(
    session: &Session,
    setup: &SyncSetup,
    opts: &SyncOptions,
    passes: Passes,
    around: Around<'_>,
    mut on_report: impl FnMut(&RunReport),
) -> Result<(), WatchError> {
    let alerts = around.alerts;
    let stop = StopSignal::listen();
    let Some(mut engine) = prepare(session, setup, passes.watch, &stop).await? else {
        return Ok(());
    };
    let interval = Duration::from_secs(setup.settings.watch_interval_secs);
    // A watch outlives outages: what passes is waited out; only what needs a person ends it.
    let passing = |class: ErrorClass| passes.watch && class.retryable();
    let mut done = 0u64;
    let mut rerun = false;
    loop {
        let ctx = serde_json::json!({
            "profile": session.profile, "pass": done + 1, "dry_run": opts.dry_run,
            "full": opts.full, "watch": passes.watch,
        });
        if !opts.dry_run {
            asked_records(&mut engine, setup, opts, &mut on_report).await?;
        }
        let report = match pass(&mut engine, setup, opts, ctx, passes.quiet).await {
            Ok(r) => r,
            Err(SyncError::Api(e)) if passing(e.class) => {
                if let Some(a) = alerts
                    && e.class == ErrorClass::RateDaily
                {
                    a.ended(Some(e.class), &e.to_string(), Some(&setup.plugins))
                        .await;
                }
                crate::logs::warn(format!(
                    "the pass stopped: {e}; the next one starts in {} s",
                    interval.as_secs()
                ));
                if stop.while_waiting(interval).await {
                    return Ok(());
                }
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        on_report(&report);
        log_pass(&session.profile, done + 1, &report);
        if let Some(a) = alerts {
            a.after_pass(&report, &setup.plugins).await;
        }
        if report.interrupted {
            return Ok(());
        }
        if !report.schema_moved.is_empty() {
            // What the engine knows of both schemas is read again, so that the next pass
            // plans against the fields and record types that are there now. A pass the
            // change stopped is run again at once, once.
            let Some(fresh) = prepare(session, setup, passes.watch, &stop).await? else {
                return Ok(());
            };
            engine = fresh;
            if report.stopped.is_some() && !rerun {
                rerun = true;
                continue;
            }
        }
        rerun = false;
        done += 1;
        if let (Some(class), Some(why)) = (report.stopped_class, &report.stopped)
            && !passing(class)
        {
            return Err(WatchError::Stopped {
                reason: why.clone(),
                class,
            });
        }
        if !passes.watch || passes.limit.is_some_and(|n| done >= n) {
            return Ok(());
        }
        if stop.until_next(interval, around.wake).await {
            return Ok(());
        }
    }
}

/// Records the sync health page asked to sync now, synced before the pass as `sync --record`
/// syncs them; the asks are done when that pass ends.
async fn asked_records(
    engine: &mut Engine<'_>,
    setup: &SyncSetup,
    opts: &SyncOptions,
    on_report: &mut impl FnMut(&RunReport),
) -> Result<(), WatchError> {
    use crate::sync::ledger_asks::AskKind;
    let asked = setup.ledger.asked(AskKind::Sync).map_err(SyncError::from)?;
    if asked.is_empty() {
        return Ok(());
    }
    let records = SyncOptions {
        records: asked
            .iter()
            .map(|(_, object, id)| (object.clone(), id.clone()))
            .collect(),
        objects: opts.objects.clone(),
        ..Default::default()
    };
    // A bad ask (a record gone since) must not wedge the watcher: it is said and dropped; an
    // API failure shows again in the pass that follows.
    match engine.run(&records).await {
        Ok(report) => on_report(&report),
        Err(e) => crate::logs::warn(format!("the records asked from the sync health page: {e}")),
    }
    setup
        .ledger
        .asks_done(AskKind::Sync, &asked)
        .map_err(SyncError::from)?;
    Ok(())
}

/// The pass's summary line for a log shipper (`--log-format json`).
fn log_pass(profile: &str, pass: u64, report: &RunReport) {
    let sum = |f: fn(&crate::sync::report::Counts) -> u64| -> u64 {
        report.directions.values().map(f).sum()
    };
    let calls = |p: &str| report.calls.get(p).copied().unwrap_or(0);
    crate::logs::pass(&crate::logs::PassSummary {
        profile,
        pass,
        dry_run: report.dry_run,
        seconds: report.seconds,
        pulled: sum(|c| c.pulled),
        created: sum(|c| c.created),
        updated: sum(|c| c.updated),
        failed: sum(|c| c.failed),
        echoes: sum(|c| c.echoes),
        calls_hubspot: calls("hubspot"),
        calls_salesforce: calls("salesforce"),
        errors: serde_json::to_string(&report.errors_by_class).unwrap_or_default(),
        stopped: report.stopped.as_deref(),
        stopped_class: report.stopped_class.map(|c| c.as_str()),
        interrupted: report.interrupted,
    });
}
