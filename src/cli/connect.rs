//! `hubforce connect`: the OAuth flows.

use super::*;

pub(super) fn open_browser(url: &url::Url, open: bool) {
    eprintln!("Open this URL in a browser to authorize hubforce:\n\n  {url}\n");
    if open {
        let opener = if cfg!(target_os = "macos") {
            "open"
        } else {
            "xdg-open"
        };
        if let Err(e) = std::process::Command::new(opener).arg(url.as_str()).spawn() {
            eprintln!("(could not start {opener}: {e}; open the URL yourself)");
        }
    }
}

pub(super) async fn connect(
    cli: &Cli,
    args: &ConnectArgs,
) -> Result<(), Box<dyn std::error::Error>> {
    let session = open_session(&cli.config, cli.profile.as_deref(), "connect")?;
    let timeout = std::time::Duration::from_secs(args.timeout);
    let status = match (args.provider, args.password) {
        (ProviderArg::Hubspot, _) => {
            hubforce::connect::hubspot(&session, timeout, |u| open_browser(u, args.open)).await?
        }
        (ProviderArg::Salesforce, true) => {
            hubforce::connect::salesforce_password(&session, args.sandbox).await?
        }
        (ProviderArg::Salesforce, false) => {
            hubforce::connect::salesforce(&session, args.sandbox, timeout, |u| {
                open_browser(u, args.open)
            })
            .await?
        }
    };
    hubforce::out!(
        "{}",
        hubforce::connect::render_status(&session.profile, &[status], &[])
    );
    Ok(())
}
