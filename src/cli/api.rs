//! `hubforce api`: one authenticated call.

use super::*;

pub(super) async fn api(cli: &Cli, args: &ApiArgs) -> Result<(), Box<dyn std::error::Error>> {
    let method = reqwest::Method::from_bytes(args.method.to_ascii_uppercase().as_bytes())
        .map_err(|_| format!("{} is not an HTTP method", args.method))?;
    let body = match &args.data {
        None => None,
        Some(d) => {
            let text = match d.strip_prefix('@') {
                Some(file) => {
                    std::fs::read_to_string(file).map_err(|e| format!("cannot read {file}: {e}"))?
                }
                None => d.clone(),
            };
            Some(
                serde_json::from_str::<serde_json::Value>(&text)
                    .map_err(|e| format!("--data is not JSON: {e}"))?,
            )
        }
    };
    let session = open_session(&cli.config, cli.profile.as_deref(), "cli")?;
    let value = match args.provider {
        ProviderArg::Hubspot => session.hubspot()?.request(method, &args.path, body).await?,
        ProviderArg::Salesforce => {
            session
                .salesforce()?
                .request(method, &args.path, body)
                .await?
        }
    };
    hubforce::outln!("{}", serde_json::to_string_pretty(&value)?);
    Ok(())
}
