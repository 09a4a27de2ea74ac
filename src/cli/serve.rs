//! `hubforce serve` and `sync --watch --serve`: the sync health page.

use std::net::SocketAddr;
use std::sync::Arc;

use super::*;
use hubforce::serve::{Shared, Watcher};

/// Where the page listens unless told.
pub(super) const DEFAULT_ADDR: &str = "127.0.0.1:8700";

/// Bind the page and serve it on a task of its own; says where, and the access token once
/// when one was generated.
pub(super) async fn start_page(
    session: Arc<hubforce::session::Session>,
    setup: Arc<hubforce::profile::SyncSetup>,
    watcher: Watcher,
    addr: SocketAddr,
) -> Result<Arc<Shared>, Box<dyn std::error::Error>> {
    let token = hubforce::serve::access_token(addr)?;
    let listener = hubforce::serve::bind(addr).await?;
    let addr = listener.local_addr()?;
    let shared = Arc::new(Shared {
        session,
        setup,
        guard: hubforce::serve::guard::Guard {
            access: token.as_ref().map(|(t, _)| t.clone()),
            csrf: hubforce::serve::guard::random_token(),
        },
        watcher,
        counters: Default::default(),
    });
    let url = format!("http://{addr}/");
    match &token {
        // Printed once, here: the way in for whoever started it.
        Some((t, true)) => eprintln!(
            "sync health page: {url}?token={} (the access token is shown only now; set HUBFORCE_SERVE_TOKEN to choose one)",
            t.expose()
        ),
        Some((_, false)) => hubforce::logs::note(format!(
            "sync health page: {url} (access token from HUBFORCE_SERVE_TOKEN)"
        )),
        None => hubforce::logs::note(format!("sync health page: {url}")),
    }
    let serving = shared.clone();
    tokio::spawn(async move {
        if let Err(e) = hubforce::serve::run(serving, listener, std::future::pending::<()>()).await
        {
            hubforce::logs::warn(e);
        }
    });
    Ok(shared)
}

/// `hubforce serve`: the page alone, until Ctrl-C; its buttons queue asks for the watcher.
pub(super) async fn serve(cli: &Cli, a: &ServeArgs) -> Result<(), Box<dyn std::error::Error>> {
    let session = Arc::new(open_session(&cli.config, cli.profile.as_deref(), "serve")?);
    // A page about a broken plugin must still open: plugins that fail are shown, not fatal.
    let options = hubforce::profile::OpenOptions {
        skip_broken_plugins: true,
    };
    let setup =
        Arc::new(hubforce::profile::open(&session, config_dir(cli), options)?.for_sync(&session)?);
    let addr = match a.listen {
        Some(addr) => addr,
        None => DEFAULT_ADDR.parse()?,
    };
    start_page(session, setup, Watcher::Elsewhere, addr).await?;
    let _ = tokio::signal::ctrl_c().await;
    Ok(())
}
