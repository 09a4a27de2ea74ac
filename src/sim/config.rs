//! Simulator settings: data volume, the registered apps, token lifetimes and limits.

/// Everything that shapes a simulator run. `SimConfig::default()` is a small, limited,
/// Professional-portal / Enterprise-org pair; `without_limits()` is what benchmarks use.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Same seed, same records, same credentials.
    pub seed: u64,
    pub contacts: usize,
    pub companies: usize,
    pub deals: usize,
    /// Salesforce Leads; Salesforce also gets Accounts, Contacts and Opportunities
    /// overlapping the HubSpot data (see the seeders).
    pub leads: usize,
    /// HubSpot tickets and Salesforce Cases of two record types (0: none beyond the few
    /// Cases every org has).
    pub tickets: usize,
    /// A HubSpot custom object "subscriptions" and Salesforce `Subscription__c` with this
    /// many records each (0: neither side defines the object).
    pub subscriptions: usize,
    /// 0 = chosen by the OS.
    pub hubspot_port: u16,
    pub salesforce_login_port: u16,
    pub salesforce_instance_port: u16,
    pub control_port: u16,
    /// Master switch for every rate limit and quota on both sides.
    pub limits: bool,
    pub hubspot: HubspotSettings,
    pub salesforce: SalesforceSettings,
}

#[derive(Debug, Clone)]
pub struct HubspotSettings {
    pub portal_id: u64,
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uri: String,
    /// Scopes the app marks required: every one must be in the authorize URL's `scope`.
    pub required_scopes: Vec<String>,
    /// Scopes the app marks optional (granted when asked for in `optional_scope`).
    pub optional_scopes: Vec<String>,
    pub access_token_ttl_secs: u64,
    /// HubSpot reportedly returns the same refresh token on refresh; rotation is a toggle.
    pub rotate_refresh_tokens: bool,
    /// Requests per rolling ten-second window per app and portal (Professional: 190).
    pub burst_per_10s: u32,
    /// Requests per day per portal (Professional: 625,000).
    pub daily_limit: u64,
    /// CRM search requests per second per portal.
    pub search_per_second: u32,
    /// `X-HubSpot-RateLimit-Daily*` headers are sent for private-app tokens only; OAuth apps
    /// get just the interval headers. Set to emulate a private app's view.
    pub daily_headers: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SalesforceEdition {
    Developer,
    Professional,
    Enterprise,
    Unlimited,
}

impl SalesforceEdition {
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "developer" => Some(Self::Developer),
            "professional" => Some(Self::Professional),
            "enterprise" => Some(Self::Enterprise),
            "unlimited" | "performance" => Some(Self::Unlimited),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct SalesforceSettings {
    pub org_id: String,
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uri: String,
    /// The integration user's username before any sandbox suffix.
    pub username_base: String,
    pub password: String,
    pub security_token: String,
    /// Answer as test.salesforce.com and a sandbox org do (username suffix, IsSandbox).
    pub sandbox: bool,
    pub sandbox_name: String,
    /// Session timeout; the inactivity timer restarts on every call.
    pub session_ttl_secs: u64,
    pub rotate_refresh_tokens: bool,
    /// A refresh that takes this long; a second refresh of the same token meanwhile gets
    /// `token request is already being processed` (Summer '24 behaviour).
    pub refresh_processing_ms: u64,
    pub edition: SalesforceEdition,
    pub seats: u64,
    /// Overrides the computed daily allocation when set.
    pub daily_api_limit: Option<u64>,
    /// Concurrent long-running (>= `long_request_secs`) requests allowed.
    pub max_long_requests: usize,
    pub long_request_secs: u64,
    /// The standard duplicate rule on Lead/Contact email; on by default like a new org.
    pub duplicate_rule: bool,
    pub api_version: String,
    /// Open query cursors per user before the oldest is freed.
    pub max_query_cursors: usize,
    /// The connected app has the `api` OAuth scope and the user "API Enabled"; when not,
    /// every REST call answers 401 "This session is not valid for use with the REST API".
    pub rest_api_enabled: bool,
    /// The user has approved (or an admin pre-authorised) the connected app; when not,
    /// token requests answer `invalid_grant` "user hasn't approved this consumer".
    pub consumer_approved: bool,
}

impl SalesforceSettings {
    /// The username as the org knows it (sandboxes append `.<sandbox name>`).
    pub fn username(&self) -> String {
        if self.sandbox {
            format!("{}.{}", self.username_base, self.sandbox_name)
        } else {
            self.username_base.clone()
        }
    }

    /// The daily API request allocation, computed the way Salesforce does:
    /// edition base plus a per-licence amount for each seat.
    pub fn daily_allocation(&self) -> u64 {
        if let Some(n) = self.daily_api_limit {
            return n;
        }
        if self.sandbox {
            return 5_000_000;
        }
        match self.edition {
            SalesforceEdition::Developer => 15_000,
            SalesforceEdition::Professional | SalesforceEdition::Enterprise => {
                100_000 + 1_000 * self.seats
            }
            SalesforceEdition::Unlimited => 100_000 + 5_000 * self.seats,
        }
    }
}

/// Deterministic pseudo-random credential text, so the same seed gives the same apps.
fn token_like(rng: &mut fastrand::Rng, len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    (0..len)
        .map(|_| ALPHABET[rng.usize(..ALPHABET.len())] as char)
        .collect()
}

fn uuid_like(rng: &mut fastrand::Rng) -> String {
    let h: String = (0..32)
        .map(|_| char::from_digit(rng.u32(..16), 16).unwrap_or('0'))
        .collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

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

impl SimConfig {
    /// Register the loopback redirect URIs on a port that is free now, so that several
    /// connected simulators (tests, the demo) can run side by side.
    pub fn with_free_redirect_port(mut self) -> SimConfig {
        // Below Linux's ephemeral range (32768+), so that outgoing connections made between
        // choosing the port and listening on it cannot take it.
        let port = (0..64)
            .map(|_| fastrand::u16(20_000..32_000))
            .find(|p| std::net::TcpListener::bind(("127.0.0.1", *p)).is_ok())
            .unwrap_or(8976);
        self.hubspot.redirect_uri = format!("http://localhost:{port}/callback/hubspot");
        self.salesforce.redirect_uri = format!("http://localhost:{port}/callback/salesforce");
        self
    }

    pub fn new(seed: u64) -> SimConfig {
        let mut rng = fastrand::Rng::with_seed(seed ^ 0x5EED_C0DE);
        let org_suffix = token_like(&mut rng, 10).to_ascii_uppercase();
        SimConfig {
            seed,
            contacts: 200,
            companies: 60,
            deals: 80,
            leads: 100,
            tickets: 0,
            subscriptions: 0,
            hubspot_port: 0,
            salesforce_login_port: 0,
            salesforce_instance_port: 0,
            control_port: 0,
            limits: true,
            hubspot: HubspotSettings {
                portal_id: 40_000_000 + rng.u64(..9_000_000),
                client_id: uuid_like(&mut rng),
                client_secret: uuid_like(&mut rng),
                redirect_uri: "http://localhost:8976/callback/hubspot".into(),
                required_scopes: DEFAULT_HUBSPOT_SCOPES
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
                optional_scopes: vec![
                    "crm.schemas.custom.read".into(),
                    "crm.schemas.custom.write".into(),
                    "crm.objects.custom.read".into(),
                    "crm.objects.custom.write".into(),
                    "tickets".into(),
                    "sales-email-read".into(),
                    "crm.import".into(),
                ],
                access_token_ttl_secs: 1800,
                rotate_refresh_tokens: false,
                burst_per_10s: 190,
                daily_limit: 625_000,
                search_per_second: 5,
                daily_headers: false,
            },
            salesforce: SalesforceSettings {
                org_id: format!("00D5g{org_suffix}"),
                client_id: format!("3MVG9{}", token_like(&mut rng, 80)),
                client_secret: token_like(&mut rng, 64).to_ascii_uppercase(),
                redirect_uri: "http://localhost:8976/callback/salesforce".into(),
                username_base: "integration@acme-sim.example.com".into(),
                password: format!("Sim-{}", token_like(&mut rng, 10)),
                security_token: token_like(&mut rng, 24),
                sandbox: false,
                sandbox_name: "uat".into(),
                session_ttl_secs: 7200,
                rotate_refresh_tokens: false,
                refresh_processing_ms: 0,
                edition: SalesforceEdition::Enterprise,
                seats: 50,
                daily_api_limit: None,
                max_long_requests: 25,
                long_request_secs: 20,
                duplicate_rule: true,
                api_version: "62.0".into(),
                max_query_cursors: 10,
                rest_api_enabled: true,
                consumer_approved: true,
            },
        }
    }

    /// Limits off: the setting for throughput benchmarks of the simulator itself.
    pub fn without_limits(mut self) -> SimConfig {
        self.limits = false;
        self
    }
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig::new(42)
    }
}
