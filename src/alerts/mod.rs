//! Alerts: the one place where a sync that needs a person says so. After each pass (and
//! when a sync ends in an error) the conditions that hold are worked out; a new one is
//! raised — once, to the webhook and by email — and one that no longer holds is "cleared".
//! What is raised is kept in the state folder, so that a restarted watch or a cron job's
//! next `sync --once` neither repeats nor forgets it.
//!
//! Conditions: a stopping class (`auth.revoked`, `auth.client`, `auth.scope`, `rate.daily`
//! with its reset, `permission` on a whole object), a plugin that failed to load or reload,
//! record errors in a pass at or over the profile's threshold, and a field the flip
//! detector froze (cleared a flip window after it was last frozen). Plugins may add
//! context with an `on_alert` hook — a pure hook: it returns text, it cannot call an API or
//! send anything.

pub mod deliver;
pub mod state;

use std::sync::Mutex;

use chrono::Utc;
use serde::Serialize;

use crate::config::alert_settings::AlertSettings;
use crate::error::ErrorClass;
use crate::plugins::PluginSet;
use crate::session::Session;
use crate::sync::report::RunReport;
use deliver::{Email, Webhook};
use state::{AlertState, Raised};

#[derive(Debug, thiserror::Error)]
pub enum AlertError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("{path}: profile `{profile}`: alerts.webhook: {message}")]
    Webhook {
        path: String,
        profile: String,
        message: String,
    },
}

/// What is sent: a condition raised or cleared.
#[derive(Debug, Clone, Serialize)]
pub struct Alert {
    /// `raised` or `cleared`.
    pub event: &'static str,
    /// The condition (`stop.auth.revoked`, `plugin.dedupe`, `record_errors`,
    /// `frozen.contact.phone`).
    pub key: String,
    pub profile: String,
    pub title: String,
    pub detail: String,
    /// The error class, for a stop.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class: Option<&'static str>,
    /// What plugins' `on_alert` hooks added, each line prefixed by the plugin's name.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub context: Vec<String>,
    pub at: String,
}

/// A condition that holds now.
#[derive(Debug, Clone)]
pub struct Condition {
    pub key: String,
    pub title: String,
    pub detail: String,
    pub class: Option<ErrorClass>,
}

/// Classes that stop a sync until a person acts (or the day turns).
const STOPPING: [ErrorClass; 5] = [
    ErrorClass::AuthRevoked,
    ErrorClass::AuthClient,
    ErrorClass::AuthScope,
    ErrorClass::RateDaily,
    ErrorClass::Permission,
];

pub struct Alerts {
    profile: String,
    record_errors: u64,
    flip_window_hours: i64,
    webhook: Option<Webhook>,
    email: Option<Email>,
    state: Mutex<AlertState>,
}

impl Alerts {
    /// The profile's alerts, secrets resolved; None when it has no `[alerts]`. A secret that
    /// is not set, or a webhook URL that is plain http to another host, is an error: a watch
    /// that would alert nobody does not start.
    pub fn open(session: &Session) -> Result<Option<Alerts>, AlertError> {
        let profile = session.profile_config().ok();
        let Some(settings) = profile.and_then(|p| p.alerts.clone()) else {
            return Ok(None);
        };
        let flip_window_hours = profile.map_or(24, |p| p.sync.flip_window_hours);
        Self::with(session, settings, flip_window_hours).map(Some)
    }

    fn with(
        session: &Session,
        settings: AlertSettings,
        flip_window_hours: i64,
    ) -> Result<Alerts, AlertError> {
        let webhook = match &settings.webhook {
            Some(r) => {
                let url = session.config.resolve("alerts.webhook", r)?;
                // Plain http only to loopback, as for tokens: the URL is a credential.
                crate::config::token_safe_url(url.expose()).map_err(|_| AlertError::Webhook {
                    path: session.config.path.display().to_string(),
                    profile: session.profile.clone(),
                    message: "the URL must be https (plain http only to a loopback address)".into(),
                })?;
                Some(Webhook {
                    url,
                    format: settings.webhook_format,
                })
            }
            None => None,
        };
        let email = match settings.email {
            Some(s) => {
                let password = match &s.password {
                    Some(r) => Some(session.config.resolve("alerts.email.password", r)?),
                    None => None,
                };
                Some(Email {
                    settings: s,
                    password,
                })
            }
            None => None,
        };
        let path = session
            .config
            .state_dir(&session.profile)
            .join("alerts.json");
        let mut alerts = Alerts::without_channels(
            &session.profile,
            settings.record_errors,
            flip_window_hours,
            &path,
        );
        (alerts.webhook, alerts.email) = (webhook, email);
        Ok(alerts)
    }

    /// Alerts that send nowhere (what the state decides is all there is), kept at `path`.
    fn without_channels(
        profile: &str,
        record_errors: u64,
        flip_window_hours: i64,
        path: &std::path::Path,
    ) -> Alerts {
        Alerts {
            profile: profile.to_string(),
            record_errors,
            flip_window_hours,
            webhook: None,
            email: None,
            state: Mutex::new(AlertState::load(path)),
        }
    }

    /// After a pass: raise what holds, clear what held and no longer does. A dry run says
    /// nothing; a pass stopped by a signal only raises (it did not see everything).
    pub async fn after_pass(&self, report: &RunReport, plugins: &PluginSet) -> Vec<Alert> {
        if report.dry_run {
            return Vec::new();
        }
        let mut now = plugin_conditions(plugins);
        now.extend(report_conditions(report, self.record_errors));
        let complete = !report.interrupted && report.stopped.is_none();
        self.settle(now, complete, Some(plugins)).await
    }

    /// The sync ended in an error (a setup that failed, a grant refused, a plugin that does
    /// not load): raise it as the condition of its class.
    pub async fn ended(
        &self,
        class: Option<ErrorClass>,
        message: &str,
        plugins: Option<&PluginSet>,
    ) -> Vec<Alert> {
        let condition = match class {
            Some(c) if STOPPING.contains(&c) || c == ErrorClass::Plugin => {
                stop_condition(c, message)
            }
            _ => Condition {
                key: "stop.error".into(),
                title: "the sync stopped on an error".into(),
                detail: message.to_string(),
                class,
            },
        };
        let mut now = vec![condition];
        if let Some(p) = plugins {
            now.extend(plugin_conditions(p));
        }
        self.settle(now, false, plugins).await
    }

    /// Send what changed and keep the state; returns what was sent. `complete`: the pass saw
    /// everything, so what it did not see holds no more.
    async fn settle(
        &self,
        now: Vec<Condition>,
        complete: bool,
        plugins: Option<&PluginSet>,
    ) -> Vec<Alert> {
        let at = Utc::now();
        let window = chrono::Duration::hours(self.flip_window_hours);
        let (raise, clear) = {
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            let mut raise = Vec::new();
            for c in &now {
                match state.active.get_mut(&c.key) {
                    Some(r) => {
                        r.last_seen = at;
                        if !r.delivered {
                            raise.push(c.clone());
                        }
                    }
                    None => {
                        state.active.insert(
                            c.key.clone(),
                            Raised {
                                title: c.title.clone(),
                                raised_at: at,
                                last_seen: at,
                                delivered: false,
                            },
                        );
                        raise.push(c.clone());
                    }
                }
            }
            let mut clear = Vec::new();
            if complete {
                state.active.retain(|key, r| {
                    // A frozen field clears when the detector would let it go.
                    let gone = !now.iter().any(|c| &c.key == key)
                        && (!key.starts_with("frozen.") || at - r.last_seen >= window);
                    if gone {
                        clear.push((key.clone(), r.clone()));
                    }
                    !gone
                });
            }
            (raise, clear)
        };
        let mut sent = Vec::new();
        for c in raise {
            let alert = self.alert("raised", &c.key, &c.title, &c.detail, c.class, plugins);
            let delivered = self.send(&alert).await;
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(r) = state.active.get_mut(&c.key) {
                r.delivered = delivered;
            }
            sent.push(alert);
        }
        for (key, r) in clear {
            let detail = format!(
                "raised {} and held until now: {}",
                r.raised_at.format("%Y-%m-%d %H:%M UTC"),
                r.title
            );
            let alert = self.alert("cleared", &key, &r.title, &detail, None, plugins);
            self.send(&alert).await;
            sent.push(alert);
        }
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(e) = state.save() {
            crate::logs::warn(format!("the alerts' state was not saved: {e}"));
        }
        sent
    }

    fn alert(
        &self,
        event: &'static str,
        key: &str,
        title: &str,
        detail: &str,
        class: Option<ErrorClass>,
        plugins: Option<&PluginSet>,
    ) -> Alert {
        let mut alert = Alert {
            event,
            key: key.to_string(),
            profile: self.profile.clone(),
            title: title.to_string(),
            detail: detail.to_string(),
            class: class.map(ErrorClass::as_str),
            context: Vec::new(),
            at: Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        };
        if let Some(p) = plugins {
            let value = serde_json::to_value(&alert).unwrap_or_default();
            let (context, errors) = p.alert_context(&value);
            alert.context = context;
            for e in errors {
                crate::logs::warn(e);
            }
        }
        alert
    }

    /// To every channel; true when all took it. A channel that fails is a warning: the
    /// alert is sent again after the next pass.
    async fn send(&self, alert: &Alert) -> bool {
        let mut all = true;
        if let Some(w) = &self.webhook
            && let Err(e) = deliver::webhook(w, alert).await
        {
            crate::logs::warn(format!("alert `{}`: {e}", alert.key));
            all = false;
        }
        if let Some(m) = &self.email
            && let Err(e) = deliver::email(m, alert).await
        {
            crate::logs::warn(format!("alert `{}`: {e}", alert.key));
            all = false;
        }
        if all {
            crate::logs::note(format!(
                "alert {}: {} ({})",
                alert.event, alert.title, alert.key
            ));
        }
        all
    }
}

fn stop_condition(class: ErrorClass, message: &str) -> Condition {
    let title = match class {
        ErrorClass::AuthRevoked => "a grant was refused: reconnect",
        ErrorClass::AuthClient => "the app's credentials were refused",
        ErrorClass::AuthScope => "a scope the sync needs is missing",
        ErrorClass::RateDaily => "the daily API allocation is spent: the sync waits for the reset",
        ErrorClass::Permission => "the connected user may not read or write an object",
        ErrorClass::Plugin => "a plugin failed and the sync did not run",
        _ => "the sync stopped",
    };
    Condition {
        key: format!("stop.{}", class.as_str()),
        title: title.into(),
        detail: message.to_string(),
        class: Some(class),
    }
}

/// A plugin with no good generation, or whose last reload failed.
fn plugin_conditions(plugins: &PluginSet) -> Vec<Condition> {
    plugins
        .list()
        .into_iter()
        .filter_map(|p| {
            let error = p.error?;
            Some(Condition {
                key: format!("plugin.{}", p.name),
                title: format!("plugin `{}` is broken ({})", p.name, p.status),
                detail: error,
                class: Some(ErrorClass::Plugin),
            })
        })
        .collect()
}

fn report_conditions(report: &RunReport, threshold: u64) -> Vec<Condition> {
    let mut out = Vec::new();
    if let (Some(class), Some(why)) = (report.stopped_class, &report.stopped)
        && STOPPING.contains(&class)
    {
        out.push(stop_condition(class, why));
    }
    let errors: u64 = report.errors_by_class.values().sum();
    if errors >= threshold {
        let by_class = report
            .errors_by_class
            .iter()
            .map(|(c, n)| format!("{c} {n}"))
            .collect::<Vec<_>>()
            .join(", ");
        out.push(Condition {
            key: "record_errors".into(),
            title: format!("{errors} records failed in one pass (the threshold is {threshold})"),
            detail: format!(
                "by class: {by_class}. `hubforce errors` groups them with what to do; `hubforce resync` retries them"
            ),
            class: None,
        });
    }
    for (field, n) in &report.frozen_fields {
        out.push(Condition {
            key: format!("frozen.{field}"),
            title: format!("{field} keeps flipping: the flip detector left it alone"),
            detail: format!(
                "{n} records: something keeps undoing the writes to {field} (a workflow, another integration, a rule on each side). `hubforce explain` shows each record's history"
            ),
            class: None,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alerts(dir: &std::path::Path, window_hours: i64) -> Alerts {
        Alerts::without_channels("p", 3, window_hours, &dir.join("alerts.json"))
    }

    fn report(errors: u64, frozen: &[&str]) -> RunReport {
        let mut r = RunReport::default();
        if errors > 0 {
            r.errors_by_class.insert("validation".into(), errors);
        }
        for f in frozen {
            r.frozen_fields.insert(f.to_string(), 1);
        }
        r
    }

    async fn pass(a: &Alerts, r: &RunReport) -> Vec<(String, String)> {
        let now = report_conditions(r, a.record_errors);
        let complete = !r.interrupted && r.stopped.is_none();
        a.settle(now, complete, None)
            .await
            .into_iter()
            .map(|x| (x.event.to_string(), x.key))
            .collect()
    }

    fn temp(name: &str) -> std::path::PathBuf {
        std::env::temp_dir().join(format!("hubforce-alerts-{name}-{}", std::process::id()))
    }

    #[tokio::test]
    async fn a_condition_is_raised_once_until_it_clears_even_across_restarts() {
        let dir = temp("once");
        let raised = vec![("raised".to_string(), "record_errors".to_string())];
        assert_eq!(pass(&alerts(&dir, 24), &report(5, &[])).await, raised);
        assert!(pass(&alerts(&dir, 24), &report(9, &[])).await.is_empty());
        // A pass a signal cut short saw too little to clear anything.
        let mut cut = report(0, &[]);
        cut.interrupted = true;
        assert!(pass(&alerts(&dir, 24), &cut).await.is_empty());
        let cleared = vec![("cleared".to_string(), "record_errors".to_string())];
        assert_eq!(pass(&alerts(&dir, 24), &report(2, &[])).await, cleared);
        assert!(pass(&alerts(&dir, 24), &report(0, &[])).await.is_empty());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join("alerts.json"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn a_frozen_field_clears_only_a_flip_window_after_it_was_last_frozen() {
        let dir = temp("frozen");
        let a = alerts(&dir, 24);
        let sent = pass(&a, &report(0, &["contact.phone"])).await;
        assert_eq!(sent, vec![("raised".into(), "frozen.contact.phone".into())]);
        // Passes that do not touch the field do not clear it while the window runs.
        assert!(pass(&a, &report(0, &[])).await.is_empty());
        // A window of 0 hours has run out at once.
        let a = alerts(&dir, 0);
        let sent = pass(&a, &report(0, &[])).await;
        assert_eq!(
            sent,
            vec![("cleared".into(), "frozen.contact.phone".into())]
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn a_stopping_class_is_raised_and_a_stop_that_passes_is_not() {
        let dir = temp("stop");
        let a = alerts(&dir, 24);
        let mut r = report(0, &[]);
        r.stopped = Some("the daily allocation is spent; work pauses until 00:00 UTC".into());
        r.stopped_class = Some(ErrorClass::RateDaily);
        assert_eq!(
            pass(&a, &r).await,
            vec![("raised".into(), "stop.rate.daily".into())]
        );
        r.stopped_class = Some(ErrorClass::Transient);
        // A transient stop is waited out: no alert, and it saw too little to clear.
        assert!(pass(&a, &r).await.is_empty());
        let sent = pass(&a, &report(0, &[])).await;
        assert_eq!(sent, vec![("cleared".into(), "stop.rate.daily".into())]);
        let _ = std::fs::remove_dir_all(dir);
    }
}
