//! `hubforce init`: a commented hubforce.toml (or one for a running simulator).

use super::*;

pub(super) async fn init(cli: &Cli, args: &InitArgs) -> Result<(), Box<dyn std::error::Error>> {
    let dir = config_dir(cli);
    match &args.from_sim {
        Some(ready) => {
            let text = std::fs::read_to_string(ready)
                .map_err(|e| format!("cannot read the ready file {}: {e}", ready.display()))?;
            let v: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| format!("{} is not a simulator ready file: {e}", ready.display()))?;
            let written = hubforce::connect::init_from_sim(dir, &v, args.force)?;
            let plugins = hubforce::connect::enable_default_plugin(dir)?;
            hubforce::outln!(
                "wrote {written} with profile `sim` (secrets in .hubforce/sim.env, mode 0600)"
            );
            hubforce::outln!("{plugins}");
            hubforce::outln!("next: hubforce connect hubspot && hubforce connect salesforce");
        }
        None => {
            if cli.config.exists() && !args.force {
                return Err(format!(
                    "{} exists; pass --force to replace it",
                    cli.config.display()
                )
                .into());
            }
            std::fs::write(&cli.config, hubforce::config::STARTER)?;
            hubforce::outln!(
                "wrote {} — fill in the client ids, set the secret variables, then run `hubforce connect hubspot`",
                cli.config.display()
            );
        }
    }
    Ok(())
}
