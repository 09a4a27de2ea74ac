//! Request and token-grant counters for the control API's `GET /stats`.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde_json::{Value, json};

#[derive(Default)]
pub struct Stats {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// (provider, "METHOD /route/pattern", status) → count
    requests: BTreeMap<(&'static str, String, u16), u64>,
    /// (provider, grant type) → count
    grants: BTreeMap<(&'static str, String), u64>,
}

impl Stats {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn record_request(&self, provider: &'static str, route: String, status: u16) {
        *self
            .lock()
            .requests
            .entry((provider, route, status))
            .or_default() += 1;
    }

    pub fn record_grant(&self, provider: &'static str, grant: &str) {
        *self
            .lock()
            .grants
            .entry((provider, grant.to_string()))
            .or_default() += 1;
    }

    pub fn clear(&self) {
        *self.lock() = Inner::default();
    }

    /// `{"requests": {provider: {"total", "by_status", "by_route": {route: {status: n}}}},
    ///   "token_grants": {provider: {grant: n}}}`
    pub fn to_json(&self) -> Value {
        let inner = self.lock();
        let mut requests = serde_json::Map::new();
        for provider in ["hubspot", "salesforce"] {
            let mut total = 0u64;
            let mut by_status: BTreeMap<String, u64> = BTreeMap::new();
            let mut by_route: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
            for ((p, route, status), n) in inner.requests.iter() {
                if *p != provider {
                    continue;
                }
                total += n;
                *by_status.entry(status.to_string()).or_default() += n;
                *by_route
                    .entry(route.clone())
                    .or_default()
                    .entry(status.to_string())
                    .or_default() += n;
            }
            requests.insert(
                provider.into(),
                json!({"total": total, "by_status": by_status, "by_route": by_route}),
            );
        }
        let mut grants = serde_json::Map::new();
        for provider in ["hubspot", "salesforce"] {
            let m: BTreeMap<&str, u64> = inner
                .grants
                .iter()
                .filter(|((p, _), _)| *p == provider)
                .map(|((_, g), n)| (g.as_str(), *n))
                .collect();
            grants.insert(provider.into(), json!(m));
        }
        json!({"requests": requests, "token_grants": grants})
    }
}
