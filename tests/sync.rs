//! The sync engine end to end against the simulator: a full import, idempotence, edits on
//! either side, faults, crashes and hot reload.

mod common;

use std::path::PathBuf;
use std::sync::Arc;

use hubforce::plugins::PluginSet;
use hubforce::session::Session;
use hubforce::sim::{SimConfig, Simulator};
use hubforce::sync::engine::{Engine, SyncOptions};
use hubforce::sync::ledger::Ledger;
use hubforce::sync::report::RunReport;
use hubforce::sync::settings::SyncSettings;

struct Env {
    sim: Simulator,
    dir: PathBuf,
    session: Session,
    plugins: Arc<PluginSet>,
    ledger: Ledger,
}

impl Drop for Env {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn repo_plugins() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("plugins")
}

async fn env(config: SimConfig, plugins: &[&str]) -> Env {
    let sim = Simulator::start(config.with_free_redirect_port())
        .await
        .expect("simulator");
    let dir = std::env::temp_dir().join(format!(
        "hubforce-sync-{}-{}",
        std::process::id(),
        fastrand::u64(..)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let session = hubforce::connect::sim_session(&sim, &dir).await.unwrap();
    let names: Vec<String> = plugins.iter().map(|s| s.to_string()).collect();
    let plugins = Arc::new(PluginSet::load(
        &repo_plugins(),
        None,
        &names,
        &Default::default(),
    ));
    let ledger = Ledger::open(&dir.join("ledger.sqlite")).unwrap();
    Env {
        sim,
        dir,
        session,
        plugins,
        ledger,
    }
}

impl Env {
    async fn sync_with(&self, settings: SyncSettings, opts: SyncOptions) -> RunReport {
        let engine = Engine::prepare(
            self.session.hubspot().unwrap(),
            self.session.salesforce().unwrap(),
            &self.ledger,
            self.plugins.as_ref(),
            settings,
        )
        .await
        .unwrap();
        engine.run(&opts).await.unwrap()
    }

    async fn sync(&self, full: bool) -> RunReport {
        self.sync_with(
            SyncSettings::default(),
            SyncOptions {
                full,
                ..Default::default()
            },
        )
        .await
    }
}

fn small() -> SimConfig {
    let mut c = common::small_config();
    c.limits = false;
    c
}

#[tokio::test]
async fn a_full_sync_links_every_included_record_and_a_second_run_writes_nothing() {
    let e = env(small(), &["default"]).await;
    let first = e.sync(true).await;
    eprintln!("{}", first.render());
    assert!(first.stopped.is_none(), "{:?}", first.stopped);
    assert!(first.written() > 0);
    let second = e.sync(false).await;
    eprintln!("{}", second.render());
    assert_eq!(second.written(), 0, "{}", second.render());
    let _ = &e.sim;
}
