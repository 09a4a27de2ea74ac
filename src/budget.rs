//! API budgets: client-side pacing so that a lone hubforce never sees a 429, daily quotas
//! that pause work when spent, and attribution of every call to a caller tag.
//!
//! HubSpot: a rolling ten-second window (tier limit, corrected by `X-HubSpot-RateLimit-*`),
//! the search API's own per-second window, and the daily quota. Salesforce: the daily
//! allocation (edition base + per-licence × seats) capped by the profile's share, corrected
//! by `Sforce-Limit-Info`.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveTime, Utc};
use reqwest::header::HeaderMap;
use serde::Serialize;

use crate::error::{ApiError, ErrorClass, Provider};

/// Which limit a request draws on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallKind {
    Normal,
    /// HubSpot CRM search: its own per-second limit, outside the ten-second window.
    Search,
}

#[derive(Debug, Clone)]
pub struct BudgetConfig {
    pub provider: Provider,
    /// Requests per window (HubSpot burst); None for no short-window pacing.
    pub window_max: Option<u32>,
    pub window: Duration,
    /// HubSpot search requests per second.
    pub search_per_second: Option<u32>,
    /// Calls hubforce may make per day (HubSpot daily quota; Salesforce allocation × share).
    pub daily_max: u64,
    /// Calls in flight at once.
    pub max_in_flight: usize,
}

#[derive(Debug, Default)]
struct State {
    window: VecDeque<Slot>,
    search: VecDeque<Slot>,
    next_ticket: u64,
    day_start: Option<DateTime<Utc>>,
    used_today: u64,
    /// The provider's own view: (used, max) from Sforce-Limit-Info or HubSpot daily headers.
    provider_daily: Option<(u64, u64)>,
    /// Window size learned from `X-HubSpot-RateLimit-Max`.
    learned_window_max: Option<u32>,
    by_caller: BTreeMap<String, u64>,
    caller_caps: BTreeMap<String, u64>,
    /// Calls per caller since the pass began, and the callers' caps per pass (plugins).
    by_caller_pass: BTreeMap<String, u64>,
    caller_pass_caps: BTreeMap<String, u64>,
    /// Every call since the process began, by where it was made from (never reset, so that
    /// a pass's share is the difference of two readings).
    by_place: BTreeMap<CallPlace, u64>,
}

pub struct Budget {
    pub config: BudgetConfig,
    state: Mutex<State>,
    in_flight: tokio::sync::Semaphore,
}

/// A snapshot for `hubforce status` and Lua's `budget` module.
#[derive(Debug, Clone, Serialize)]
pub struct BudgetReport {
    pub provider: Provider,
    pub used_today: u64,
    pub daily_max: u64,
    pub provider_used: Option<u64>,
    pub provider_max: Option<u64>,
    pub window_max: Option<u32>,
    pub by_caller: BTreeMap<String, u64>,
}

/// One call's place in a window. It is stamped when sent and stamped again when the answer
/// arrives: the provider counted the call somewhere in between, so only the later stamp is
/// safe to expire from (requests queued in flight otherwise overrun the server's window).
#[derive(Debug, Clone, Copy)]
struct Slot {
    ticket: u64,
    at: Instant,
}

/// Proof of an acquired call; hand it back with [`Budget::complete`] when the answer came.
#[derive(Debug, Clone, Copy)]
pub struct Ticket {
    id: u64,
    search: bool,
}

fn prune(q: &mut VecDeque<Slot>, now: Instant, window: Duration) {
    q.retain(|s| now.duration_since(s.at) < window);
}

fn next_midnight(now: DateTime<Utc>) -> DateTime<Utc> {
    (now.date_naive() + chrono::Days::new(1))
        .and_time(NaiveTime::MIN)
        .and_utc()
}

impl Budget {
    pub fn new(config: BudgetConfig) -> Budget {
        Budget {
            in_flight: tokio::sync::Semaphore::new(config.max_in_flight.max(1)),
            config,
            state: Mutex::new(State::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Cap one caller's calls per day (a plugin's declared share).
    pub fn set_caller_cap(&self, caller: &str, per_day: u64) {
        self.lock().caller_caps.insert(caller.to_string(), per_day);
    }

    /// A plugin's caps: per day when its manifest declares a share, and per pass always.
    pub fn set_caller_caps(&self, caller: &str, per_day: Option<u64>, per_pass: u64) {
        let mut st = self.lock();
        match per_day {
            Some(cap) => st.caller_caps.insert(caller.to_string(), cap),
            None => st.caller_caps.remove(caller),
        };
        st.caller_pass_caps.insert(caller.to_string(), per_pass);
    }

    /// A sync pass begins: per-pass caps count from zero again.
    pub fn start_pass(&self) {
        self.lock().by_caller_pass.clear();
    }

    fn pass_cap_spent(&self, provider: Provider, caller: &str, cap: u64) -> ApiError {
        let plugin = caller.strip_prefix("plugin:").unwrap_or(caller);
        ApiError::new(
            provider,
            ErrorClass::RateDaily,
            format!(
                "{caller} has made its {cap} {} calls of this pass",
                provider.label()
            ),
        )
        .with_code("PLUGIN_CALLS_PER_PASS")
        .with_hint(format!(
            "its calls resume next pass; if it needs more, raise limits.calls_per_pass in plugins/{plugin}/plugin.toml (or plugin_limits.{plugin}.calls_per_pass in hubforce.toml)"
        ))
    }

    fn daily_spent(&self, provider: Provider, message: String) -> ApiError {
        let now = Utc::now();
        let mut e = ApiError::new(provider, ErrorClass::RateDaily, message).with_hint(format!(
            "work pauses until the quota resets ({} UTC); raise the budget in hubforce.toml if this is too tight",
            next_midnight(now).format("%Y-%m-%d %H:%M")
        ));
        e.retry_after = (next_midnight(now) - now).to_std().ok();
        e
    }

    /// Take one call from the budget, waiting as long as pacing requires. A spent daily
    /// budget is an error (`rate.daily`, with the time until reset), not a wait.
    /// Count `used` calls already made today (by earlier processes, from the request log),
    /// so that a new run does not start with a fresh allocation.
    pub fn preload_today(&self, used: u64) {
        let mut st = self.lock();
        let today = Utc::now().date_naive().and_time(NaiveTime::MIN).and_utc();
        st.day_start = Some(today);
        st.used_today = st.used_today.max(used);
    }

    /// A place among the calls in flight, held while one is sent and answered (not while
    /// a retry waits).
    pub async fn in_flight(&self) -> Option<tokio::sync::SemaphorePermit<'_>> {
        // The semaphore is never closed; None would only mean "go on unbounded".
        self.in_flight.acquire().await.ok()
    }

    /// Calls an earlier process made moments ago (how long ago each was answered, and
    /// whether it was a search) still fill the provider's short windows: pace as if this
    /// process had made them, so that back-to-back commands do not meet a 429.
    pub fn preload_window(&self, recent: &[(Duration, bool)]) {
        let mut st = self.lock();
        let now = Instant::now();
        for &(ago, search) in recent {
            let Some(at) = now.checked_sub(ago) else {
                continue;
            };
            let ticket = st.next_ticket;
            st.next_ticket += 1;
            let q = if search && self.config.search_per_second.is_some() {
                &mut st.search
            } else {
                &mut st.window
            };
            q.push_back(Slot { ticket, at });
        }
    }

    pub async fn acquire(&self, kind: CallKind, caller: &str) -> Result<Ticket, ApiError> {
        let provider = self.config.provider;
        loop {
            let wait = {
                let mut st = self.lock();
                let now_utc = Utc::now();
                let today = now_utc.date_naive().and_time(NaiveTime::MIN).and_utc();
                if st.day_start.is_some_and(|d| d != today) {
                    st.used_today = 0;
                    st.by_caller.clear();
                    st.provider_daily = None;
                }
                st.day_start = Some(today);
                if st.used_today >= self.config.daily_max {
                    return Err(self.daily_spent(
                        provider,
                        format!(
                            "hubforce's daily budget of {} {} calls is spent",
                            self.config.daily_max,
                            provider.label()
                        ),
                    ));
                }
                if let Some((used, max)) = st.provider_daily
                    && used >= max
                {
                    return Err(self.daily_spent(
                        provider,
                        format!(
                            "the {} daily quota is spent ({used}/{max})",
                            provider.label()
                        ),
                    ));
                }
                if let Some(cap) = st.caller_caps.get(caller).copied()
                    && st.by_caller.get(caller).copied().unwrap_or(0) >= cap
                {
                    return Err(self.daily_spent(
                        provider,
                        format!(
                            "{caller}'s daily budget of {cap} {} calls is spent",
                            provider.label()
                        ),
                    ));
                }
                if let Some(cap) = st.caller_pass_caps.get(caller).copied()
                    && st.by_caller_pass.get(caller).copied().unwrap_or(0) >= cap
                {
                    return Err(self.pass_cap_spent(provider, caller, cap));
                }
                let now = Instant::now();
                let (queue, max, window) = match (kind, self.config.search_per_second) {
                    (CallKind::Search, Some(n)) => {
                        (&mut st.search, Some(n), Duration::from_secs(1))
                    }
                    _ => {
                        let max = st.learned_window_max.or(self.config.window_max);
                        (&mut st.window, max, self.config.window)
                    }
                };
                prune(queue, now, window);
                match max {
                    Some(m) if queue.len() >= m as usize => {
                        // Wait until the oldest call leaves the window.
                        queue
                            .iter()
                            .map(|s| s.at)
                            .min()
                            .map(|t| window.saturating_sub(now.duration_since(t)))
                            .unwrap_or_default()
                            + Duration::from_millis(2)
                    }
                    _ => {
                        let id = st.next_ticket;
                        st.next_ticket += 1;
                        let search =
                            kind == CallKind::Search && self.config.search_per_second.is_some();
                        let q = if search {
                            &mut st.search
                        } else {
                            &mut st.window
                        };
                        q.push_back(Slot {
                            ticket: id,
                            at: now,
                        });
                        st.used_today += 1;
                        *st.by_place.entry(CallPlace::here(caller)).or_default() += 1;
                        *st.by_caller.entry(caller.to_string()).or_default() += 1;
                        if st.caller_pass_caps.contains_key(caller) {
                            *st.by_caller_pass.entry(caller.to_string()).or_default() += 1;
                        }
                        return Ok(Ticket { id, search });
                    }
                }
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// The call was never sent (no token, a refused URL): give it back, so that what the
    /// budget counts is what the provider served.
    pub fn cancel(&self, ticket: Ticket, caller: &str) {
        let mut st = self.lock();
        let q = if ticket.search {
            &mut st.search
        } else {
            &mut st.window
        };
        q.retain(|s| s.ticket != ticket.id);
        st.used_today = st.used_today.saturating_sub(1);
        if let Some(n) = st.by_place.get_mut(&CallPlace::here(caller)) {
            *n = n.saturating_sub(1);
        }
        let State {
            by_caller,
            by_caller_pass,
            ..
        } = &mut *st;
        for counts in [by_caller, by_caller_pass] {
            if let Some(n) = counts.get_mut(caller) {
                *n = n.saturating_sub(1);
            }
        }
    }

    /// The call's answer arrived: restamp its slot (see [`Slot`]).
    pub fn complete(&self, ticket: Ticket) {
        let mut st = self.lock();
        let q = if ticket.search {
            &mut st.search
        } else {
            &mut st.window
        };
        if let Some(s) = q.iter_mut().find(|s| s.ticket == ticket.id) {
            s.at = Instant::now();
        }
    }

    /// Learn from a response's headers.
    pub fn observe(&self, headers: &HeaderMap) {
        let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).map(str::trim);
        let mut st = self.lock();
        match self.config.provider {
            Provider::Hubspot => {
                if let Some(max) = h("x-hubspot-ratelimit-max").and_then(|v| v.parse::<u32>().ok())
                {
                    // Never pace above what the configuration allows.
                    st.learned_window_max =
                        Some(self.config.window_max.map_or(max, |c| c.min(max)));
                }
                if let (Some(max), Some(left)) = (
                    h("x-hubspot-ratelimit-daily").and_then(|v| v.parse::<u64>().ok()),
                    h("x-hubspot-ratelimit-daily-remaining").and_then(|v| v.parse::<u64>().ok()),
                ) {
                    st.provider_daily = Some((max.saturating_sub(left), max));
                }
            }
            Provider::Salesforce => {
                if let Some(v) = h("sforce-limit-info").and_then(|v| {
                    v.split(';')
                        .find_map(|p| p.trim().strip_prefix("api-usage="))
                }) && let Some((used, max)) = v.split_once('/')
                    && let (Ok(used), Ok(max)) =
                        (used.trim().parse::<u64>(), max.trim().parse::<u64>())
                {
                    st.provider_daily = Some((used, max));
                }
            }
        }
    }

    /// Calls left in today's budget.
    pub fn left_today(&self) -> u64 {
        self.config.daily_max.saturating_sub(self.lock().used_today)
    }

    pub fn report(&self) -> BudgetReport {
        let st = self.lock();
        BudgetReport {
            provider: self.config.provider,
            used_today: st.used_today,
            daily_max: self.config.daily_max,
            provider_used: st.provider_daily.map(|p| p.0),
            provider_max: st.provider_daily.map(|p| p.1),
            window_max: st.learned_window_max.or(self.config.window_max),
            by_caller: st.by_caller.clone(),
        }
    }

    /// Every call this process made, by pair, stage and caller.
    pub fn by_place(&self) -> BTreeMap<CallPlace, u64> {
        self.lock().by_place.clone()
    }
}

/// The stage of a pass a call was made in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// Preparing the engine: describes, owners, id properties, schema.
    Setup,
    /// Reading what changed: pages, the inclusion list, deletions and merges.
    Pull,
    /// Plugins' inclusion filters.
    Include,
    /// Finding counterparts: links read back, look-ups by key, candidates.
    Match,
    /// Creates, updates, associations, activities, ids written back.
    Write,
    /// Plugins' pass hooks (`on_sync_start`, `on_sync_end`) and checks.
    Hooks,
    /// Anything outside a pass: the REPL, `hubforce api`, a check.
    #[default]
    Other,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Setup => "setup",
            Stage::Pull => "pull",
            Stage::Include => "include",
            Stage::Match => "match",
            Stage::Write => "write",
            Stage::Hooks => "hooks",
            Stage::Other => "other",
        }
    }
}

/// Where in a pass the running code is: which pair and stage (the caller tag says who).
#[derive(Debug, Clone, Default)]
struct Place {
    pair: Option<String>,
    stage: Stage,
}

tokio::task_local! {
    static PLACE: Place;
}

/// Run `work` with its calls attributed to `pair` (None: every pair, as setup is) and
/// `stage`. Futures joined inside keep it; a spawned task does not (give it its own).
pub async fn within<F: std::future::Future>(
    pair: Option<&str>,
    stage: Stage,
    work: F,
) -> F::Output {
    let place = Place {
        pair: pair.map(str::to_string),
        stage,
    };
    PLACE.scope(place, work).await
}

/// Run `work` in another stage of the same pair.
pub async fn in_stage<F: std::future::Future>(stage: Stage, work: F) -> F::Output {
    let pair = PLACE.try_with(|p| p.pair.clone()).ok().flatten();
    within(pair.as_deref(), stage, work).await
}

/// A call's pair, stage and caller.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct CallPlace {
    /// None when the call serves every pair (setup, the inclusion list).
    pub pair: Option<String>,
    pub stage: Stage,
    pub caller: String,
}

impl CallPlace {
    /// Where the running code is, for a call made under `caller`.
    pub fn here(caller: &str) -> CallPlace {
        let (pair, stage) = PLACE
            .try_with(|p| (p.pair.clone(), p.stage))
            .unwrap_or_default();
        CallPlace {
            pair,
            stage,
            caller: caller.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hubspot(window_max: u32, daily: u64) -> Budget {
        Budget::new(BudgetConfig {
            provider: Provider::Hubspot,
            window_max: Some(window_max),
            window: Duration::from_millis(300),
            search_per_second: Some(2),
            daily_max: daily,
            max_in_flight: 8,
        })
    }

    #[tokio::test]
    async fn calls_are_counted_where_they_were_made_and_given_back_there() {
        let b = hubspot(100, 100);
        let pull = |caller: &'static str| {
            let b = &b;
            within(Some("contact"), Stage::Pull, async move {
                b.acquire(CallKind::Normal, caller).await.map(|_| ())
            })
        };
        pull("sync").await.unwrap();
        pull("plugin:acme").await.unwrap();
        let write = within(Some("contact"), Stage::Pull, async {
            in_stage(Stage::Write, async {
                let t = b.acquire(CallKind::Normal, "sync").await.unwrap();
                let _kept = b.acquire(CallKind::Normal, "sync").await.unwrap();
                b.cancel(t, "sync");
            })
            .await
        });
        write.await;
        b.acquire(CallKind::Normal, "repl").await.unwrap();
        let by = b.by_place();
        let at = |pair: Option<&str>, stage, caller: &str| {
            let key = CallPlace {
                pair: pair.map(str::to_string),
                stage,
                caller: caller.to_string(),
            };
            by.get(&key).copied()
        };
        assert_eq!(at(Some("contact"), Stage::Pull, "sync"), Some(1));
        assert_eq!(at(Some("contact"), Stage::Pull, "plugin:acme"), Some(1));
        assert_eq!(at(Some("contact"), Stage::Write, "sync"), Some(1));
        assert_eq!(at(None, Stage::Other, "repl"), Some(1));
        assert_eq!(by.values().sum::<u64>(), b.report().used_today);
    }

    #[tokio::test]
    async fn searches_an_earlier_process_just_made_are_waited_out() {
        let b = hubspot(100, 100); // two searches a second
        b.preload_window(&[
            (Duration::from_millis(900), true),
            (Duration::from_millis(100), true),
            (Duration::from_secs(30), true), // long gone
        ]);
        let t0 = Instant::now();
        b.acquire(CallKind::Search, "sync").await.unwrap();
        let waited = t0.elapsed();
        assert!(
            waited >= Duration::from_millis(80) && waited < Duration::from_millis(400),
            "{waited:?}"
        );
    }

    #[tokio::test]
    async fn the_window_paces_instead_of_overrunning() {
        let b = hubspot(3, 100);
        let t0 = Instant::now();
        for _ in 0..6 {
            b.acquire(CallKind::Normal, "host").await.unwrap();
        }
        // Three fit in the first 300 ms window; the next three had to wait for it to roll.
        assert!(
            t0.elapsed() >= Duration::from_millis(290),
            "{:?}",
            t0.elapsed()
        );
        assert_eq!(b.report().by_caller["host"], 6);
    }

    #[tokio::test]
    async fn a_spent_daily_budget_is_rate_daily_with_time_to_reset() {
        let b = hubspot(100, 2);
        b.acquire(CallKind::Normal, "a").await.unwrap();
        b.acquire(CallKind::Search, "a").await.unwrap();
        let e = b.acquire(CallKind::Normal, "a").await.unwrap_err();
        assert_eq!(e.class, ErrorClass::RateDaily);
        assert!(e.retry_after.is_some());
        assert!(e.hint.contains("resets"));
    }

    #[tokio::test]
    async fn a_plugin_spends_at_most_its_calls_per_pass() {
        let b = hubspot(100, 1000);
        b.set_caller_caps("plugin:loop", None, 3);
        for _ in 0..3 {
            b.acquire(CallKind::Normal, "plugin:loop").await.unwrap();
        }
        let e = b
            .acquire(CallKind::Normal, "plugin:loop")
            .await
            .unwrap_err();
        assert_eq!(e.code.as_deref(), Some("PLUGIN_CALLS_PER_PASS"));
        assert!(e.hint.contains("calls_per_pass"), "{}", e.hint);
        b.acquire(CallKind::Normal, "host").await.unwrap();
        b.start_pass();
        b.acquire(CallKind::Normal, "plugin:loop").await.unwrap();
        assert_eq!(
            b.report().by_caller["plugin:loop"],
            4,
            "the day's count goes on"
        );
    }

    #[tokio::test]
    async fn caller_caps_and_provider_usage_stop_calls() {
        let b = hubspot(100, 1000);
        b.set_caller_cap("plugin:x", 1);
        b.acquire(CallKind::Normal, "plugin:x").await.unwrap();
        assert!(
            b.acquire(CallKind::Normal, "plugin:x")
                .await
                .unwrap_err()
                .message
                .contains("plugin:x")
        );
        b.acquire(CallKind::Normal, "host").await.unwrap();
        let sf = Budget::new(BudgetConfig {
            provider: Provider::Salesforce,
            window_max: None,
            window: Duration::from_secs(1),
            search_per_second: None,
            daily_max: 1000,
            max_in_flight: 8,
        });
        let mut h = HeaderMap::new();
        h.insert("sforce-limit-info", "api-usage=5000/5000".parse().unwrap());
        sf.observe(&h);
        assert_eq!(
            sf.acquire(CallKind::Normal, "host")
                .await
                .unwrap_err()
                .class,
            ErrorClass::RateDaily
        );
    }
}
