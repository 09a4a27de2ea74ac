//! The two-sided API simulator: a HubSpot-like and a Salesforce-like API on loopback.
//!
//! It is the fixture of every test and benchmark and the embedded default of `hubforce demo`.
//! It shares no code with hubforce's API clients (not even types), so a misreading of an API
//! cannot hide on both sides. Faithfulness targets: `../shared/reference/*.md`.
//!
//! Four listeners, all on 127.0.0.1: the HubSpot API (OAuth + CRM on one host, like
//! api.hubapi.com), the Salesforce login host (OAuth, identity), the Salesforce instance
//! (REST data API — separate so a client that sends data calls to the login host fails as it
//! would for real) and the control API for tests.

mod clock;
mod config;
mod control;
mod faults;
mod http;
mod hubspot;
mod salesforce;
mod stats;
mod universe;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use serde::Serialize;
use tokio::net::TcpListener;
use tokio::sync::watch;

pub use config::{HubspotSettings, SalesforceEdition, SalesforceSettings, SimConfig};

/// The simulator's SOQL parser, for the fuzz target (`fuzz/`): the error code of a query it
/// refuses. Not an API of the simulator.
pub fn parse_soql(query: &str) -> Result<(), &'static str> {
    salesforce::parse_soql(query)
}

/// Failures to start or use the simulator.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("could not listen on 127.0.0.1:{port} for the {what}: {source}")]
    Bind {
        what: &'static str,
        port: u16,
        source: std::io::Error,
    },
    #[error("could not write the ready file {path}: {source}")]
    ReadyFile {
        path: String,
        source: std::io::Error,
    },
}

/// Where the simulator listens and the credentials of its registered apps; serialized as the
/// ready file, whose keys external harnesses read (keep them exactly so).
#[derive(Debug, Clone, Serialize)]
pub struct ReadyInfo {
    pub hubspot: HubspotReady,
    pub salesforce: SalesforceReady,
    pub control: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct HubspotReady {
    pub api_base: String,
    pub authorize_url: String,
    pub token_url: String,
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uri: String,
    pub scopes: Vec<String>,
    pub portal_id: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct SalesforceReady {
    pub login_url: String,
    pub instance_url: String,
    pub api_version: String,
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uri: String,
    pub username: String,
    pub password: String,
    pub security_token: String,
}

/// Base URLs of the four listeners, handed to handlers that must build absolute URLs.
#[derive(Debug, Clone)]
pub(crate) struct Urls {
    pub hubspot: String,
    pub sf_login: String,
    pub sf_instance: String,
}

/// Everything the handlers share. Each side's data sits behind its own mutex; critical
/// sections are short (no I/O, no awaits), so a plain std mutex is the right tool.
pub(crate) struct SimState {
    pub config: SimConfig,
    pub urls: Urls,
    pub hubspot: Mutex<hubspot::HubspotWorld>,
    pub salesforce: Mutex<salesforce::SalesforceWorld>,
    pub faults: faults::FaultTable,
    pub stats: stats::Stats,
}

impl SimState {
    pub fn hubspot(&self) -> MutexGuard<'_, hubspot::HubspotWorld> {
        // A handler that panicked mid-write leaves data we can still serve; keep going.
        self.hubspot.lock().unwrap_or_else(|e| e.into_inner())
    }
    pub fn salesforce(&self) -> MutexGuard<'_, salesforce::SalesforceWorld> {
        self.salesforce.lock().unwrap_or_else(|e| e.into_inner())
    }
    /// Re-seed both sides from the configuration (control API `POST /reset`).
    pub fn reset(&self) {
        *self.hubspot() = hubspot::HubspotWorld::seeded(&self.config);
        *self.salesforce() = salesforce::SalesforceWorld::seeded(&self.config, &self.urls);
        self.faults.clear();
        self.stats.clear();
    }
}

/// A running simulator. Dropping it stops the listeners.
pub struct Simulator {
    ready: ReadyInfo,
    addrs: [SocketAddr; 4],
    shutdown: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Simulator {
    /// Bind all listeners (port 0 = chosen by the OS), seed the data and start serving.
    /// Must be called inside a tokio runtime.
    pub async fn start(config: SimConfig) -> Result<Simulator, SimError> {
        let bind = |what: &'static str, port: u16| async move {
            TcpListener::bind(("127.0.0.1", port))
                .await
                .map_err(|source| SimError::Bind { what, port, source })
        };
        let hs = bind("HubSpot API", config.hubspot_port).await?;
        let login = bind("Salesforce login host", config.salesforce_login_port).await?;
        let inst = bind("Salesforce instance", config.salesforce_instance_port).await?;
        let ctl = bind("control API", config.control_port).await?;
        let addr_of = |l: &TcpListener, what: &'static str| {
            l.local_addr().map_err(|source| SimError::Bind {
                what,
                port: 0,
                source,
            })
        };
        let addrs = [
            addr_of(&hs, "HubSpot API")?,
            addr_of(&login, "Salesforce login host")?,
            addr_of(&inst, "Salesforce instance")?,
            addr_of(&ctl, "control API")?,
        ];
        let urls = Urls {
            hubspot: format!("http://{}", addrs[0]),
            sf_login: format!("http://{}", addrs[1]),
            sf_instance: format!("http://{}", addrs[2]),
        };
        let ready = ready_info(&config, &urls, addrs[3]);
        let state = Arc::new(SimState {
            hubspot: Mutex::new(hubspot::HubspotWorld::seeded(&config)),
            salesforce: Mutex::new(salesforce::SalesforceWorld::seeded(&config, &urls)),
            faults: faults::FaultTable::new(config.seed),
            stats: stats::Stats::default(),
            urls,
            config,
        });
        let (shutdown, rx) = watch::channel(false);
        let routers = [
            hubspot::router(state.clone()),
            salesforce::login_router(state.clone()),
            salesforce::instance_router(state.clone()),
            control::router(state.clone()),
        ];
        let mut tasks = Vec::new();
        for (listener, router) in [hs, login, inst, ctl].into_iter().zip(routers) {
            let mut rx = rx.clone();
            tasks.push(tokio::spawn(async move {
                let stop = async move {
                    while !*rx.borrow() {
                        if rx.changed().await.is_err() {
                            break;
                        }
                    }
                };
                if let Err(e) = axum::serve(listener, router)
                    .with_graceful_shutdown(stop)
                    .await
                {
                    tracing::error!("simulator listener stopped: {e}");
                }
            }));
        }
        Ok(Simulator {
            ready,
            addrs,
            shutdown,
            tasks,
        })
    }

    /// URLs and credentials, as written to the ready file.
    pub fn ready_info(&self) -> &ReadyInfo {
        &self.ready
    }

    pub fn hubspot_addr(&self) -> SocketAddr {
        self.addrs[0]
    }
    pub fn salesforce_login_addr(&self) -> SocketAddr {
        self.addrs[1]
    }
    pub fn salesforce_instance_addr(&self) -> SocketAddr {
        self.addrs[2]
    }
    pub fn control_addr(&self) -> SocketAddr {
        self.addrs[3]
    }

    /// Write the ready file atomically (temp file + rename), so a reader never sees half of it.
    pub fn write_ready_file(&self, path: &Path) -> Result<(), SimError> {
        let err = |source| SimError::ReadyFile {
            path: path.display().to_string(),
            source,
        };
        let json = serde_json::to_vec_pretty(&self.ready).map_err(|e| err(e.into()))?;
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, json).map_err(err)?;
        std::fs::rename(&tmp, path).map_err(err)
    }

    /// Stop accepting, finish requests in flight, and wait for the listeners to end.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        for t in self.tasks.drain(..) {
            let _ = t.await;
        }
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

fn ready_info(config: &SimConfig, urls: &Urls, control: SocketAddr) -> ReadyInfo {
    let hs = &config.hubspot;
    let sf = &config.salesforce;
    ReadyInfo {
        hubspot: HubspotReady {
            api_base: urls.hubspot.clone(),
            authorize_url: format!("{}/oauth/authorize", urls.hubspot),
            token_url: format!("{}/oauth/v1/token", urls.hubspot),
            client_id: hs.client_id.clone(),
            client_secret: hs.client_secret.clone(),
            redirect_uri: hs.redirect_uri.clone(),
            scopes: hs.required_scopes.clone(),
            portal_id: hs.portal_id,
        },
        salesforce: SalesforceReady {
            login_url: urls.sf_login.clone(),
            instance_url: urls.sf_instance.clone(),
            api_version: sf.api_version.clone(),
            client_id: sf.client_id.clone(),
            client_secret: sf.client_secret.clone(),
            redirect_uri: sf.redirect_uri.clone(),
            username: sf.username(),
            password: sf.password.clone(),
            security_token: sf.security_token.clone(),
        },
        control: format!("http://{control}"),
    }
}
