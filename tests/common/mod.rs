//! Shared test fixture: the simulator in process on port 0, and a raw HTTP client that
//! connects to both sides the way a documented client would.

#![allow(dead_code)]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hubforce::sim::{ReadyInfo, SimConfig, Simulator};
use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// A simulator (small seed, a free redirect port) and a profile connected to it through both
/// browser flows, in a fresh folder that is removed on drop.
pub mod cli;
pub mod default_plugin;
pub mod page;

pub struct Connected {
    pub sim: Simulator,
    pub dir: std::path::PathBuf,
    pub session: hubforce::session::Session,
}

impl Drop for Connected {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub async fn connected(name: &str) -> Connected {
    connected_with(name, small_config()).await
}

/// [`connected`] to a simulator seeded as `config` says.
pub async fn connected_with(name: &str, config: SimConfig) -> Connected {
    let sim = Simulator::start(config.with_free_redirect_port())
        .await
        .expect("simulator starts");
    let dir = std::env::temp_dir().join(format!(
        "hubforce-{name}-{}-{}",
        std::process::id(),
        fastrand::u64(..)
    ));
    let session = hubforce::connect::sim_session(&sim, &dir)
        .await
        .expect("connected");
    Connected { sim, dir, session }
}

impl Connected {
    /// POST to the simulator's control API; it must succeed.
    pub async fn control(&self, path: &str, body: Value) {
        let url = format!("{}{path}", self.sim.ready_info().control);
        let s = Client::new()
            .post(url)
            .json(&body)
            .send()
            .await
            .expect("control")
            .status();
        assert!(s.is_success(), "{path}: {s}");
    }

    /// DELETE on the control API (`/faults`).
    pub async fn control_delete(&self, path: &str) {
        let url = format!("{}{path}", self.sim.ready_info().control);
        let s = Client::new()
            .delete(url)
            .send()
            .await
            .expect("control")
            .status();
        assert!(s.is_success(), "{path}: {s}");
    }

    /// GET on the control API (`/stats`, `/faults`).
    pub async fn control_get(&self, path: &str) -> Value {
        let url = format!("{}{path}", self.sim.ready_info().control);
        json(Client::new().get(url).send().await.expect("control"))
            .await
            .1
    }
}

pub struct Fixture {
    pub sim: Simulator,
    pub info: ReadyInfo,
    pub http: Client,
}

/// A small seed so tests are quick; `tweak` adjusts the config.
pub fn small_config() -> SimConfig {
    let mut c = SimConfig::new(7);
    c.contacts = 60;
    c.companies = 20;
    c.deals = 20;
    c.leads = 40;
    c
}

pub async fn start(config: SimConfig) -> Fixture {
    let sim = Simulator::start(config).await.expect("simulator starts");
    let info = sim.ready_info().clone();
    let http = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    Fixture { sim, info, http }
}

pub fn param(url: &str, key: &str) -> Option<String> {
    let u = url::Url::parse(url).ok()?;
    u.query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

pub async fn json(resp: Response) -> (StatusCode, Value) {
    let status = resp.status();
    let text = resp.text().await.expect("body");
    let v = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, v)
}

impl Fixture {
    pub fn control(&self, path: &str) -> String {
        format!("{}{path}", self.info.control)
    }

    pub async fn control_post(&self, path: &str, body: Value) -> StatusCode {
        self.http
            .post(self.control(path))
            .json(&body)
            .send()
            .await
            .expect("control")
            .status()
    }

    pub async fn stats(&self) -> Value {
        json(
            self.http
                .get(self.control("/stats"))
                .send()
                .await
                .expect("stats"),
        )
        .await
        .1
    }

    // ---- HubSpot ----

    pub fn hs_authorize_url(&self, scopes: &str, state: &str) -> String {
        let hs = &self.info.hubspot;
        let mut u = url::Url::parse(&hs.authorize_url).unwrap();
        u.query_pairs_mut()
            .append_pair("client_id", &hs.client_id)
            .append_pair("redirect_uri", &hs.redirect_uri)
            .append_pair("scope", scopes)
            .append_pair("state", state);
        u.to_string()
    }

    /// The code from an approved HubSpot install.
    pub async fn hs_code(&self) -> String {
        self.hs_code_with_optional(None).await
    }

    /// The code from an install that also asks for the app's optional `extra` scopes.
    pub async fn hs_code_with_optional(&self, extra: Option<&str>) -> String {
        let scopes = self.info.hubspot.scopes.join(" ");
        let mut u = url::Url::parse(&self.hs_authorize_url(&scopes, "s1")).unwrap();
        if let Some(extra) = extra {
            u.query_pairs_mut().append_pair("optional_scope", extra);
        }
        let r = self.http.get(u).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FOUND);
        let loc = r.headers()["location"].to_str().unwrap().to_string();
        assert_eq!(param(&loc, "state").as_deref(), Some("s1"));
        param(&loc, "code").expect("code in redirect")
    }

    pub async fn hs_token(&self, form: &[(&str, &str)]) -> (StatusCode, Value) {
        json(
            self.http
                .post(&self.info.hubspot.token_url)
                .form(form)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// (access token, refresh token) from a full code flow.
    pub async fn hs_connect(&self) -> (String, String) {
        self.hs_connect_with_optional(None).await
    }

    /// (access token, refresh token) of an install that also grants optional `extra` scopes.
    pub async fn hs_connect_with_optional(&self, extra: Option<&str>) -> (String, String) {
        let code = self.hs_code_with_optional(extra).await;
        let hs = &self.info.hubspot;
        let (s, v) = self
            .hs_token(&[
                ("grant_type", "authorization_code"),
                ("client_id", &hs.client_id),
                ("client_secret", &hs.client_secret),
                ("redirect_uri", &hs.redirect_uri),
                ("code", &code),
            ])
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        (
            v["access_token"].as_str().unwrap().into(),
            v["refresh_token"].as_str().unwrap().into(),
        )
    }

    /// One bearer-authenticated request, with a JSON body when given.
    async fn authed(
        &self,
        method: reqwest::Method,
        url: String,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.http.request(method, url).bearer_auth(token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        json(req.send().await.unwrap()).await
    }

    pub fn hs_url(&self, path: &str) -> String {
        format!("{}{path}", self.info.hubspot.api_base)
    }

    pub async fn hs_get(&self, token: &str, path: &str) -> (StatusCode, Value) {
        self.authed(reqwest::Method::GET, self.hs_url(path), token, None)
            .await
    }

    pub async fn hs_send(
        &self,
        token: &str,
        method: reqwest::Method,
        path: &str,
        body: Value,
    ) -> (StatusCode, Value) {
        self.authed(method, self.hs_url(path), token, Some(body))
            .await
    }

    pub async fn hs_post(&self, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
        self.hs_send(token, reqwest::Method::POST, path, body).await
    }

    // ---- Salesforce ----

    /// (access token, refresh token, instance URL) from the web-server flow with PKCE.
    pub async fn sf_connect(&self) -> (String, String, String) {
        let sf = &self.info.salesforce;
        let verifier = "v".repeat(50);
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        let mut u =
            url::Url::parse(&format!("{}/services/oauth2/authorize", sf.login_url)).unwrap();
        u.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &sf.client_id)
            .append_pair("redirect_uri", &sf.redirect_uri)
            .append_pair("code_challenge", &challenge)
            .append_pair("state", "xyz");
        let r = self.http.get(u).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FOUND);
        let loc = r.headers()["location"].to_str().unwrap().to_string();
        let code = param(&loc, "code").expect("code");
        let (s, v) = self
            .sf_token(&[
                ("grant_type", "authorization_code"),
                ("client_id", &sf.client_id),
                ("client_secret", &sf.client_secret),
                ("redirect_uri", &sf.redirect_uri),
                ("code", &code),
                ("code_verifier", &verifier),
            ])
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        (
            v["access_token"].as_str().unwrap().into(),
            v["refresh_token"].as_str().unwrap().into(),
            v["instance_url"].as_str().unwrap().into(),
        )
    }

    pub async fn sf_token(&self, form: &[(&str, &str)]) -> (StatusCode, Value) {
        let url = format!("{}/services/oauth2/token", self.info.salesforce.login_url);
        json(self.http.post(url).form(form).send().await.unwrap()).await
    }

    pub fn sf_url(&self, path: &str) -> String {
        format!(
            "{}/services/data/v{}{path}",
            self.info.salesforce.instance_url, self.info.salesforce.api_version
        )
    }

    pub async fn sf_get(&self, token: &str, path: &str) -> (StatusCode, Value) {
        self.authed(reqwest::Method::GET, self.sf_url(path), token, None)
            .await
    }

    pub async fn sf_send(
        &self,
        token: &str,
        method: reqwest::Method,
        path: &str,
        body: Value,
    ) -> (StatusCode, Value) {
        self.authed(method, self.sf_url(path), token, Some(body))
            .await
    }

    pub async fn sf_query(&self, token: &str, soql: &str) -> (StatusCode, Value) {
        json(
            self.http
                .get(self.sf_url("/query"))
                .query(&[("q", soql)])
                .bearer_auth(token)
                .send()
                .await
                .unwrap(),
        )
        .await
    }
}

pub fn error_code(v: &Value) -> String {
    v[0]["errorCode"].as_str().unwrap_or_default().to_string()
}

pub fn faults(f: &Fixture, spec: Value) -> impl std::future::Future<Output = StatusCode> + '_ {
    f.control_post("/faults", spec)
}

pub fn no_body() -> Value {
    json!({})
}
