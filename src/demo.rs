//! `hubforce demo`: both OAuth flows and a first look at each side's records, against the
//! embedded simulator.
//!
//! This talks HTTP with its own small client code: the simulator shares nothing with it, so
//! the demo is a real round trip through both APIs as documented.

use std::fmt::Write as _;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::sim::{ReadyInfo, Simulator};

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("{step}: HTTP request failed: {source}")]
    Http {
        step: &'static str,
        source: reqwest::Error,
    },
    #[error("{step}: {detail}")]
    Protocol { step: &'static str, detail: String },
}

fn http(step: &'static str) -> impl Fn(reqwest::Error) -> DemoError {
    move |source| DemoError::Http { step, source }
}

fn protocol(step: &'static str, detail: impl Into<String>) -> DemoError {
    DemoError::Protocol {
        step,
        detail: detail.into(),
    }
}

fn random_text(len: usize) -> String {
    std::iter::repeat_with(fastrand::alphanumeric)
        .take(len)
        .collect()
}

/// Follow an authorize URL the way a browser would after the user approves, and return
/// the `code` from the redirect (checking `state`).
async fn authorize(
    client: &reqwest::Client,
    step: &'static str,
    url: url::Url,
    state: &str,
) -> Result<String, DemoError> {
    let resp = client.get(url).send().await.map_err(http(step))?;
    let location = resp
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|l| l.to_str().ok())
        .ok_or_else(|| {
            protocol(
                step,
                format!("expected a redirect, got HTTP {}", resp.status()),
            )
        })?;
    let redirect =
        url::Url::parse(location).map_err(|e| protocol(step, format!("bad redirect URL: {e}")))?;
    let param = |k: &str| {
        redirect
            .query_pairs()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.into_owned())
    };
    if let Some(err) = param("error") {
        return Err(protocol(
            step,
            format!(
                "authorization refused: {err} ({})",
                param("error_description").unwrap_or_default()
            ),
        ));
    }
    if param("state").as_deref() != Some(state) {
        return Err(protocol(
            step,
            "the state parameter came back changed; refusing the code",
        ));
    }
    param("code").ok_or_else(|| protocol(step, "the redirect carried no code"))
}

async fn json_of(step: &'static str, resp: reqwest::Response) -> Result<Value, DemoError> {
    let status = resp.status();
    let body = resp.text().await.map_err(http(step))?;
    if !status.is_success() {
        return Err(protocol(
            step,
            format!(
                "HTTP {status}: {}",
                body.chars().take(300).collect::<String>()
            ),
        ));
    }
    serde_json::from_str(&body).map_err(|e| protocol(step, format!("the answer is not JSON: {e}")))
}

fn cell(v: &Value) -> String {
    match v {
        Value::Null => "—".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn table(out: &mut String, headers: &[&str], rows: &[Vec<String>]) {
    let widths: Vec<usize> = headers
        .iter()
        .enumerate()
        .map(|(i, h)| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([h.len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<String>| {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let _ = writeln!(
        out,
        "    {}",
        line(headers.iter().map(|h| h.to_string()).collect())
    );
    for r in rows {
        let _ = writeln!(out, "    {}", line(r.clone()));
    }
}

/// Run the demo against a started simulator and return the report text.
pub async fn run(sim: &Simulator) -> Result<String, DemoError> {
    let info: &ReadyInfo = sim.ready_info();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(http("building the HTTP client"))?;
    let mut out = String::new();
    let _ = writeln!(out, "hubforce demo — embedded simulator of both APIs");
    let _ = writeln!(out, "  HubSpot API          {}", info.hubspot.api_base);
    let _ = writeln!(out, "  Salesforce login     {}", info.salesforce.login_url);
    let _ = writeln!(
        out,
        "  Salesforce instance  {}",
        info.salesforce.instance_url
    );
    let _ = writeln!(out, "  control API          {}", info.control);

    // HubSpot: authorization-code flow.
    let hs = &info.hubspot;
    let state = random_text(24);
    let mut url = url::Url::parse(&hs.authorize_url)
        .map_err(|e| protocol("HubSpot authorize", e.to_string()))?;
    url.query_pairs_mut()
        .append_pair("client_id", &hs.client_id)
        .append_pair("redirect_uri", &hs.redirect_uri)
        .append_pair("scope", &hs.scopes.join(" "))
        .append_pair("state", &state);
    let code = authorize(&client, "HubSpot authorize", url, &state).await?;
    let form = [
        ("grant_type", "authorization_code"),
        ("client_id", hs.client_id.as_str()),
        ("client_secret", hs.client_secret.as_str()),
        ("redirect_uri", hs.redirect_uri.as_str()),
        ("code", code.as_str()),
    ];
    let tokens = json_of(
        "HubSpot token exchange",
        client
            .post(&hs.token_url)
            .form(&form)
            .send()
            .await
            .map_err(http("HubSpot token exchange"))?,
    )
    .await?;
    let access = tokens["access_token"]
        .as_str()
        .ok_or_else(|| protocol("HubSpot token exchange", "no access_token in the answer"))?;
    let _ = writeln!(
        out,
        "\nHubSpot: connected to portal {} (authorization code → access token valid {} s, refresh token stored)",
        hs.portal_id,
        cell(&tokens["expires_in"])
    );
    let contacts = json_of(
        "HubSpot contacts",
        client
            .get(format!("{}/crm/v3/objects/contacts", hs.api_base))
            .query(&[
                ("limit", "5"),
                ("properties", "email,firstname,lastname,lifecyclestage"),
            ])
            .bearer_auth(access)
            .send()
            .await
            .map_err(http("HubSpot contacts"))?,
    )
    .await?;
    let rows: Vec<Vec<String>> = contacts["results"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            let p = &c["properties"];
            vec![
                cell(&c["id"]),
                format!("{} {}", cell(&p["firstname"]), cell(&p["lastname"])),
                cell(&p["email"]),
                cell(&p["lifecyclestage"]),
            ]
        })
        .collect();
    let _ = writeln!(out, "  first contacts:");
    table(&mut out, &["id", "name", "email", "lifecycle stage"], &rows);

    // Salesforce: web-server flow with PKCE.
    let sf = &info.salesforce;
    let state = random_text(24);
    let verifier = random_text(64);
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let mut url = url::Url::parse(&format!("{}/services/oauth2/authorize", sf.login_url))
        .map_err(|e| protocol("Salesforce authorize", e.to_string()))?;
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &sf.client_id)
        .append_pair("redirect_uri", &sf.redirect_uri)
        .append_pair("scope", "api refresh_token")
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256")
        .append_pair("state", &state);
    let code = authorize(&client, "Salesforce authorize", url, &state).await?;
    let form = [
        ("grant_type", "authorization_code"),
        ("client_id", sf.client_id.as_str()),
        ("client_secret", sf.client_secret.as_str()),
        ("redirect_uri", sf.redirect_uri.as_str()),
        ("code", code.as_str()),
        ("code_verifier", verifier.as_str()),
    ];
    let tokens = json_of(
        "Salesforce token exchange",
        client
            .post(format!("{}/services/oauth2/token", sf.login_url))
            .form(&form)
            .send()
            .await
            .map_err(http("Salesforce token exchange"))?,
    )
    .await?;
    let access = tokens["access_token"]
        .as_str()
        .ok_or_else(|| protocol("Salesforce token exchange", "no access_token in the answer"))?;
    let instance = tokens["instance_url"]
        .as_str()
        .ok_or_else(|| protocol("Salesforce token exchange", "no instance_url in the answer"))?;
    let org = tokens["id"]
        .as_str()
        .and_then(|id| id.rsplit('/').nth(1))
        .unwrap_or("?");
    let _ = writeln!(
        out,
        "\nSalesforce: connected to org {org} at {instance} (web-server flow with PKCE; no expires_in, refresh on 401)"
    );
    let resp = client
        .get(format!(
            "{instance}/services/data/v{}/query",
            sf.api_version
        ))
        .query(&[(
            "q",
            "SELECT Id, Name, Email, Company, Status FROM Lead ORDER BY CreatedDate LIMIT 5",
        )])
        .bearer_auth(access)
        .send()
        .await
        .map_err(http("Salesforce query"))?;
    let usage = resp
        .headers()
        .get("Sforce-Limit-Info")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let leads = json_of("Salesforce query", resp).await?;
    let rows: Vec<Vec<String>> = leads["records"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|l| {
            vec![
                cell(&l["Id"]),
                cell(&l["Name"]),
                cell(&l["Email"]),
                cell(&l["Company"]),
                cell(&l["Status"]),
            ]
        })
        .collect();
    let _ = writeln!(out, "  oldest leads:");
    table(
        &mut out,
        &["Id", "Name", "Email", "Company", "Status"],
        &rows,
    );
    let _ = writeln!(out, "  API usage after the query: {usage}");
    Ok(out)
}
