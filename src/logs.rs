//! What a long-running command writes to stderr besides tracing's own lines: warnings, the
//! progress of a pass, and, for a log shipper, one summary per pass. As text for a person
//! (`warning: …`), or, with `--log-format json`, one JSON object a line through the tracing
//! subscriber, so that everything on stderr is JSON.

use std::fmt::Display;
use std::sync::atomic::{AtomicBool, Ordering};

static JSON: AtomicBool = AtomicBool::new(false);

/// The log format the command was started with.
pub fn set_json(on: bool) {
    JSON.store(on, Ordering::Relaxed);
}

pub fn json() -> bool {
    JSON.load(Ordering::Relaxed)
}

/// Something safe to ignore, but worth a look.
pub fn warn(message: impl Display) {
    if json() {
        tracing::warn!(target: "hubforce", "{message}");
    } else {
        eprintln!("warning: {message}");
    }
}

/// A line a person watching the command wants (a stop asked, a pass's progress).
pub fn note(message: impl Display) {
    if json() {
        tracing::info!(target: "progress", "{message}");
    } else {
        eprintln!("{message}");
    }
}

/// One pass's summary, for a log shipper: one JSON line under the target `pass` (text logs
/// have the report on stdout instead).
#[derive(Debug, Default)]
pub struct PassSummary<'a> {
    pub profile: &'a str,
    pub pass: u64,
    pub dry_run: bool,
    pub seconds: f64,
    pub pulled: u64,
    pub created: u64,
    pub updated: u64,
    pub failed: u64,
    pub echoes: u64,
    pub calls_hubspot: u64,
    pub calls_salesforce: u64,
    /// Record errors by class, as JSON text (`{"validation":2}`).
    pub errors: String,
    pub stopped: Option<&'a str>,
    pub stopped_class: Option<&'a str>,
    pub interrupted: bool,
}

pub fn pass(s: &PassSummary<'_>) {
    if !json() {
        return;
    }
    tracing::info!(
        target: "pass",
        profile = s.profile,
        pass = s.pass,
        dry_run = s.dry_run,
        seconds = s.seconds,
        pulled = s.pulled,
        created = s.created,
        updated = s.updated,
        failed = s.failed,
        echoes = s.echoes,
        calls_hubspot = s.calls_hubspot,
        calls_salesforce = s.calls_salesforce,
        errors = s.errors.as_str(),
        stopped = s.stopped,
        stopped_class = s.stopped_class,
        interrupted = s.interrupted,
        "pass ended"
    );
}
