//! Sync progress for people: one line per direction with its counts and the budget left on
//! both sides — live bars on a terminal, a plain log line every few seconds otherwise.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::report::Counts;
use crate::budget::Budget;

const LOG_EVERY: Duration = Duration::from_secs(5);

pub struct SyncProgress {
    multi: Option<MultiProgress>,
    bars: Mutex<HashMap<String, ProgressBar>>,
    last_log: Mutex<Instant>,
    budgets: (Arc<Budget>, Arc<Budget>),
}

fn line(direction: &str, c: &Counts) -> String {
    format!(
        "{direction:<24} pulled {:>7}  created {:>6}  updated {:>6}  same {:>6}  echoes {:>6}  skipped {:>5}  failed {:>5}",
        c.pulled, c.created, c.updated, c.unchanged, c.echoes, c.skipped, c.failed
    )
}

impl SyncProgress {
    /// Bars when stderr is a terminal (and `quiet` is off), log lines otherwise.
    pub fn new(hubspot: Arc<Budget>, salesforce: Arc<Budget>, quiet: bool) -> SyncProgress {
        let multi = (!quiet && std::io::stderr().is_terminal())
            .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        SyncProgress {
            multi,
            bars: Mutex::new(HashMap::new()),
            last_log: Mutex::new(Instant::now()),
            budgets: (hubspot, salesforce),
        }
    }

    fn budget_line(&self) -> String {
        let (h, s) = (self.budgets.0.report(), self.budgets.1.report());
        format!(
            "calls this run: HubSpot {} / Salesforce {} — budget left today: HubSpot {} / Salesforce {}",
            h.used_today,
            s.used_today,
            self.budgets.0.left_today(),
            self.budgets.1.left_today()
        )
    }

    /// Show the engine's next passes: one progress per pass, fed after every batch.
    pub fn attach(engine: &mut super::engine::Engine<'_>, quiet: bool) -> Arc<SyncProgress> {
        let progress = Arc::new(SyncProgress::new(
            engine.hs.transport.budget.clone(),
            engine.sf.transport.budget.clone(),
            quiet,
        ));
        let p = progress.clone();
        engine.on_progress(Box::new(move |d, c, _| p.update(d, c)));
        progress
    }

    pub fn update(&self, direction: &str, counts: &Counts) {
        match &self.multi {
            Some(multi) => {
                let mut bars = self.bars.lock().unwrap_or_else(|e| e.into_inner());
                let budget = bars
                    .entry("~budget".into())
                    .or_insert_with(|| {
                        let b = multi.add(ProgressBar::new_spinner());
                        b.set_style(
                            ProgressStyle::with_template("  {msg}")
                                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                        );
                        b
                    })
                    .clone();
                let bar = bars.entry(direction.to_string()).or_insert_with(|| {
                    let b = multi.insert_before(&budget, ProgressBar::new_spinner());
                    b.set_style(
                        ProgressStyle::with_template("{spinner} {msg}")
                            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                    );
                    b.enable_steady_tick(Duration::from_millis(120));
                    b
                });
                bar.set_message(line(direction, counts));
                budget.set_message(self.budget_line());
            }
            None => {
                let mut last = self.last_log.lock().unwrap_or_else(|e| e.into_inner());
                if last.elapsed() >= LOG_EVERY {
                    *last = Instant::now();
                    crate::logs::note(format!(
                        "sync: {} | {}",
                        line(direction, counts),
                        self.budget_line()
                    ));
                }
            }
        }
    }

    pub fn finish(&self) {
        let bars = self.bars.lock().unwrap_or_else(|e| e.into_inner());
        for b in bars.values() {
            b.finish();
        }
    }
}
