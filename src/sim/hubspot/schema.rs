//! HubSpot object types and property definitions, and how a written value is validated and
//! normalized (HubSpot stores every property value as a string).

use serde_json::{Value, json};

use super::errors::invalid_property;
use crate::sim::clock::{date_string, from_ms, hubspot_iso, parse_date, parse_datetime};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ObjectType {
    Contacts,
    Companies,
    Deals,
    Tasks,
    Tickets,
    /// A custom object a portal defined through the schemas API.
    Custom(&'static CustomType),
}

/// A custom object type's names. Leaked once per schema a portal creates, so the type stays
/// `Copy` like the standard ones; a simulator creates a handful.
#[derive(Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CustomType {
    /// `2-…`
    pub type_id: String,
    /// `p{portalId}_{name}`
    pub fqn: String,
    pub name: String,
    pub singular: String,
    /// The number in the type id, which association type ids derive from.
    pub number: u32,
    pub defaults: Vec<&'static str>,
    /// What a search's `query` looks in (the schema's `searchableProperties`).
    pub searchable: Vec<&'static str>,
}

impl ObjectType {
    pub const ALL: [ObjectType; 5] = [
        Self::Contacts,
        Self::Companies,
        Self::Deals,
        Self::Tasks,
        Self::Tickets,
    ];

    /// A standard type, or one of `customs` by its type id or fully qualified name (how
    /// HubSpot addresses custom objects).
    pub fn resolve(s: &str, customs: &[&'static CustomType]) -> Option<ObjectType> {
        ObjectType::parse(s).or_else(|| {
            customs
                .iter()
                .find(|c| c.type_id == s || c.fqn.eq_ignore_ascii_case(s))
                .map(|c| ObjectType::Custom(c))
        })
    }

    /// Standard object types are addressed by plural name or by type id (`0-1`).
    pub fn parse(s: &str) -> Option<ObjectType> {
        match s.to_ascii_lowercase().as_str() {
            "contacts" | "contact" | "0-1" => Some(Self::Contacts),
            "companies" | "company" | "0-2" => Some(Self::Companies),
            "deals" | "deal" | "0-3" => Some(Self::Deals),
            "tasks" | "task" | "0-27" => Some(Self::Tasks),
            "tickets" | "ticket" | "0-5" => Some(Self::Tickets),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Contacts => "contacts",
            Self::Companies => "companies",
            Self::Deals => "deals",
            Self::Tasks => "tasks",
            Self::Tickets => "tickets",
            Self::Custom(c) => &c.fqn,
        }
    }

    pub fn singular(self) -> &'static str {
        match self {
            Self::Contacts => "contact",
            Self::Companies => "company",
            Self::Deals => "deal",
            Self::Tasks => "task",
            Self::Tickets => "ticket",
            Self::Custom(c) => &c.singular,
        }
    }

    pub fn type_id(self) -> &'static str {
        match self {
            Self::Contacts => "0-1",
            Self::Companies => "0-2",
            Self::Deals => "0-3",
            Self::Tasks => "0-27",
            Self::Tickets => "0-5",
            Self::Custom(c) => &c.type_id,
        }
    }

    /// The noun in `crm.objects.<noun>.read`; tasks ride on the contacts scopes.
    pub fn scope_noun(self) -> &'static str {
        match self {
            Self::Tasks => "contacts",
            Self::Custom(_) => "custom",
            other => other.name(),
        }
    }

    /// Contacts predate the `hs_` prefix.
    pub fn modified_property(self) -> &'static str {
        match self {
            Self::Contacts => "lastmodifieddate",
            _ => "hs_lastmodifieddate",
        }
    }

    pub fn created_property(self) -> &'static str {
        match self {
            Self::Tasks | Self::Custom(_) => "hs_createdate",
            _ => "createdate",
        }
    }

    /// Returned when a read names no properties.
    pub fn default_properties(self) -> &'static [&'static str] {
        match self {
            Self::Contacts => &[
                "createdate",
                "email",
                "firstname",
                "hs_object_id",
                "lastmodifieddate",
                "lastname",
            ],
            Self::Companies => &[
                "createdate",
                "domain",
                "hs_lastmodifieddate",
                "hs_object_id",
                "name",
            ],
            Self::Deals => &[
                "amount",
                "closedate",
                "createdate",
                "dealname",
                "dealstage",
                "hs_lastmodifieddate",
                "hs_object_id",
                "pipeline",
            ],
            Self::Tasks => &[
                "hs_createdate",
                "hs_lastmodifieddate",
                "hs_object_id",
                "hs_timestamp",
            ],
            Self::Tickets => &[
                "content",
                "createdate",
                "hs_lastmodifieddate",
                "hs_object_id",
                "hs_pipeline",
                "hs_pipeline_stage",
                "hs_ticket_category",
                "hs_ticket_priority",
                "subject",
            ],
            Self::Custom(c) => &c.defaults,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PropKind {
    String,
    Number,
    Date,
    DateTime,
    Enumeration,
    Bool,
}

impl PropKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Number => "number",
            Self::Date => "date",
            Self::DateTime => "datetime",
            Self::Enumeration => "enumeration",
            Self::Bool => "bool",
        }
    }

    pub fn parse(s: &str) -> Option<PropKind> {
        Some(match s {
            "string" => Self::String,
            "number" => Self::Number,
            "date" => Self::Date,
            "datetime" => Self::DateTime,
            "enumeration" => Self::Enumeration,
            "bool" => Self::Bool,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone)]
pub struct PropertyDef {
    pub name: String,
    pub label: String,
    pub kind: PropKind,
    /// `text`, `textarea`, `phonenumber`, `number`, `date`, `select`, `radio`, `checkbox`
    /// (multi-select), `booleancheckbox`, `calculation_equation`…
    pub field_type: String,
    pub group: String,
    pub options: Vec<(String, String)>,
    pub read_only: bool,
    pub unique: bool,
    pub required: bool,
    pub custom: bool,
}

impl PropertyDef {
    pub fn new(
        name: &str,
        label: &str,
        kind: PropKind,
        field_type: &str,
        group: &str,
    ) -> PropertyDef {
        PropertyDef {
            name: name.into(),
            label: label.into(),
            kind,
            field_type: field_type.into(),
            group: group.into(),
            options: Vec::new(),
            read_only: false,
            unique: false,
            required: false,
            custom: false,
        }
    }

    pub fn multi_select(&self) -> bool {
        self.kind == PropKind::Enumeration && self.field_type == "checkbox"
    }

    /// The property as `GET /crm/v3/properties/{objectType}` lists it.
    pub fn to_json(&self, display_order: usize) -> Value {
        let options: Vec<Value> = self
            .options
            .iter()
            .enumerate()
            .map(|(i, (label, value))| {
                json!({"label": label, "value": value, "displayOrder": i, "hidden": false})
            })
            .collect();
        json!({
            "name": self.name,
            "label": self.label,
            "type": self.kind.as_str(),
            "fieldType": self.field_type,
            "description": "",
            "groupName": self.group,
            "options": options,
            "displayOrder": display_order,
            "calculated": self.read_only && !self.custom,
            "externalOptions": false,
            "hasUniqueValue": self.unique,
            "hidden": false,
            "hubspotDefined": !self.custom,
            "modificationMetadata": {
                "archivable": self.custom,
                "readOnlyDefinition": !self.custom,
                "readOnlyValue": self.read_only,
            },
            "formField": !self.read_only,
            "createdAt": "2020-01-01T00:00:00.000Z",
            "updatedAt": "2020-01-01T00:00:00.000Z",
            "archived": false,
        })
    }

    /// Validate and normalize a written value into the string HubSpot stores; an empty
    /// string clears the value. Errors are "Property values were not valid" items.
    pub fn normalize(&self, value: &Value) -> Result<String, Value> {
        let raw = match value {
            Value::Null => return Ok(String::new()),
            Value::String(s) => s.clone(),
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => n.to_string(),
            other => {
                return Err(self.invalid(
                    "INVALID_PROPERTY_VALUE",
                    &format!("{other} is not a valid value for property {}", self.name),
                ));
            }
        };
        if self.read_only {
            return Err(self.invalid(
                "READ_ONLY_VALUE",
                &format!("Property \"{}\" is read-only and cannot be set", self.name),
            ));
        }
        if raw.is_empty() {
            return Ok(raw);
        }
        match self.kind {
            PropKind::String => {
                if self.name == "email" && !valid_email(&raw) {
                    return Err(
                        self.invalid("INVALID_EMAIL", &format!("Email address {raw} is invalid"))
                    );
                }
                if raw.chars().count() > 65_536 {
                    return Err(
                        self.invalid("STRING_TOO_LONG", "value is longer than 65536 characters")
                    );
                }
                Ok(raw)
            }
            PropKind::Number => match raw.trim().parse::<f64>() {
                Ok(n) if n.is_finite() => Ok(raw.trim().to_string()),
                _ => Err(self.invalid("INVALID_FLOAT", &format!("{raw} is not a valid number"))),
            },
            PropKind::Bool => match raw.to_ascii_lowercase().as_str() {
                "true" | "false" => Ok(raw.to_ascii_lowercase()),
                _ => Err(self.invalid(
                    "INVALID_BOOLEAN",
                    &format!("{raw} is not a valid boolean; use true or false"),
                )),
            },
            PropKind::Date => {
                if let Some(d) = parse_date(&raw) {
                    return Ok(date_string(d));
                }
                match raw.parse::<i64>() {
                    Ok(ms) if ms.rem_euclid(86_400_000) == 0 => Ok(date_string(from_ms(ms).date_naive())),
                    Ok(_) => Err(self.invalid(
                        "INVALID_DATE",
                        &format!("{raw} is at a time other than midnight UTC; date properties take midnight UTC"),
                    )),
                    Err(_) => Err(self.invalid("INVALID_DATE", &format!("{raw} is not a valid date"))),
                }
            }
            PropKind::DateTime => {
                if let Ok(ms) = raw.parse::<i64>() {
                    return Ok(hubspot_iso(from_ms(ms)));
                }
                if let Some(t) = parse_datetime(&raw) {
                    return Ok(hubspot_iso(t));
                }
                if let Some(d) = parse_date(&raw) {
                    return Ok(hubspot_iso(
                        d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc(),
                    ));
                }
                Err(self.invalid("INVALID_DATE", &format!("{raw} is not a valid datetime")))
            }
            PropKind::Enumeration => {
                let parts: Vec<&str> = if self.multi_select() {
                    raw.split(';').filter(|p| !p.is_empty()).collect()
                } else {
                    vec![raw.as_str()]
                };
                for p in &parts {
                    if !self.options.iter().any(|(_, v)| v == p) {
                        let allowed: Vec<&str> =
                            self.options.iter().map(|(_, v)| v.as_str()).collect();
                        return Err(self.invalid(
                            "INVALID_OPTION",
                            &format!(
                                "\"{p}\" was not one of the allowed options: [{}]",
                                allowed.join(", ")
                            ),
                        ));
                    }
                }
                Ok(parts.join(";"))
            }
        }
    }

    fn invalid(&self, error: &str, message: &str) -> Value {
        invalid_property(&self.name, error, message)
    }
}

fn valid_email(s: &str) -> bool {
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !s.contains(char::is_whitespace)
        }
        None => false,
    }
}

/// A property definition's `options` (`[{label, value}]`) as (label, value) pairs.
pub fn options_of(v: &Value) -> Vec<(String, String)> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|o| {
            Some((
                o["label"].as_str()?.to_string(),
                o["value"].as_str()?.to_string(),
            ))
        })
        .collect()
}

fn opts(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(l, v)| (l.to_string(), v.to_string()))
        .collect()
}

pub const LIFECYCLE_STAGES: &[(&str, &str)] = &[
    ("Subscriber", "subscriber"),
    ("Lead", "lead"),
    ("Marketing Qualified Lead", "marketingqualifiedlead"),
    ("Sales Qualified Lead", "salesqualifiedlead"),
    ("Opportunity", "opportunity"),
    ("Customer", "customer"),
    ("Evangelist", "evangelist"),
    ("Other", "other"),
];

pub const LEAD_STATUSES: &[(&str, &str)] = &[
    ("New", "NEW"),
    ("Open", "OPEN"),
    ("In Progress", "IN_PROGRESS"),
    ("Open Deal", "OPEN_DEAL"),
    ("Unqualified", "UNQUALIFIED"),
    ("Attempted to Contact", "ATTEMPTED_TO_CONTACT"),
    ("Connected", "CONNECTED"),
    ("Bad Timing", "BAD_TIMING"),
];

pub const INDUSTRIES: &[(&str, &str)] = &[
    ("Accounting", "ACCOUNTING"),
    ("Computer Software", "COMPUTER_SOFTWARE"),
    ("Financial Services", "FINANCIAL_SERVICES"),
    ("Hospital & Health Care", "HOSPITAL_HEALTH_CARE"),
    (
        "Information Technology and Services",
        "INFORMATION_TECHNOLOGY_AND_SERVICES",
    ),
    ("Marketing and Advertising", "MARKETING_AND_ADVERTISING"),
    ("Retail", "RETAIL"),
    ("Telecommunications", "TELECOMMUNICATIONS"),
];

pub const PRODUCT_INTERESTS: &[(&str, &str)] = &[
    ("Analytics", "analytics"),
    ("Automation", "automation"),
    ("Integrations", "integrations"),
    ("Support", "support"),
];

/// The standard properties a portal has, plus the connector's `salesforce*id` fields and two
/// custom ones (a multi-select and a checkbox) so every value type is exercised.
pub fn standard_properties(
    t: ObjectType,
    owner_ids: &[String],
    stages: &[(String, String)],
) -> Vec<PropertyDef> {
    use PropKind::*;
    let p = PropertyDef::new;
    let ro = |mut d: PropertyDef| {
        d.read_only = true;
        d
    };
    let with_opts = |mut d: PropertyDef, o: Vec<(std::string::String, std::string::String)>| {
        d.options = o;
        d
    };
    let owner_opts: Vec<(std::string::String, std::string::String)> = owner_ids
        .iter()
        .map(|id| (id.clone(), id.clone()))
        .collect();
    let owner = || {
        with_opts(
            p(
                "hubspot_owner_id",
                "Owner",
                Enumeration,
                "select",
                "sales_properties",
            ),
            owner_opts.clone(),
        )
    };
    let object_id = || {
        ro(p(
            "hs_object_id",
            "Record ID",
            Number,
            "number",
            "objectinformation",
        ))
    };
    let mut props = match t {
        ObjectType::Contacts => {
            let mut email = p("email", "Email", String, "text", "contactinformation");
            email.unique = true;
            let mut interests = with_opts(
                p(
                    "product_interest",
                    "Product interest",
                    Enumeration,
                    "checkbox",
                    "contactinformation",
                ),
                opts(PRODUCT_INTERESTS),
            );
            interests.custom = true;
            let mut opt_in = p(
                "newsletter_opt_in",
                "Newsletter opt-in",
                Bool,
                "booleancheckbox",
                "contactinformation",
            );
            opt_in.custom = true;
            opt_in.options = opts(&[("Yes", "true"), ("No", "false")]);
            vec![
                email,
                p(
                    "firstname",
                    "First Name",
                    String,
                    "text",
                    "contactinformation",
                ),
                p(
                    "lastname",
                    "Last Name",
                    String,
                    "text",
                    "contactinformation",
                ),
                p(
                    "company",
                    "Company Name",
                    String,
                    "text",
                    "contactinformation",
                ),
                p(
                    "phone",
                    "Phone Number",
                    String,
                    "phonenumber",
                    "contactinformation",
                ),
                p(
                    "mobilephone",
                    "Mobile Phone Number",
                    String,
                    "phonenumber",
                    "contactinformation",
                ),
                p(
                    "jobtitle",
                    "Job Title",
                    String,
                    "text",
                    "contactinformation",
                ),
                p(
                    "website",
                    "Website URL",
                    String,
                    "text",
                    "contactinformation",
                ),
                p(
                    "address",
                    "Street Address",
                    String,
                    "text",
                    "contactinformation",
                ),
                p("city", "City", String, "text", "contactinformation"),
                p(
                    "state",
                    "State/Region",
                    String,
                    "text",
                    "contactinformation",
                ),
                p("zip", "Postal Code", String, "text", "contactinformation"),
                p(
                    "country",
                    "Country/Region",
                    String,
                    "text",
                    "contactinformation",
                ),
                p(
                    "numemployees",
                    "Number of Employees",
                    Number,
                    "number",
                    "contactinformation",
                ),
                p(
                    "annualrevenue",
                    "Annual Revenue",
                    Number,
                    "number",
                    "contactinformation",
                ),
                with_opts(
                    p(
                        "lifecyclestage",
                        "Lifecycle Stage",
                        Enumeration,
                        "radio",
                        "contactinformation",
                    ),
                    opts(LIFECYCLE_STAGES),
                ),
                with_opts(
                    p(
                        "hs_lead_status",
                        "Lead Status",
                        Enumeration,
                        "radio",
                        "sales_properties",
                    ),
                    opts(LEAD_STATUSES),
                ),
                owner(),
                interests,
                opt_in,
                p(
                    "date_of_birth",
                    "Date of birth",
                    Date,
                    "date",
                    "contactinformation",
                ),
                ro(p(
                    "recent_conversion_event_name",
                    "Recent Conversion",
                    String,
                    "text",
                    "conversioninformation",
                )),
                ro(p(
                    "recent_conversion_date",
                    "Recent Conversion Date",
                    DateTime,
                    "date",
                    "conversioninformation",
                )),
                ro(p(
                    "first_conversion_event_name",
                    "First Conversion",
                    String,
                    "text",
                    "conversioninformation",
                )),
                ro(p(
                    "hs_email_last_open_date",
                    "Last marketing email open date",
                    DateTime,
                    "date",
                    "emailinformation",
                )),
                ro(p(
                    "hs_email_last_email_name",
                    "Last marketing email name",
                    String,
                    "text",
                    "emailinformation",
                )),
                ro(p(
                    "associatedcompanyid",
                    "Primary Associated Company ID",
                    Number,
                    "number",
                    "contactinformation",
                )),
                p(
                    "salesforceleadid",
                    "Salesforce Lead ID",
                    String,
                    "text",
                    "salesforceinformation",
                ),
                p(
                    "salesforcecontactid",
                    "Salesforce Contact ID",
                    String,
                    "text",
                    "salesforceinformation",
                ),
                ro(p(
                    "createdate",
                    "Create Date",
                    DateTime,
                    "date",
                    "contactinformation",
                )),
                ro(p(
                    "lastmodifieddate",
                    "Last Modified Date",
                    DateTime,
                    "date",
                    "contactinformation",
                )),
                ro(p(
                    "hs_lastmodifieddate",
                    "Object last modified date/time",
                    DateTime,
                    "date",
                    "contactinformation",
                )),
                object_id(),
            ]
        }
        ObjectType::Companies => vec![
            p("name", "Company name", String, "text", "companyinformation"),
            p(
                "domain",
                "Company Domain Name",
                String,
                "text",
                "companyinformation",
            ),
            p(
                "website",
                "Website URL",
                String,
                "text",
                "companyinformation",
            ),
            p(
                "phone",
                "Phone Number",
                String,
                "phonenumber",
                "companyinformation",
            ),
            p(
                "address",
                "Street Address",
                String,
                "text",
                "companyinformation",
            ),
            p("city", "City", String, "text", "companyinformation"),
            p(
                "state",
                "State/Region",
                String,
                "text",
                "companyinformation",
            ),
            p("zip", "Postal Code", String, "text", "companyinformation"),
            p(
                "country",
                "Country/Region",
                String,
                "text",
                "companyinformation",
            ),
            with_opts(
                p(
                    "industry",
                    "Industry",
                    Enumeration,
                    "select",
                    "companyinformation",
                ),
                opts(INDUSTRIES),
            ),
            with_opts(
                p("type", "Type", Enumeration, "select", "companyinformation"),
                opts(&[
                    ("Prospect", "PROSPECT"),
                    ("Partner", "PARTNER"),
                    ("Reseller", "RESELLER"),
                    ("Vendor", "VENDOR"),
                    ("Other", "OTHER"),
                ]),
            ),
            p(
                "numberofemployees",
                "Number of Employees",
                Number,
                "number",
                "companyinformation",
            ),
            p(
                "annualrevenue",
                "Annual Revenue",
                Number,
                "number",
                "companyinformation",
            ),
            p(
                "description",
                "Description",
                String,
                "textarea",
                "companyinformation",
            ),
            with_opts(
                p(
                    "lifecyclestage",
                    "Lifecycle Stage",
                    Enumeration,
                    "radio",
                    "companyinformation",
                ),
                opts(LIFECYCLE_STAGES),
            ),
            owner(),
            p(
                "salesforceaccountid",
                "Salesforce Account ID",
                String,
                "text",
                "salesforceinformation",
            ),
            ro(p(
                "createdate",
                "Create Date",
                DateTime,
                "date",
                "companyinformation",
            )),
            ro(p(
                "hs_lastmodifieddate",
                "Last Modified Date",
                DateTime,
                "date",
                "companyinformation",
            )),
            object_id(),
        ],
        ObjectType::Deals => {
            let mut name = p("dealname", "Deal Name", String, "text", "dealinformation");
            name.required = true;
            let mut stage = with_opts(
                p(
                    "dealstage",
                    "Deal Stage",
                    Enumeration,
                    "radio",
                    "dealinformation",
                ),
                stages.to_vec(),
            );
            stage.required = true;
            vec![
                name,
                p("amount", "Amount", Number, "number", "dealinformation"),
                stage,
                with_opts(
                    p(
                        "pipeline",
                        "Pipeline",
                        Enumeration,
                        "select",
                        "dealinformation",
                    ),
                    opts(&[("Sales Pipeline", "default")]),
                ),
                p(
                    "closedate",
                    "Close Date",
                    DateTime,
                    "date",
                    "dealinformation",
                ),
                with_opts(
                    p(
                        "dealtype",
                        "Deal Type",
                        Enumeration,
                        "radio",
                        "dealinformation",
                    ),
                    opts(&[
                        ("New Business", "newbusiness"),
                        ("Existing Business", "existingbusiness"),
                    ]),
                ),
                p(
                    "description",
                    "Deal Description",
                    String,
                    "textarea",
                    "dealinformation",
                ),
                owner(),
                p(
                    "salesforceopportunityid",
                    "Salesforce Opportunity ID",
                    String,
                    "text",
                    "salesforceinformation",
                ),
                ro(p(
                    "createdate",
                    "Create Date",
                    DateTime,
                    "date",
                    "dealinformation",
                )),
                ro(p(
                    "hs_lastmodifieddate",
                    "Last Modified Date",
                    DateTime,
                    "date",
                    "dealinformation",
                )),
                object_id(),
            ]
        }
        ObjectType::Tasks => {
            let mut ts = p("hs_timestamp", "Due date", DateTime, "date", "task");
            ts.required = true;
            vec![
                ts,
                p("hs_task_subject", "Task Title", String, "text", "task"),
                p("hs_task_body", "Notes", String, "textarea", "task"),
                with_opts(
                    p(
                        "hs_task_status",
                        "Task Status",
                        Enumeration,
                        "select",
                        "task",
                    ),
                    opts(&[
                        ("Not started", "NOT_STARTED"),
                        ("In progress", "IN_PROGRESS"),
                        ("Waiting", "WAITING"),
                        ("Completed", "COMPLETED"),
                        ("Deferred", "DEFERRED"),
                    ]),
                ),
                with_opts(
                    p(
                        "hs_task_priority",
                        "Priority",
                        Enumeration,
                        "select",
                        "task",
                    ),
                    opts(&[
                        ("None", "NONE"),
                        ("Low", "LOW"),
                        ("Medium", "MEDIUM"),
                        ("High", "HIGH"),
                    ]),
                ),
                with_opts(
                    p("hs_task_type", "Task Type", Enumeration, "select", "task"),
                    opts(&[("Call", "CALL"), ("Email", "EMAIL"), ("To-do", "TODO")]),
                ),
                owner(),
                ro(p("hs_createdate", "Create Date", DateTime, "date", "task")),
                ro(p(
                    "hs_lastmodifieddate",
                    "Last Modified Date",
                    DateTime,
                    "date",
                    "task",
                )),
                object_id(),
            ]
        }
        // A custom object's properties come from its schema (see `custom.rs`).
        ObjectType::Custom(_) => vec![
            ro(p(
                "hs_createdate",
                "Object create date",
                DateTime,
                "date",
                "objectinformation",
            )),
            ro(p(
                "hs_lastmodifieddate",
                "Object last modified date",
                DateTime,
                "date",
                "objectinformation",
            )),
            object_id(),
        ],
        ObjectType::Tickets => {
            let required = |mut d: PropertyDef| {
                d.required = true;
                d
            };
            let pipelines: Vec<(std::string::String, std::string::String)> =
                super::meta::ticket_pipelines()
                    .iter()
                    .map(|p| (p.label.clone(), p.id.clone()))
                    .collect();
            let ticket_stages: Vec<(std::string::String, std::string::String)> =
                super::meta::ticket_pipelines()
                    .iter()
                    .flat_map(|p| p.stages.iter().map(|s| (s.label.clone(), s.id.clone())))
                    .collect();
            vec![
                required(p(
                    "subject",
                    "Ticket name",
                    String,
                    "text",
                    "ticketinformation",
                )),
                p(
                    "content",
                    "Ticket description",
                    String,
                    "textarea",
                    "ticketinformation",
                ),
                required(with_opts(
                    p(
                        "hs_pipeline",
                        "Pipeline",
                        Enumeration,
                        "select",
                        "ticketinformation",
                    ),
                    pipelines,
                )),
                required(with_opts(
                    p(
                        "hs_pipeline_stage",
                        "Ticket status",
                        Enumeration,
                        "select",
                        "ticketinformation",
                    ),
                    ticket_stages,
                )),
                with_opts(
                    p(
                        "hs_ticket_priority",
                        "Priority",
                        Enumeration,
                        "select",
                        "ticketinformation",
                    ),
                    opts(&[
                        ("Low", "LOW"),
                        ("Medium", "MEDIUM"),
                        ("High", "HIGH"),
                        ("Urgent", "URGENT"),
                    ]),
                ),
                with_opts(
                    p(
                        "hs_ticket_category",
                        "Category",
                        Enumeration,
                        "checkbox",
                        "ticketinformation",
                    ),
                    opts(&[
                        ("Product issue", "PRODUCT_ISSUE"),
                        ("Billing issue", "BILLING_ISSUE"),
                        ("Feature request", "FEATURE_REQUEST"),
                        ("General inquiry", "GENERAL_INQUIRY"),
                    ]),
                ),
                with_opts(
                    p(
                        "source_type",
                        "Source",
                        Enumeration,
                        "select",
                        "ticketinformation",
                    ),
                    opts(&[
                        ("Chat", "CHAT"),
                        ("Email", "EMAIL"),
                        ("Form", "FORM"),
                        ("Phone", "PHONE"),
                    ]),
                ),
                owner(),
                ro(p(
                    "createdate",
                    "Create date",
                    DateTime,
                    "date",
                    "ticketinformation",
                )),
                ro(p(
                    "hs_lastmodifieddate",
                    "Last modified date",
                    DateTime,
                    "date",
                    "ticketinformation",
                )),
                ro(p(
                    "closed_date",
                    "Close date",
                    DateTime,
                    "date",
                    "ticketinformation",
                )),
                object_id(),
            ]
        }
    };
    // Every object type: the ids merged into a record (`;`-separated), set by merges only.
    props.push(ro(p(
        "hs_merged_object_ids",
        "Merged record IDs",
        String,
        "text",
        "objectinformation",
    )));
    props.sort_by(|a, b| a.name.cmp(&b.name));
    props
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(t: ObjectType, name: &str) -> PropertyDef {
        standard_properties(t, &["7".into()], &[("Won".into(), "closedwon".into())])
            .into_iter()
            .find(|p| p.name == name)
            .unwrap()
    }

    #[test]
    fn values_normalize_like_hubspot_stores_them() {
        let dt = def(ObjectType::Deals, "closedate");
        assert_eq!(
            dt.normalize(&json!("1700000000123")).unwrap(),
            "2023-11-14T22:13:20.123Z"
        );
        assert_eq!(
            dt.normalize(&json!("2023-11-14T22:13:20.123Z")).unwrap(),
            "2023-11-14T22:13:20.123Z"
        );
        let d = def(ObjectType::Contacts, "date_of_birth");
        assert_eq!(d.normalize(&json!("1699920000000")).unwrap(), "2023-11-14");
        assert!(d.normalize(&json!("1699920000001")).is_err());
        let multi = def(ObjectType::Contacts, "product_interest");
        assert_eq!(
            multi.normalize(&json!("analytics;support")).unwrap(),
            "analytics;support"
        );
        assert_eq!(
            multi.normalize(&json!("nope")).unwrap_err()["error"],
            "INVALID_OPTION"
        );
        let b = def(ObjectType::Contacts, "newsletter_opt_in");
        assert_eq!(b.normalize(&json!(true)).unwrap(), "true");
        assert_eq!(
            b.normalize(&json!("yes")).unwrap_err()["error"],
            "INVALID_BOOLEAN"
        );
        let email = def(ObjectType::Contacts, "email");
        assert_eq!(
            email.normalize(&json!("not-an-email")).unwrap_err()["error"],
            "INVALID_EMAIL"
        );
        assert_eq!(email.normalize(&json!("")).unwrap(), "");
        let ro = def(ObjectType::Contacts, "createdate");
        assert_eq!(
            ro.normalize(&json!("2020-01-01")).unwrap_err()["error"],
            "READ_ONLY_VALUE"
        );
        let n = def(ObjectType::Deals, "amount");
        assert_eq!(n.normalize(&json!(12.5)).unwrap(), "12.5");
        assert_eq!(
            n.normalize(&json!("12,5")).unwrap_err()["error"],
            "INVALID_FLOAT"
        );
    }

    #[test]
    fn object_types_parse_by_name_and_type_id() {
        assert_eq!(ObjectType::parse("0-1"), Some(ObjectType::Contacts));
        assert_eq!(ObjectType::parse("Companies"), Some(ObjectType::Companies));
        assert_eq!(ObjectType::parse("0-5"), Some(ObjectType::Tickets));
        assert_eq!(ObjectType::parse("shipments"), None);
    }
}
