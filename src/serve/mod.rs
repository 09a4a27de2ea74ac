//! `hubforce serve`: the sync health page — overview, sync health cards, a record's story,
//! plugins, and `/metrics` — over the state the CLI reads (ledger, request log, tokens'
//! status, plugins). Server-rendered HTML (maud escapes every value), charts as inline SVG.
//!
//! It runs beside a watcher (`sync --watch --serve`), which then picks up the page's asks at
//! once, or on its own: then it only reads, and its buttons queue asks in the ledger for
//! whichever watcher runs next. Loopback only, unless `--listen` names another address, and
//! then with an access token on every request (see `guard`).

mod chart;
pub mod guard;
mod health;
mod metrics;
mod pages;
mod record;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::routing::{get, post};
use tokio::sync::Notify;

use crate::profile::SyncSetup;
use crate::secret::Secret;
use crate::session::Session;
use crate::sync::report::RunReport;
use guard::Guard;

pub use metrics::Counters;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(
        "hubforce serve: HUBFORCE_SERVE_TOKEN is {len} characters; a token that guards the page on the network needs at least 16 (unset it to have one generated)"
    )]
    WeakToken { len: usize },
    #[error("hubforce serve: cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("hubforce serve: {0}")]
    Serve(std::io::Error),
}

/// Where the watcher is, for the page's buttons.
pub enum Watcher {
    /// In this process: an ask wakes it at once.
    Here(Arc<Notify>),
    /// Another process, or none: asks wait in the ledger.
    Elsewhere,
}

/// What every page reads.
pub struct Shared {
    pub session: Arc<Session>,
    pub setup: Arc<SyncSetup>,
    pub guard: Guard,
    pub watcher: Watcher,
    /// Passes of the watcher in this process, for `/metrics`.
    pub counters: Mutex<Counters>,
}

impl Shared {
    /// A pass of the watcher in this process ended.
    pub fn pass_ended(&self, report: &RunReport) {
        self.counters
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .add(report);
    }

    /// Wake the watcher for an ask; whether one is here to wake.
    fn wake(&self) -> bool {
        match &self.watcher {
            Watcher::Here(n) => {
                n.notify_one();
                true
            }
            Watcher::Elsewhere => false,
        }
    }
}

/// The access token an address needs: none on loopback; else HUBFORCE_SERVE_TOKEN, or one
/// generated (true: the caller prints it once).
pub fn access_token(addr: SocketAddr) -> Result<Option<(Secret, bool)>, ServeError> {
    if addr.ip().is_loopback() {
        return Ok(None);
    }
    match std::env::var("HUBFORCE_SERVE_TOKEN") {
        Ok(t) if t.len() >= 16 => Ok(Some((Secret::new(t), false))),
        Ok(t) => Err(ServeError::WeakToken { len: t.len() }),
        Err(_) => Ok(Some((guard::random_token(), true))),
    }
}

pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/", get(pages::overview))
        .route("/health", get(health::cards))
        .route("/health/{card}", get(health::card))
        .route("/health/{card}/export.csv", get(health::export))
        .route("/health/{card}/resync", post(health::resync_card))
        .route("/record", get(record::search))
        .route("/record/resync", post(record::resync))
        .route("/record/sync", post(record::sync_now))
        .route("/plugins", get(pages::plugins))
        .route("/metrics", get(metrics::metrics))
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            guard::require_token,
        ))
        .with_state(shared)
}

/// Bind `addr`; the bound address (port 0 picks one).
pub async fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener, ServeError> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })
}

/// Serve until `stop` resolves.
pub async fn run(
    shared: Arc<Shared>,
    listener: tokio::net::TcpListener,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    axum::serve(listener, router(shared))
        .with_graceful_shutdown(stop)
        .await
        .map_err(ServeError::Serve)
}
