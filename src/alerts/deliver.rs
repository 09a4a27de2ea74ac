//! Sending an alert: a webhook POST (Slack-shaped or plain JSON) and an email over SMTP.
//! Secrets are resolved when the alerts are opened; a URL or a password is never in an error.

use std::time::Duration;

use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::Alert;
use crate::config::alert_settings::{EmailSettings, SmtpSecurity, WebhookFormat};
use crate::secret::Secret;

const SEND_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("the alert webhook answered {status}")]
    WebhookStatus { status: u16 },
    #[error("the alert webhook could not be reached: {0}")]
    WebhookSend(String),
    #[error("the alert email could not be built: {0}")]
    EmailBuild(String),
    #[error("the alert email was not sent through {host}:{port}: {reason}")]
    EmailSend {
        host: String,
        port: u16,
        reason: String,
    },
}

/// The webhook, resolved.
pub struct Webhook {
    pub url: Secret,
    pub format: WebhookFormat,
}

/// The email channel, resolved.
pub struct Email {
    pub settings: EmailSettings,
    pub password: Option<Secret>,
}

pub async fn webhook(hook: &Webhook, alert: &Alert) -> Result<(), DeliveryError> {
    let body = match hook.format {
        WebhookFormat::Slack => slack_body(alert),
        WebhookFormat::Json => serde_json::to_value(alert).unwrap_or_default(),
    };
    let client = reqwest::Client::builder()
        .timeout(SEND_TIMEOUT)
        // A redirect could take the alert (and the URL's secret path) elsewhere.
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| DeliveryError::WebhookSend(without_url(&e)))?;
    let resp = client
        .post(hook.url.expose())
        .json(&body)
        .send()
        .await
        .map_err(|e| DeliveryError::WebhookSend(without_url(&e)))?;
    if !resp.status().is_success() {
        return Err(DeliveryError::WebhookStatus {
            status: resp.status().as_u16(),
        });
    }
    Ok(())
}

/// reqwest's errors name the URL, whose path is the webhook's secret.
fn without_url(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    if let Some(url) = e.url() {
        text = text.replace(url.as_str(), "the webhook URL");
    }
    text
}

/// Slack's incoming-webhook body: a `text` fallback (notifications) and blocks.
fn slack_body(alert: &Alert) -> serde_json::Value {
    let mark = if alert.event == "cleared" {
        ":white_check_mark:"
    } else {
        ":rotating_light:"
    };
    let cleared = if alert.event == "cleared" {
        "cleared: "
    } else {
        ""
    };
    let text = format!(
        "{mark} hubforce [{}] {cleared}{}",
        alert.profile, alert.title
    );
    let mut detail = alert.detail.clone();
    for c in &alert.context {
        detail.push_str(&format!("\n{c}"));
    }
    serde_json::json!({
        "text": text,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": format!("*{text}*")}},
            {"type": "section", "text": {"type": "plain_text", "text": detail}},
            {"type": "context", "elements": [
                {"type": "mrkdwn", "text": format!("`{}` · {}", alert.key, alert.at)}
            ]},
        ],
    })
}

pub async fn email(channel: &Email, alert: &Alert) -> Result<(), DeliveryError> {
    let s = &channel.settings;
    let build = |e: String| DeliveryError::EmailBuild(e);
    let from: Mailbox = s.from.parse().map_err(|e| build(format!("{e}")))?;
    let mut message = Message::builder().from(from).subject(format!(
        "[hubforce {}] {}{}",
        alert.profile,
        if alert.event == "cleared" {
            "cleared: "
        } else {
            ""
        },
        alert.title
    ));
    for to in &s.to {
        message = message.to(to.parse().map_err(|e| build(format!("{e}")))?);
    }
    let mut body = format!("{}\n\n{}\n", alert.title, alert.detail);
    for c in &alert.context {
        body.push_str(&format!("\n{c}"));
    }
    body.push_str(&format!(
        "\n\ncondition: {}\nprofile: {}\nat: {}\n",
        alert.key, alert.profile, alert.at
    ));
    let message = message
        .header(ContentType::TEXT_PLAIN)
        .body(body)
        .map_err(|e| build(e.to_string()))?;
    let port = s.port();
    let sent = |e: lettre::transport::smtp::Error| DeliveryError::EmailSend {
        host: s.smtp_host.clone(),
        port,
        reason: e.to_string(),
    };
    let mut transport = match s.security {
        SmtpSecurity::Starttls => {
            AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&s.smtp_host).map_err(sent)?
        }
        SmtpSecurity::Tls => {
            AsyncSmtpTransport::<Tokio1Executor>::relay(&s.smtp_host).map_err(sent)?
        }
        SmtpSecurity::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&s.smtp_host),
    }
    .port(port)
    .timeout(Some(SEND_TIMEOUT));
    if let (Some(user), Some(password)) = (&s.username, &channel.password) {
        transport = transport.credentials(Credentials::new(
            user.clone(),
            password.expose().to_string(),
        ));
    }
    transport.build().send(message).await.map_err(sent)?;
    Ok(())
}
