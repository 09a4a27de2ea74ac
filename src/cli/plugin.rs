//! `hubforce plugin list|test`.

use super::*;

/// Plugin folders with tests under `root`, one level of grouping deep (`examples/acme`).
/// Plugin folders that have tests.
pub(super) fn plugins_with_tests(root: &std::path::Path) -> Vec<String> {
    hubforce::profile::plugin_folders(root)
        .into_iter()
        .filter(|n| root.join(n).join("tests").is_dir())
        .collect()
}

/// `plugin list` found plugins in error (they were printed already).
#[derive(Debug, thiserror::Error)]
#[error("{0} plugin(s) in ERROR")]
pub(super) struct PluginsInError(usize);

/// A failed `plugin test` run (the failures were printed already).
#[derive(Debug, thiserror::Error)]
#[error("{0} plugin test(s) failed")]
pub(super) struct TestsFailed(usize);

pub(super) async fn plugin_test(
    cli: &Cli,
    name: Option<&str>,
) -> Result<(), Box<dyn std::error::Error>> {
    let base = config_dir(cli);
    // Settings and the enabled list come from the profile when there is one.
    let profile = Config::load(&cli.config).ok().and_then(|c| {
        c.profile(cli.profile.as_deref())
            .ok()
            .map(|(_, p)| p.clone())
    });
    let root = base.join("plugins");
    let names: Vec<String> = match (name, &profile) {
        (Some(n), _) => {
            let known = hubforce::profile::plugin_folders(&root);
            if !known.iter().any(|k| k == n) {
                return Err(Usage(format!(
                    "no plugin {n} in {}; known: {}",
                    root.display(),
                    if known.is_empty() {
                        "none".into()
                    } else {
                        known.join(", ")
                    }
                ))
                .into());
            }
            vec![n.to_string()]
        }
        (None, Some(p)) => p.plugins.clone(),
        (None, None) => plugins_with_tests(&root),
    };
    let (mut passed, mut failed) = (0usize, 0usize);
    for n in names {
        let settings = profile
            .as_ref()
            .and_then(|p| p.plugin.get(&n).cloned())
            .unwrap_or_default();
        for file in hubforce::plugin_tests::run(
            &base.join("plugins"),
            Some(&base.join("scripts/lib")),
            &n,
            &settings,
        )
        .await
        {
            hubforce::outln!("{}", file.file);
            if let Some(e) = &file.error {
                hubforce::outln!("  ✗ could not run: {e}");
                failed += 1;
            }
            for c in &file.cases {
                if c.ok {
                    passed += 1;
                    hubforce::outln!("  ✓ {}", c.name);
                } else {
                    failed += 1;
                    hubforce::outln!(
                        "  ✗ {}\n      {} ({})",
                        c.name,
                        c.message.clone().unwrap_or_default(),
                        c.at.clone().unwrap_or_default()
                    );
                }
            }
        }
    }
    hubforce::outln!("{passed} passed, {failed} failed");
    if failed > 0 {
        return Err(TestsFailed(failed).into());
    }
    Ok(())
}

pub(super) async fn plugin(
    cli: &Cli,
    cmd: &PluginCommand,
) -> Result<(), Box<dyn std::error::Error>> {
    let json = match cmd {
        PluginCommand::Test { name } => return plugin_test(cli, name.as_deref()).await,
        PluginCommand::List { json } => json,
    };
    let session = open_session(&cli.config, cli.profile.as_deref(), "plugin")?;
    // Loaded as a sync loads them: what is listed active is what a sync would run.
    let set = hubforce::profile::load_plugins(&session, config_dir(cli))?;
    let list = set.list();
    let in_error = list.iter().filter(|p| p.error.is_some()).count();
    let calls = session.log.summary(24);
    let used = |name: &str, provider: &str| hubforce::plugins::calls_of(&calls, name, provider);
    if *json {
        hubforce::outln!("{}", serde_json::to_string_pretty(&list)?);
    } else {
        print_plugin_list(&session, &list, used);
    }
    if in_error > 0 {
        return Err(PluginsInError(in_error).into());
    }
    Ok(())
}

pub(super) fn print_plugin_list(
    session: &hubforce::session::Session,
    list: &[hubforce::plugins::PluginInfo],
    used: impl Fn(&str, &str) -> u64,
) {
    if list.is_empty() {
        hubforce::outln!(
            "profile {} enables no plugins (set `plugins = [...]` in hubforce.toml)",
            session.profile
        );
    }
    for p in list {
        let budget = |b: Option<u64>, u: u64| {
            b.map(|b| format!("{u}/{b}"))
                .unwrap_or_else(|| format!("{u}/—"))
        };
        hubforce::outln!(
            "{:<20} {:<9} gen {:<3} {:<7} hooks: {:<40} calls 24h hubspot {} salesforce {}",
            p.name,
            p.version.clone().unwrap_or_else(|| "—".into()),
            p.generation,
            if p.error.is_none() { "active" } else { "ERROR" },
            if p.hooks.is_empty() {
                "—".to_string()
            } else {
                p.hooks.join(", ")
            },
            budget(p.budget_hubspot, used(&p.name, "hubspot")),
            budget(p.budget_salesforce, used(&p.name, "salesforce")),
        );
        if let Some(e) = &p.error {
            hubforce::outln!("    {e}");
        }
    }
}
