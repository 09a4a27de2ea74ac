//! `hubforce.toml`: profiles (one per client), each with its HubSpot app, its Salesforce
//! connected app, budgets, and enabled plugins. Secrets are never written in the file: they
//! are references to environment variables (optionally loaded from an env file) or files.
//! Unknown keys are errors with line numbers.

pub mod alert_settings;
pub mod plugin_limits;
pub mod sync_settings;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer};

use crate::secret::Secret;

pub const FILE_NAME: &str = "hubforce.toml";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{path}: profile `{profile}`: {message}")]
    Invalid {
        path: PathBuf,
        profile: String,
        message: String,
    },
    #[error("{path}: no profile named `{name}` (known: {known})")]
    NoSuchProfile {
        path: PathBuf,
        name: String,
        known: String,
    },
    #[error(
        "{path}: no profile given and none is the default; pass --profile NAME or set default_profile"
    )]
    NoDefaultProfile { path: PathBuf },
    #[error("secret {what}: {message}")]
    Secret { what: String, message: String },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The profile used when no `--profile` is given.
    #[serde(default)]
    pub default_profile: Option<String>,
    /// Where tokens, the request log and the ledger live (relative to this file).
    #[serde(default = "default_state_dir")]
    pub state_dir: PathBuf,
    /// `KEY=VALUE` lines loaded into the environment for secret references (relative to
    /// this file; real environment variables win).
    #[serde(default)]
    pub env_file: Option<PathBuf>,
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
    /// The file this was read from (set after parsing).
    #[serde(skip)]
    pub path: PathBuf,
}

fn default_state_dir() -> PathBuf {
    PathBuf::from(".hubforce")
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    #[serde(default)]
    pub hubspot: Option<HubspotApp>,
    #[serde(default)]
    pub salesforce: Option<SalesforceApp>,
    /// Never write to either side (checks skip their round trip, sync refuses to push).
    #[serde(default)]
    pub read_only: bool,
    /// Enabled plugins, by folder name under `plugins/`.
    #[serde(default)]
    pub plugins: Vec<String>,
    /// Each plugin's own config table (`[profiles.NAME.plugin.PLUGIN]`).
    #[serde(default)]
    pub plugin: BTreeMap<String, toml::Table>,
    /// Overrides of plugins' memory and time limits (`plugin_limits.PLUGIN = { memory_mb, call_ms }`).
    #[serde(default)]
    pub plugin_limits: BTreeMap<String, plugin_limits::LimitSettings>,
    /// What syncs and how (`[profiles.NAME.sync]`).
    #[serde(default)]
    pub sync: sync_settings::SyncSettings,
    /// How `hubforce check` tests (`[profiles.NAME.check]`).
    #[serde(default)]
    pub check: CheckSettings,
    /// Where a sync that needs a person says so (`[profiles.NAME.alerts]`).
    #[serde(default)]
    pub alerts: Option<alert_settings::AlertSettings>,
}

/// `[profiles.NAME.check]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckSettings {
    /// HubSpot properties of the round trip's test contact, over the defaults (a marked
    /// name and company, `lifecyclestage = "lead"`): a profile whose plugins sync only some
    /// contacts gives one they include (`{ lifecyclestage = "customer", country = "Japan" }`).
    /// An `email` may hold `{tag}`, replaced by a unique tag per run.
    #[serde(default)]
    pub test_contact: toml::Table,
}

impl Profile {
    /// Settings and limits only for enabled plugins, under the names the profile enables
    /// them by: a table for anything else is a typo that would silently do nothing.
    fn validate_plugin_tables(&self) -> Result<(), String> {
        let tables = self
            .plugin
            .keys()
            .map(|k| ("plugin", k))
            .chain(self.plugin_limits.keys().map(|k| ("plugin_limits", k)));
        for (table, key) in tables {
            if self.plugins.contains(key) {
                continue;
            }
            let guess = self
                .plugins
                .iter()
                .find(|p| p.rsplit('/').next() == Some(key.as_str()))
                .map(|p| format!("; the plugin is enabled as \"{p}\", so write [profiles.<name>.{table}.\"{p}\"]"))
                .unwrap_or_else(|| format!("; enable it in `plugins` or remove the table (plugins = {:?})", self.plugins));
            return Err(format!(
                "{table}.{key} configures a plugin this profile does not enable{guess}"
            ));
        }
        for (name, limits) in &self.plugin_limits {
            limits.check(&format!("plugin_limits.{name}"))?;
        }
        Ok(())
    }
}

/// A secret's reference: `{ env = "NAME" }` or `{ file = "path" }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretRef {
    Env(String),
    File(PathBuf),
}

impl<'de> Deserialize<'de> for SecretRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Table {
            env: Option<String>,
            file: Option<PathBuf>,
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Form {
            Literal(#[allow(dead_code)] String),
            Table(Table),
        }
        match Form::deserialize(d)? {
            Form::Literal(_) => Err(serde::de::Error::custom(
                "secrets are not written in hubforce.toml: use { env = \"VARIABLE\" } (or { file = \"path\" }) and put the value there",
            )),
            Form::Table(Table {
                env: Some(e),
                file: None,
            }) => Ok(SecretRef::Env(e)),
            Form::Table(Table {
                env: None,
                file: Some(f),
            }) => Ok(SecretRef::File(f)),
            Form::Table(_) => Err(serde::de::Error::custom(
                "a secret reference has exactly one of `env` or `file`",
            )),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum HubspotTier {
    Free,
    Starter,
    #[default]
    Professional,
    Enterprise,
}

impl HubspotTier {
    /// (requests per ten seconds, requests per day) for the tier.
    pub fn limits(self) -> (u32, u64) {
        match self {
            Self::Free | Self::Starter => (100, 250_000),
            Self::Professional => (190, 625_000),
            Self::Enterprise => (190, 1_000_000),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HubspotApp {
    pub client_id: String,
    pub client_secret: SecretRef,
    pub redirect_uri: String,
    /// Scopes the app marks required.
    #[serde(default = "default_hubspot_scopes")]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub optional_scopes: Vec<String>,
    #[serde(default)]
    pub tier: HubspotTier,
    /// Overrides of the tier's limits.
    #[serde(default)]
    pub burst_per_10s: Option<u32>,
    #[serde(default)]
    pub daily_limit: Option<u64>,
    #[serde(default = "default_search_per_second")]
    pub search_per_second: u32,
    /// Calls in flight at once (a batch's chunks, the next pages): the pace is the budget's.
    /// Ten: a 1,000-record batch's 100-input writes in one round.
    #[serde(default = "default_hubspot_in_flight")]
    pub max_in_flight: usize,
    #[serde(default = "default_hubspot_api")]
    pub api_base: String,
    #[serde(default = "default_hubspot_authorize")]
    pub authorize_url: String,
    #[serde(default = "default_hubspot_token")]
    pub token_url: String,
}

/// What the sync needs: objects read/write, owners, lists (inclusion lists), schemas.
pub const DEFAULT_HUBSPOT_SCOPES: &[&str] = &[
    "oauth",
    "crm.objects.contacts.read",
    "crm.objects.contacts.write",
    "crm.objects.companies.read",
    "crm.objects.companies.write",
    "crm.objects.deals.read",
    "crm.objects.deals.write",
    "crm.objects.owners.read",
    "crm.lists.read",
    "crm.lists.write",
    "crm.schemas.contacts.read",
    "crm.schemas.contacts.write",
    "crm.schemas.companies.read",
    "crm.schemas.deals.read",
];

fn default_hubspot_scopes() -> Vec<String> {
    DEFAULT_HUBSPOT_SCOPES
        .iter()
        .map(|s| s.to_string())
        .collect()
}
fn default_search_per_second() -> u32 {
    5
}
fn default_in_flight() -> usize {
    8
}
fn default_hubspot_in_flight() -> usize {
    10
}
fn default_hubspot_api() -> String {
    "https://api.hubapi.com".into()
}
fn default_hubspot_authorize() -> String {
    "https://app.hubspot.com/oauth/authorize".into()
}
fn default_hubspot_token() -> String {
    "https://api.hubapi.com/oauth/v1/token".into()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Edition {
    Developer,
    Professional,
    #[default]
    Enterprise,
    Unlimited,
    Performance,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SalesforceApp {
    /// `production`, `sandbox`, or a My Domain / simulator URL.
    #[serde(default = "default_login")]
    pub login: String,
    pub client_id: String,
    pub client_secret: SecretRef,
    pub redirect_uri: String,
    #[serde(default)]
    pub edition: Edition,
    /// Salesforce licences, for the daily allocation (the incumbent's setup asks the same).
    #[serde(default = "default_seats")]
    pub seats: u64,
    /// The share of the org's daily allocation hubforce may use ("allocated to hubforce").
    #[serde(default = "default_share")]
    pub share: f64,
    /// Overrides the computed allocation.
    #[serde(default)]
    pub daily_limit: Option<u64>,
    /// Calls in flight at once; at most 25, the org's limit of concurrent long-running
    /// requests, which a slow org could otherwise meet.
    #[serde(default = "default_in_flight")]
    pub max_in_flight: usize,
    #[serde(default = "default_api_version")]
    pub api_version: String,
    /// For `hubforce connect salesforce --password`.
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<SecretRef>,
    #[serde(default)]
    pub security_token: Option<SecretRef>,
}

fn default_login() -> String {
    "production".into()
}
fn default_seats() -> u64 {
    10
}
fn default_share() -> f64 {
    0.5
}
fn default_api_version() -> String {
    "62.0".into()
}

impl SalesforceApp {
    /// The login host URL.
    pub fn login_url(&self) -> String {
        match self.login.as_str() {
            "production" => "https://login.salesforce.com".into(),
            "sandbox" => "https://test.salesforce.com".into(),
            url => url.trim_end_matches('/').to_string(),
        }
    }

    pub fn is_sandbox(&self) -> bool {
        self.login == "sandbox" || self.login.contains(".sandbox.my.salesforce.com")
    }

    /// The org's daily API allocation, computed as Salesforce does: edition base plus a
    /// per-licence amount for each seat.
    pub fn daily_allocation(&self) -> u64 {
        if let Some(n) = self.daily_limit {
            return n;
        }
        match self.edition {
            Edition::Developer => 15_000,
            Edition::Professional | Edition::Enterprise => 100_000 + 1_000 * self.seats,
            Edition::Unlimited | Edition::Performance => 100_000 + 5_000 * self.seats,
        }
    }

    /// What hubforce may use of it per day.
    pub fn allocated_to_hubforce(&self) -> u64 {
        (self.daily_allocation() as f64 * self.share).floor() as u64
    }
}

/// A TOML error as `line N, column C: message` and never the line itself: the line may be
/// the secret that was refused (`client_secret = "3b9e-…"`).
pub fn toml_message(text: &str, e: &toml::de::Error) -> String {
    let message = e.message().trim_end().replace('\n', " ");
    match e.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            format!("line {line}, column {column}: {message}")
        }
        None => message,
    }
}

/// Is this URL allowed to carry tokens? https anywhere; plain http only to loopback (the
/// simulator).
pub fn token_safe_url(url: &str) -> Result<(), String> {
    let u = url::Url::parse(url).map_err(|e| format!("{url} is not a URL: {e}"))?;
    match u.scheme() {
        "https" => Ok(()),
        "http" => {
            if u.host_str().is_some_and(loopback_host) {
                Ok(())
            } else {
                Err(format!(
                    "{url} is plain http to a non-loopback host; tokens only travel over https (http is for the local simulator)"
                ))
            }
        }
        other => Err(format!("{url}: unsupported scheme {other}")),
    }
}

/// localhost, 127.0.0.0/8 or ::1 (bracketed or not).
pub fn loopback_host(host: &str) -> bool {
    host == "localhost"
        || host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The redirect URI must be a loopback http URL with a port: hubforce listens there.
fn loopback_redirect(uri: &str) -> Result<(), String> {
    let u = url::Url::parse(uri).map_err(|e| format!("redirect_uri {uri} is not a URL: {e}"))?;
    let host_ok = matches!(u.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    if u.scheme() != "http" || !host_ok || u.port().is_none() {
        return Err(format!(
            "redirect_uri {uri} must be a loopback URL with a port, like http://localhost:8976/callback, where `hubforce connect` listens"
        ));
    }
    Ok(())
}

impl Config {
    /// No file: no profiles (a script or the REPL run without one).
    pub fn empty(path: &Path) -> Config {
        Config {
            default_profile: None,
            state_dir: default_state_dir(),
            env_file: None,
            profiles: BTreeMap::new(),
            path: path.to_path_buf(),
        }
    }

    /// Read and validate a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Config::parse(&text, path)
    }

    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let mut c: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: toml_message(text, &e),
        })?;
        c.path = path.to_path_buf();
        c.validate(text)?;
        Ok(c)
    }

    fn invalid(&self, profile: &str, message: String) -> ConfigError {
        ConfigError::Invalid {
            path: self.path.clone(),
            profile: profile.into(),
            message,
        }
    }

    fn validate(&self, text: &str) -> Result<(), ConfigError> {
        if let Some(d) = &self.default_profile
            && !self.profiles.contains_key(d)
        {
            return Err(self.no_such_profile(d));
        }
        for (name, p) in &self.profiles {
            p.sync.validate().map_err(|m| self.invalid(name, m))?;
            p.validate_plugin_tables()
                .map_err(|m| self.invalid(name, m))?;
            if let Some(a) = &p.alerts {
                a.validate().map_err(|m| {
                    let table = format!("profiles.{name}.alerts");
                    let line = locate::table(text, &table)
                        .or_else(|| locate::table(text, &format!("{table}.email")));
                    let mut e = self.invalid(name, m);
                    if let (ConfigError::Invalid { path, .. }, Some(n)) = (&mut e, line) {
                        *path = PathBuf::from(format!("{}:{n}", path.display()));
                    }
                    e
                })?;
            }
            if let Some(h) = &p.hubspot {
                for url in [&h.api_base, &h.authorize_url, &h.token_url] {
                    token_safe_url(url).map_err(|m| self.invalid(name, format!("hubspot: {m}")))?;
                }
                loopback_redirect(&h.redirect_uri)
                    .map_err(|m| self.invalid(name, format!("hubspot: {m}")))?;
                if !(1..=50).contains(&h.max_in_flight) {
                    return Err(self.invalid(
                        name,
                        format!(
                            "hubspot: max_in_flight must be within 1..=50, got {}",
                            h.max_in_flight
                        ),
                    ));
                }
                if h.client_id.trim().is_empty() {
                    return Err(self.invalid(
                        name,
                        "hubspot: client_id is empty; copy it from the app's Auth settings".into(),
                    ));
                }
            }
            if let Some(s) = &p.salesforce {
                token_safe_url(&s.login_url())
                    .map_err(|m| self.invalid(name, format!("salesforce: login: {m}")))?;
                loopback_redirect(&s.redirect_uri)
                    .map_err(|m| self.invalid(name, format!("salesforce: {m}")))?;
                if !(1..=25).contains(&s.max_in_flight) {
                    return Err(self.invalid(
                        name,
                        format!(
                            "salesforce: max_in_flight must be within 1..=25, got {}",
                            s.max_in_flight
                        ),
                    ));
                }
                if !(s.share > 0.0 && s.share <= 1.0) {
                    return Err(self.invalid(
                        name,
                        format!("salesforce: share must be within (0, 1], got {}", s.share),
                    ));
                }
                if !s.api_version.ends_with(".0")
                    || s.api_version.trim_end_matches(".0").parse::<u32>().is_err()
                {
                    return Err(self.invalid(
                        name,
                        format!(
                            "salesforce: api_version {} should look like \"62.0\"",
                            s.api_version
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    fn no_such_profile(&self, name: &str) -> ConfigError {
        ConfigError::NoSuchProfile {
            path: self.path.clone(),
            name: name.into(),
            known: if self.profiles.is_empty() {
                "none".into()
            } else {
                self.profiles.keys().cloned().collect::<Vec<_>>().join(", ")
            },
        }
    }

    /// Pick a profile: the named one, else the default one, else the only one.
    pub fn profile(&self, name: Option<&str>) -> Result<(&str, &Profile), ConfigError> {
        let name = match name.or(self.default_profile.as_deref()) {
            Some(n) => n,
            None if self.profiles.len() == 1 => self
                .profiles
                .keys()
                .next()
                .map(String::as_str)
                .unwrap_or_default(),
            None => {
                return Err(ConfigError::NoDefaultProfile {
                    path: self.path.clone(),
                });
            }
        };
        self.profiles
            .get_key_value(name)
            .map(|(k, p)| (k.as_str(), p))
            .ok_or_else(|| self.no_such_profile(name))
    }

    fn base_dir(&self) -> PathBuf {
        self.path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default()
    }

    /// The state directory of one profile.
    pub fn state_dir(&self, profile: &str) -> PathBuf {
        self.base_dir().join(&self.state_dir).join(profile)
    }

    /// Variables from the env file (real environment variables take precedence).
    fn env_file_vars(&self) -> Result<HashMap<String, String>, ConfigError> {
        let Some(f) = &self.env_file else {
            return Ok(HashMap::new());
        };
        let path = self.base_dir().join(f);
        let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
            path: path.clone(),
            source,
        })?;
        Ok(text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.trim().to_string(), v.trim().trim_matches('"').to_string()))
            .collect())
    }

    /// The value behind a secret reference.
    pub fn resolve(&self, what: &str, r: &SecretRef) -> Result<Secret, ConfigError> {
        let err = |message: String| ConfigError::Secret {
            what: what.into(),
            message,
        };
        let value = match r {
            SecretRef::Env(name) => match std::env::var(name) {
                Ok(v) => v,
                Err(_) => self
                    .env_file_vars()?
                    .remove(name)
                    .ok_or_else(|| err(format!("environment variable {name} is not set (hubforce.toml names it for this secret)")))?,
            },
            SecretRef::File(f) => {
                let path = self.base_dir().join(f);
                std::fs::read_to_string(&path)
                    .map_err(|e| err(format!("cannot read {}: {e}", path.display())))?
                    .trim()
                    .to_string()
            }
        };
        if value.is_empty() {
            return Err(err("the value is empty".into()));
        }
        Ok(Secret::new(value))
    }
}

/// Where in a config file's text something of a profile is written, for errors that point at
/// `hubforce.toml:LINE`. A plain scan of table headers and keys: the file parsed already, so
/// this only has to find, not to judge.
pub mod locate {
    /// The table a line is in, unquoted: `[profiles."a b".plugin."x/y"]` → `profiles.a b.plugin.x/y`.
    fn header(line: &str) -> Option<String> {
        let t = line.trim();
        let inner = t.strip_prefix('[')?.split(']').next()?;
        Some(
            inner
                .split('.')
                .map(|p| p.trim().trim_matches('"').trim_matches('\''))
                .collect::<Vec<_>>()
                .join("."),
        )
    }

    fn quoted(line: &str, value: &str) -> bool {
        line.contains(&format!("\"{value}\"")) || line.contains(&format!("'{value}'"))
    }

    /// The key a line sets, unquoted (`"x/y" = { … }` → `x/y`).
    fn key(line: &str) -> Option<&str> {
        let (k, _) = line.split_once('=')?;
        let k = k.trim().trim_matches('"').trim_matches('\'');
        (!k.is_empty() && !k.starts_with('#')).then_some(k)
    }

    /// 1-based line numbers with their table.
    fn lines(text: &str) -> Vec<(usize, String, &str)> {
        let mut table = String::new();
        let mut out = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if let Some(h) = header(line) {
                table = h;
            }
            out.push((i + 1, table.clone(), line));
        }
        out
    }

    /// The line of the header of table `table` (`profiles.acme.alerts`).
    pub fn table(text: &str, table: &str) -> Option<usize> {
        text.lines()
            .position(|l| header(l).as_deref() == Some(table))
            .map(|i| i + 1)
    }

    /// The line of profile `profile`'s `plugins = [...]` entry naming `plugin`.
    pub fn plugin_entry(text: &str, profile: &str, plugin: &str) -> Option<usize> {
        let table = format!("profiles.{profile}");
        lines(text)
            .into_iter()
            .filter(|(_, t, l)| *t == table && !l.trim_start().starts_with('#'))
            .find(|(_, _, l)| quoted(l, plugin))
            .map(|(n, _, _)| n)
    }

    /// The line of `value` in profile `profile`'s `sync.KEY = [...]` list — under
    /// `[profiles.P.sync]` or dotted under `[profiles.P]`, on the key's line or below it.
    pub fn sync_list_entry(text: &str, profile: &str, key: &str, value: &str) -> Option<usize> {
        let own = format!("profiles.{profile}.sync");
        let top = format!("profiles.{profile}");
        let dotted = format!("sync.{key}");
        let lines = lines(text);
        let start = lines.iter().position(|(_, t, l)| {
            (*t == own && self::key(l) == Some(key)) || (*t == top && self::key(l) == Some(&dotted))
        })?;
        lines[start..]
            .iter()
            .take_while(|(n, t, _)| *t == lines[start].1 && *n >= lines[start].0)
            .enumerate()
            .take_while(|(i, (_, _, l))| *i == 0 || !l.contains('='))
            .find(|(_, (_, _, l))| quoted(l, value))
            .map(|(_, (n, _, _))| *n)
    }

    /// The line setting `key` of plugin `plugin` in profile `profile` — in
    /// `[profiles.P.plugin.NAME]`, an inline table under `[profiles.P.plugin]`, or dotted
    /// under `[profiles.P]` — else the line of the plugin's table.
    pub fn plugin_setting(text: &str, profile: &str, plugin: &str, key: &str) -> Option<usize> {
        let own = format!("profiles.{profile}.plugin.{plugin}");
        let all = format!("profiles.{profile}.plugin");
        let top = format!("profiles.{profile}");
        let lines = lines(text);
        let sets = |l: &str, k: &str| self::key(l) == Some(k);
        lines
            .iter()
            .find(|(_, t, l)| *t == own && sets(l, key))
            .or_else(|| {
                lines
                    .iter()
                    .find(|(_, t, l)| *t == all && self::key(l) == Some(plugin) && l.contains(key))
            })
            .or_else(|| {
                lines.iter().find(|(_, t, l)| {
                    *t == top
                        && self::key(l)
                            .is_some_and(|k| k.starts_with("plugin.") && k.ends_with(key))
                })
            })
            .or_else(|| {
                lines
                    .iter()
                    .find(|(_, _, l)| header(l).as_deref() == Some(own.as_str()))
            })
            .map(|(n, _, _)| *n)
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        const TEXT: &str = r#"default_profile = "acme"

[profiles.acme]
plugins = [
  "default",
  "globx",
]

[profiles.acme.plugin.default]
owner_mapp = { a = "b" }

[profiles.acme.plugin."examples/northwind"]
min_stage = "lead"
"#;

        #[test]
        fn entries_and_settings_are_found_by_line() {
            assert_eq!(plugin_entry(TEXT, "acme", "globx"), Some(6));
            assert_eq!(plugin_entry(TEXT, "other", "globx"), None);
            assert_eq!(
                plugin_setting(TEXT, "acme", "default", "owner_mapp"),
                Some(10)
            );
            assert_eq!(
                plugin_setting(TEXT, "acme", "examples/northwind", "countries"),
                Some(12),
                "the plugin's table when the key is not written"
            );
        }
    }
}

/// The starter file `hubforce init` writes.
pub const STARTER: &str = r#"# hubforce.toml — one profile per client. Secrets are never written here: each secret is
# a reference to an environment variable ({ env = "NAME" }) or a file ({ file = "path" }).

default_profile = "acme"
# state_dir = ".hubforce"        # tokens (0600), request log, ledger
# env_file = ".env"              # KEY=VALUE lines for the secret variables

[profiles.acme]
plugins = ["default"]            # folders under plugins/
# read_only = true               # never write to either side

[profiles.acme.hubspot]
client_id = "00000000-0000-0000-0000-000000000000"   # the app's Auth page
client_secret = { env = "ACME_HUBSPOT_CLIENT_SECRET" }
redirect_uri = "http://localhost:8976/callback/hubspot" # register exactly this in the app
# scopes = ["oauth", "crm.objects.contacts.read", ...]  # the scopes the app marks required
tier = "professional"            # free | starter | professional | enterprise (rate limits)

[profiles.acme.salesforce]
login = "production"             # production | sandbox | https://yourdomain.my.salesforce.com
client_id = "3MVG9..."           # the connected app's consumer key
client_secret = { env = "ACME_SALESFORCE_CLIENT_SECRET" }
redirect_uri = "http://localhost:8976/callback/salesforce"
edition = "enterprise"           # developer | professional | enterprise | unlimited
seats = 50                       # Salesforce licences: daily allocation = 100,000 + 1,000 × seats
share = 0.5                      # the part of the daily allocation hubforce may use
# username = "integration@acme.example.com"          # for `connect salesforce --password`
# password = { env = "ACME_SALESFORCE_PASSWORD" }
# security_token = { env = "ACME_SALESFORCE_TOKEN" }
"#;

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("/x/hubforce.toml"))
    }

    #[test]
    fn the_starter_file_parses() {
        let c = parse(STARTER).unwrap();
        let (name, p) = c.profile(None).unwrap();
        assert_eq!(name, "acme");
        let sf = p.salesforce.as_ref().unwrap();
        assert_eq!(sf.daily_allocation(), 150_000);
        assert_eq!(sf.allocated_to_hubforce(), 75_000);
        assert_eq!(c.state_dir("acme"), PathBuf::from("/x/.hubforce/acme"));
    }

    #[test]
    fn unknown_keys_are_errors_with_a_line_number() {
        let text = STARTER.replace(
            "tier = \"professional\"",
            "tier = \"professional\"\nteir = 3",
        );
        let e = parse(&text).unwrap_err().to_string();
        assert!(e.contains("unknown field `teir`"), "{e}");
        assert!(e.contains("line 18"), "{e}");
    }

    #[test]
    fn literal_secrets_and_plain_http_to_remote_hosts_are_refused() {
        let text = STARTER.replace("{ env = \"ACME_HUBSPOT_CLIENT_SECRET\" }", "\"s3cret\"");
        let e = parse(&text).unwrap_err().to_string();
        assert!(
            e.contains("secrets are not written in hubforce.toml"),
            "{e}"
        );
        let line = text.lines().position(|l| l.contains("s3cret")).unwrap() + 1;
        assert!(e.contains(&format!("line {line}")), "{e}");
        assert!(
            !e.contains("s3cret"),
            "the refused secret is not echoed: {e}"
        );
        let text = STARTER.replace(
            "login = \"production\"",
            "login = \"http://login.example.com\"",
        );
        let e = parse(&text).unwrap_err().to_string();
        assert!(e.contains("plain http"), "{e}");
        let text = STARTER.replace(
            "login = \"production\"",
            "login = \"http://127.0.0.1:4000\"",
        );
        assert!(parse(&text).is_ok());
        let text = STARTER.replace(
            "http://localhost:8976/callback/hubspot",
            "https://example.com/cb",
        );
        assert!(
            parse(&text)
                .unwrap_err()
                .to_string()
                .contains("loopback URL")
        );
    }

    #[test]
    fn secrets_resolve_from_the_environment_or_the_env_file() {
        let dir = std::env::temp_dir().join(format!("hubforce-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("sim.env"),
            "HF_TEST_SECRET_A=from-file\n# comment\n",
        )
        .unwrap();
        let text = format!("env_file = \"sim.env\"\n{STARTER}");
        let c = Config::parse(&text, &dir.join("hubforce.toml")).unwrap();
        let s = c
            .resolve(
                "hubspot client secret",
                &SecretRef::Env("HF_TEST_SECRET_A".into()),
            )
            .unwrap();
        assert_eq!(s.expose(), "from-file");
        let e = c
            .resolve(
                "hubspot client secret",
                &SecretRef::Env("HF_TEST_SECRET_MISSING".into()),
            )
            .unwrap_err();
        assert!(e.to_string().contains("HF_TEST_SECRET_MISSING is not set"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn profiles_are_picked_by_name_default_or_uniqueness() {
        let c = parse(STARTER).unwrap();
        assert!(
            c.profile(Some("nope"))
                .unwrap_err()
                .to_string()
                .contains("known: acme")
        );
        let two = STARTER.replace("default_profile = \"acme\"\n", "") + "\n[profiles.other]\n";
        let c = parse(&two).unwrap();
        assert!(matches!(
            c.profile(None),
            Err(ConfigError::NoDefaultProfile { .. })
        ));
    }
}
