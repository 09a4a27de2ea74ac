//! Alerts through the binary (issue 20): a webhook receiver and an SMTP sink started here on
//! 127.0.0.1 take what `hubforce sync` sends when a grant is refused, records fail past the
//! threshold or a plugin breaks — once per condition, then "cleared".

mod common;

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use common::cli::{enable, hf, plugin};

type Seen<T> = Arc<Mutex<Vec<T>>>;

/// A webhook receiver: every JSON body posted to it, in order.
async fn webhook_receiver() -> (String, Seen<Value>) {
    let seen: Seen<Value> = Arc::default();
    let keep = seen.clone();
    let app = axum::Router::new().route(
        "/hooks/T000/B000/secretpath",
        axum::routing::post(move |axum::Json(body): axum::Json<Value>| {
            let keep = keep.clone();
            async move {
                keep.lock().unwrap().push(body);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/hooks/T000/B000/secretpath"), seen)
}

/// An SMTP sink that speaks enough of RFC 5321 for one client: every message's DATA.
async fn smtp_sink() -> (u16, Seen<String>) {
    let seen: Seen<String> = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let keep = seen.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let keep = keep.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                let _ = write.write_all(b"220 sink ESMTP\r\n").await;
                while let Ok(Some(line)) = lines.next_line().await {
                    let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
                    let answer: &[u8] = match verb.as_str() {
                        "EHLO" => b"250-sink\r\n250 8BITMIME\r\n",
                        "DATA" => {
                            let _ = write.write_all(b"354 go on\r\n").await;
                            let mut message = String::new();
                            while let Ok(Some(l)) = lines.next_line().await {
                                if l == "." {
                                    break;
                                }
                                message.push_str(&l);
                                message.push('\n');
                            }
                            keep.lock().unwrap().push(message);
                            b"250 kept\r\n"
                        }
                        "QUIT" => {
                            let _ = write.write_all(b"221 bye\r\n").await;
                            break;
                        }
                        _ => b"250 ok\r\n",
                    };
                    let _ = write.write_all(answer).await;
                }
            });
        }
    });
    (port, seen)
}

fn alerts_table(dir: &std::path::Path, url: &str, format: &str, smtp: u16, errors: u64) -> String {
    std::fs::write(dir.join("webhook.url"), url).unwrap();
    format!(
        "\n[profiles.sim.alerts]\nwebhook = {{ file = \"webhook.url\" }}\nwebhook_format = \"{format}\"\nrecord_errors = {errors}\n\
         [profiles.sim.alerts.email]\nsmtp_host = \"127.0.0.1\"\nsmtp_port = {smtp}\nsecurity = \"none\"\n\
         from = \"hubforce <hubforce@example.com>\"\nto = [\"ops@example.com\"]\n"
    )
}

fn keys(seen: &Seen<Value>, event: &str) -> Vec<String> {
    seen.lock()
        .unwrap()
        .iter()
        .filter(|b| b["event"] == event)
        .filter_map(|b| b["key"].as_str().map(String::from))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_grant_alerts_once_by_webhook_and_email_and_clears_after_reconnecting() {
    let c = common::connected("alerts-grant").await;
    let (url, hooks) = webhook_receiver().await;
    let (smtp, mails) = smtp_sink().await;
    plugin(
        &c,
        "runbook",
        "",
        "return { on_alert = function(alert)\n  if alert.event == 'raised' then return 'client ACME: call Dana (' .. alert.key .. ')' end\nend }",
    );
    enable(
        &c,
        &["runbook"],
        &alerts_table(&c.dir, &url, "slack", smtp, 1000),
    );
    let r = hf(&c.dir, &["sync", "--once"]).await;
    assert_eq!(r.code, Some(0), "{}", r.all());
    assert!(
        hooks.lock().unwrap().is_empty(),
        "{:?}",
        hooks.lock().unwrap()
    );
    c.control("/revoke-refresh-tokens", json!({})).await;
    c.control("/expire-tokens", json!({})).await;
    for _ in 0..2 {
        let r = hf(&c.dir, &["sync", "--once"]).await;
        assert_eq!(r.code, Some(3), "{}", r.all());
    }
    // Once, though the sync failed twice.
    let bodies = hooks.lock().unwrap().clone();
    assert_eq!(bodies.len(), 1, "{bodies:#?}");
    let text = bodies[0]["text"].as_str().unwrap_or_default();
    assert!(text.contains("[sim]") && text.contains("grant"), "{text}");
    let all = bodies[0].to_string();
    assert!(all.contains("hubforce connect"), "{all}");
    assert!(
        all.contains("runbook: client ACME: call Dana (stop.auth.revoked)"),
        "{all}"
    );
    let mail = mails.lock().unwrap().clone();
    assert_eq!(mail.len(), 1, "{mail:?}");
    assert!(mail[0].contains("Subject: [hubforce sim]"), "{}", mail[0]);
    assert!(mail[0].contains("To: ops@example.com"), "{}", mail[0]);
    assert!(
        mail[0].contains("condition: stop.auth.revoked"),
        "{}",
        mail[0]
    );
    // No secret in what was sent: not the webhook's path, not a token.
    let tokens = std::fs::read_to_string(c.dir.join(".hubforce/sim/hubspot.tokens.json"))
        .unwrap_or_default();
    let tokens: Value = serde_json::from_str(&tokens).unwrap_or_default();
    let secrets: Vec<&str> = ["access_token", "refresh_token"]
        .iter()
        .filter_map(|k| tokens[k].as_str())
        .collect();
    assert_eq!(secrets.len(), 2, "the test reads the stored tokens");
    for sent in [all.as_str(), mail[0].as_str()] {
        assert!(!sent.contains("secretpath"), "{sent}");
        for s in &secrets {
            assert!(!sent.contains(s), "a token went out in an alert");
        }
    }
    hubforce::connect::connect_sim_both(&c.session)
        .await
        .expect("reconnect");
    let r = hf(&c.dir, &["sync", "--once"]).await;
    assert_eq!(r.code, Some(0), "{}", r.all());
    let bodies = hooks.lock().unwrap().clone();
    assert_eq!(bodies.len(), 2, "{bodies:#?}");
    let text = bodies[1]["text"].as_str().unwrap_or_default();
    assert!(text.contains("cleared"), "{text}");
    assert_eq!(mails.lock().unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_records_and_a_broken_plugin_alert_as_json_and_clear_when_fixed() {
    let c = common::connected("alerts-records").await;
    let (url, hooks) = webhook_receiver().await;
    let (smtp, _mails) = smtp_sink().await;
    let failing = "return { transform = { Lead = { Description = function(record)\n  error('no description for ' .. tostring(record.email))\nend } } }";
    plugin(&c, "strict", "", failing);
    enable(
        &c,
        &["strict"],
        &alerts_table(&c.dir, &url, "json", smtp, 3),
    );
    let r = hf(&c.dir, &["sync", "--once", "--objects", "contact"]).await;
    assert_eq!(r.code, Some(0), "{}", r.all());
    assert_eq!(keys(&hooks, "raised"), ["record_errors"]);
    let body = hooks.lock().unwrap()[0].clone();
    assert_eq!(body["profile"], "sim");
    assert!(
        body["detail"].as_str().unwrap_or("").contains("plugin"),
        "{body}"
    );
    // Fixed: the next pass retries them, and the condition clears.
    plugin(&c, "strict", "", "return {}");
    let r = hf(&c.dir, &["resync"]).await;
    assert_eq!(r.code, Some(0), "{}", r.all());
    assert_eq!(keys(&hooks, "cleared"), ["record_errors"]);
    // A plugin that does not load: nothing syncs, the command fails, and an alert names
    // the file and line.
    plugin(
        &c,
        "strict",
        "",
        "return {\n  include = function(r) return r.x ==\nend }",
    );
    let r = hf(&c.dir, &["sync", "--once"]).await;
    assert_ne!(r.code, Some(0), "{}", r.all());
    assert_eq!(keys(&hooks, "raised"), ["record_errors", "stop.plugin"]);
    let body = hooks.lock().unwrap().last().cloned().unwrap_or_default();
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or("")
            .contains("plugins/strict/init.lua:"),
        "{body}"
    );
    plugin(&c, "strict", "", "return {}");
    let r = hf(&c.dir, &["sync", "--once"]).await;
    assert_eq!(r.code, Some(0), "{}", r.all());
    assert_eq!(keys(&hooks, "cleared"), ["record_errors", "stop.plugin"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alert_settings_fail_closed_plain_smtp_and_http_only_to_loopback() {
    let c = common::connected("alerts-config").await;
    let toml = c.dir.join("hubforce.toml");
    let original = std::fs::read_to_string(&toml).unwrap();
    let table = "\n[profiles.sim.alerts]\nwebhook = { env = \"NO_SUCH_WEBHOOK_VARIABLE\" }\n";
    enable(&c, &[], table);
    let r = hf(&c.dir, &["sync", "--once"]).await;
    assert_ne!(r.code, Some(0));
    assert!(
        r.stderr.contains("NO_SUCH_WEBHOOK_VARIABLE"),
        "{}",
        r.stderr
    );
    std::fs::write(c.dir.join("webhook.url"), "http://hooks.example.com/x").unwrap();
    std::fs::write(&toml, &original).unwrap();
    enable(
        &c,
        &[],
        "\n[profiles.sim.alerts]\nwebhook = { file = \"webhook.url\" }\n",
    );
    let r = hf(&c.dir, &["sync", "--once"]).await;
    assert_ne!(r.code, Some(0));
    assert!(r.stderr.contains("must be https"), "{}", r.stderr);
    assert!(!r.stderr.contains("hooks.example.com"), "{}", r.stderr);
    std::fs::write(&toml, &original).unwrap();
    enable(
        &c,
        &[],
        "\n[profiles.sim.alerts.email]\nsmtp_host = \"smtp.example.com\"\nsecurity = \"none\"\nfrom = \"a@example.com\"\nto = [\"b@example.com\"]\n",
    );
    let r = hf(&c.dir, &["sync", "--once"]).await;
    assert_eq!(r.code, Some(1), "{}", r.all());
    assert!(r.stderr.contains("hubforce.toml:"), "{}", r.stderr);
    assert!(r.stderr.contains("in the clear"), "{}", r.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_that_fails_during_a_watch_alerts_once_and_clears_when_the_plugin_is_fixed() {
    let c = common::connected("alerts-reload").await;
    let (url, hooks) = webhook_receiver().await;
    let (smtp, _mails) = smtp_sink().await;
    plugin(
        &c,
        "rules",
        "",
        "return { include = function(r) return nil end }",
    );
    let table = alerts_table(&c.dir, &url, "json", smtp, 1000);
    enable(
        &c,
        &["rules"],
        &format!(
            "{table}\n[profiles.sim.sync]\nobjects = [\"contact\"]\nwatch_interval_secs = 1\n"
        ),
    );
    let page =
        common::page::Page::start(&c.dir, &["sync", "--watch", "--serve", "127.0.0.1:0"], &[]);
    let wait_for = |event: &'static str, key: &'static str| {
        let hooks = hooks.clone();
        async move {
            let t0 = std::time::Instant::now();
            while !keys(&hooks, event).iter().any(|k| k == key) {
                assert!(
                    t0.elapsed() < std::time::Duration::from_secs(60),
                    "no {event} {key}: {:?}",
                    hooks.lock().unwrap()
                );
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
        }
    };
    // A first pass with the good plugin, then a save that does not parse.
    let t0 = std::time::Instant::now();
    loop {
        let m = reqwest::get(page.url("/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if !m.contains("hubforce_passes_total{profile=\"sim\"} 0") {
            break;
        }
        assert!(t0.elapsed() < std::time::Duration::from_secs(60), "{m}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    plugin(
        &c,
        "rules",
        "",
        "return {\n  include = function(r) return r.x ==\nend }",
    );
    wait_for("raised", "plugin.rules").await;
    let raised: Vec<Value> = hooks.lock().unwrap().clone();
    let body = raised.iter().find(|b| b["key"] == "plugin.rules").unwrap();
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or("")
            .contains("plugins/rules/init.lua:"),
        "{body}"
    );
    assert!(
        body["title"]
            .as_str()
            .unwrap_or("")
            .contains("last good generation"),
        "{body}"
    );
    // Passes go on with the last good generation; the alert is not repeated.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert_eq!(keys(&hooks, "raised"), ["plugin.rules"]);
    plugin(
        &c,
        "rules",
        "",
        "return { include = function(r) return nil end }",
    );
    wait_for("cleared", "plugin.rules").await;
    drop(page);
}
