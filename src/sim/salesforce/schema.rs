//! Salesforce sObject definitions (fields, types, permissions) and their describe JSON.

use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FType {
    Id,
    String,
    Email,
    Phone,
    Url,
    TextArea,
    Combobox,
    Picklist,
    MultiPicklist,
    Boolean,
    Double,
    Currency,
    Percent,
    Int,
    Date,
    DateTime,
    Reference,
}

impl FType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Id => "id",
            Self::String => "string",
            Self::Email => "email",
            Self::Phone => "phone",
            Self::Url => "url",
            Self::TextArea => "textarea",
            Self::Combobox => "combobox",
            Self::Picklist => "picklist",
            Self::MultiPicklist => "multipicklist",
            Self::Boolean => "boolean",
            Self::Double => "double",
            Self::Currency => "currency",
            Self::Percent => "percent",
            Self::Int => "int",
            Self::Date => "date",
            Self::DateTime => "datetime",
            Self::Reference => "reference",
        }
    }

    pub fn soap_type(self) -> &'static str {
        match self {
            Self::Id | Self::Reference => "tns:ID",
            Self::Boolean => "xsd:boolean",
            Self::Double | Self::Currency | Self::Percent => "xsd:double",
            Self::Int => "xsd:int",
            Self::Date => "xsd:date",
            Self::DateTime => "xsd:dateTime",
            _ => "xsd:string",
        }
    }

    /// Text-like: compared case-insensitively, written as JSON strings.
    pub fn textual(self) -> bool {
        matches!(
            self,
            Self::Id
                | Self::String
                | Self::Email
                | Self::Phone
                | Self::Url
                | Self::TextArea
                | Self::Combobox
                | Self::Picklist
                | Self::MultiPicklist
                | Self::Reference
        )
    }

    pub fn numeric(self) -> bool {
        matches!(
            self,
            Self::Double | Self::Currency | Self::Percent | Self::Int
        )
    }
}

#[derive(Debug, Clone)]
pub struct FieldDef {
    pub name: String,
    pub label: String,
    pub ftype: FType,
    pub length: u32,
    pub nillable: bool,
    pub createable: bool,
    pub updateable: bool,
    pub defaulted_on_create: bool,
    pub default: Option<Value>,
    pub external_id: bool,
    pub unique: bool,
    pub picklist: Vec<String>,
    pub restricted: bool,
    pub reference_to: Vec<&'static str>,
    pub relationship: Option<&'static str>,
    pub calculated: bool,
    pub custom: bool,
}

impl FieldDef {
    /// The field as `/sobjects/{Type}/describe` lists it.
    pub fn describe(&self) -> Value {
        let picklist: Vec<Value> = self
            .picklist
            .iter()
            .map(|v| {
                let is_default = self.default.as_ref().and_then(|d| d.as_str()) == Some(v.as_str());
                json!({"active": true, "defaultValue": is_default, "label": v, "validFor": null, "value": v})
            })
            .collect();
        let text_len =
            if self.ftype.textual() && self.ftype != FType::Id && self.ftype != FType::Reference {
                self.length
            } else if matches!(self.ftype, FType::Id | FType::Reference) {
                18
            } else {
                0
            };
        json!({
            "name": self.name,
            "label": self.label,
            "type": self.ftype.as_str(),
            "soapType": self.ftype.soap_type(),
            "length": text_len,
            "byteLength": text_len * 3,
            "digits": if self.ftype == FType::Int { 9 } else { 0 },
            "precision": if matches!(self.ftype, FType::Double | FType::Currency | FType::Percent) { 18 } else { 0 },
            "scale": if matches!(self.ftype, FType::Double | FType::Currency | FType::Percent) { 2 } else { 0 },
            "nillable": self.nillable,
            "createable": self.createable,
            "updateable": self.updateable,
            "defaultedOnCreate": self.defaulted_on_create,
            // A picklist's default is its entry marked `defaultValue`; the field's own stays null.
            "defaultValue": if self.picklist.is_empty() { self.default.clone() } else { None },
            "externalId": self.external_id,
            "unique": self.unique,
            "idLookup": self.ftype == FType::Id || self.external_id || self.name == "Email" || self.name == "Username",
            "caseSensitive": false,
            "calculated": self.calculated,
            "custom": self.custom,
            "filterable": true,
            "sortable": self.ftype != FType::TextArea,
            "groupable": !matches!(self.ftype, FType::TextArea | FType::DateTime | FType::Double | FType::Currency | FType::Percent),
            "nameField": self.name == "Name",
            "picklistValues": picklist,
            "restrictedPicklist": self.restricted,
            "referenceTo": self.reference_to,
            "relationshipName": self.relationship,
            "cascadeDelete": false,
            "deprecatedAndHidden": false,
            "htmlFormatted": false,
            "autoNumber": false,
            "dependentPicklist": false,
            "polymorphicForeignKey": self.reference_to.len() > 1,
        })
    }
}

#[derive(Debug, Clone)]
pub struct ObjectDef {
    pub name: &'static str,
    pub label: &'static str,
    pub label_plural: &'static str,
    pub key_prefix: &'static str,
    pub createable: bool,
    pub updateable: bool,
    pub deletable: bool,
    pub fields: Vec<FieldDef>,
}

impl ObjectDef {
    pub fn field(&self, name: &str) -> Option<&FieldDef> {
        self.fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
    }

    /// The field behind a relationship name (`Account` → `AccountId`).
    pub fn relationship(&self, rel: &str) -> Option<&FieldDef> {
        self.fields
            .iter()
            .find(|f| f.relationship.is_some_and(|r| r.eq_ignore_ascii_case(rel)))
    }

    pub fn urls(&self, version: &str) -> Value {
        let base = format!("/services/data/v{version}/sobjects/{}", self.name);
        json!({
            "sobject": base,
            "describe": format!("{base}/describe"),
            "rowTemplate": format!("{base}/{{ID}}"),
        })
    }

    /// The entry in the global describe's `sobjects` array (also `objectDescribe`).
    pub fn summary(&self, version: &str) -> Value {
        json!({
            "name": self.name, "label": self.label, "labelPlural": self.label_plural,
            "keyPrefix": self.key_prefix, "custom": self.name.ends_with("__c"), "customSetting": false,
            "createable": self.createable, "updateable": self.updateable, "deletable": self.deletable,
            "queryable": true, "retrieveable": true, "searchable": true, "layoutable": true,
            "replicateable": true, "triggerable": true, "undeletable": self.deletable,
            "mergeable": false, "feedEnabled": false, "activateable": false, "deprecatedAndHidden": false,
            "urls": self.urls(version),
        })
    }

    pub fn describe(&self, version: &str) -> Value {
        let mut v = self.summary(version);
        v["fields"] = Value::Array(self.fields.iter().map(FieldDef::describe).collect());
        v["childRelationships"] = CHILD_RELATIONSHIPS
            .iter()
            .filter(|(p, ..)| *p == self.name)
            .map(|(_, name, child, field)| {
                json!({"cascadeDelete": false, "childSObject": child, "deprecatedAndHidden": false,
                       "field": field, "junctionIdListNames": [], "junctionReferenceTo": [],
                       "relationshipName": name, "restrictedDelete": false})
            })
            .collect();
        v["recordTypeInfos"] = record_type_infos(self.name, version);
        v
    }
}

/// The record types of the objects that have them: (sObject, developer name, label). The
/// first of each object is its default.
pub const RECORD_TYPES: &[(&str, &str, &str)] = &[
    ("Opportunity", "New_Business", "New Business"),
    ("Opportunity", "Renewal", "Renewal"),
    ("Case", "Support", "Support"),
    ("Case", "Billing", "Billing"),
];

/// The id of the `i`th entry of [`RECORD_TYPES`] (key prefix 012).
pub fn record_type_id(i: usize) -> String {
    super::ids::make("012", 2001 + i as u64)
}

/// The `recordTypeInfos` of describe: each record type, then the Master one every object
/// has (id 012000000000000AAA, available only where no other exists).
fn record_type_infos(sobject: &str, version: &str) -> Value {
    let mut infos: Vec<Value> = RECORD_TYPES
        .iter()
        .enumerate()
        .filter(|(_, (o, ..))| *o == sobject)
        .enumerate()
        .map(|(n, (i, (_, dev, label)))| {
            let id = record_type_id(i);
            json!({"active": true, "available": true, "defaultRecordTypeMapping": n == 0,
                   "developerName": dev, "master": false, "name": label, "recordTypeId": id,
                   "urls": {"layout": format!("/services/data/v{version}/sobjects/{sobject}/describe/layouts/{id}")}})
        })
        .collect();
    let only_master = infos.is_empty();
    infos.push(json!({"active": true, "available": only_master, "defaultRecordTypeMapping": only_master,
                      "developerName": "Master", "master": true, "name": "Master",
                      "recordTypeId": "012000000000000AAA",
                      "urls": {"layout": format!("/services/data/v{version}/sobjects/{sobject}/describe/layouts/012000000000000AAA")}}));
    Value::Array(infos)
}

/// Child relationships of the standard objects: (relationship name, child object, the
/// child's field pointing at the parent).
const CHILD_RELATIONSHIPS: &[(&str, &str, &str, &str)] = &[
    ("Account", "Contacts", "Contact", "AccountId"),
    ("Account", "Opportunities", "Opportunity", "AccountId"),
    ("Account", "Cases", "Case", "AccountId"),
    ("Account", "Tasks", "Task", "WhatId"),
    ("Contact", "Cases", "Case", "ContactId"),
    ("Contact", "Tasks", "Task", "WhoId"),
    ("Contact", "CampaignMembers", "CampaignMember", "ContactId"),
    ("Lead", "Tasks", "Task", "WhoId"),
    ("Lead", "CampaignMembers", "CampaignMember", "LeadId"),
    ("Opportunity", "Tasks", "Task", "WhatId"),
    (
        "Campaign",
        "CampaignMembers",
        "CampaignMember",
        "CampaignId",
    ),
    ("Campaign", "ChildCampaigns", "Campaign", "ParentId"),
    (
        "Account",
        "Subscriptions__r",
        "Subscription__c",
        "Account__c",
    ),
];

/// A parent's child relationship by name (any case): (name, child object, link field).
pub fn child_relationship(
    parent: &str,
    name: &str,
) -> Option<(&'static str, &'static str, &'static str)> {
    CHILD_RELATIONSHIPS
        .iter()
        .find(|(p, n, _, _)| *p == parent && n.eq_ignore_ascii_case(name))
        .map(|(_, n, c, f)| (*n, *c, *f))
}

struct F(FieldDef);

impl F {
    fn new(name: &str, label: &str, ftype: FType) -> F {
        F(FieldDef {
            name: name.into(),
            label: label.into(),
            ftype,
            length: match ftype {
                FType::TextArea => 32_000,
                FType::Phone => 40,
                FType::Email | FType::Url | FType::String | FType::Combobox | FType::Picklist => {
                    255
                }
                FType::MultiPicklist => 4_099,
                _ => 0,
            },
            nillable: ftype != FType::Boolean,
            createable: true,
            updateable: true,
            defaulted_on_create: ftype == FType::Boolean,
            default: if ftype == FType::Boolean {
                Some(json!(false))
            } else {
                None
            },
            external_id: false,
            unique: false,
            picklist: Vec::new(),
            restricted: false,
            reference_to: Vec::new(),
            relationship: None,
            calculated: false,
            custom: false,
        })
    }
    fn len(mut self, n: u32) -> F {
        self.0.length = n;
        self
    }
    fn required(mut self) -> F {
        self.0.nillable = false;
        self
    }
    fn read_only(mut self) -> F {
        self.0.createable = false;
        self.0.updateable = false;
        self
    }
    fn calculated(mut self) -> F {
        self.0.calculated = true;
        self.read_only()
    }
    fn picklist(mut self, values: &[&str], restricted: bool) -> F {
        self.0.picklist = values.iter().map(|v| v.to_string()).collect();
        self.0.restricted = restricted;
        self
    }
    fn default(mut self, v: Value) -> F {
        self.0.default = Some(v);
        self.0.defaulted_on_create = true;
        self
    }
    fn refers(mut self, to: &[&'static str], rel: &'static str) -> F {
        self.0.reference_to = to.to_vec();
        self.0.relationship = Some(rel);
        self.0.length = 18;
        self
    }
    fn external_id(mut self) -> F {
        self.0.external_id = true;
        self.0.unique = true;
        self.0.custom = true;
        self
    }
    fn custom(mut self) -> F {
        self.0.custom = true;
        self
    }
}

/// The record a merged-away (deleted) record was merged into; Salesforce sets it on the
/// losers of a merge, which queryAll and getDeleted still show.
fn master_record(sobject: &'static str) -> F {
    let targets: &'static [&'static str] = match sobject {
        "Lead" => &["Lead"],
        "Contact" => &["Contact"],
        "Case" => &["Case"],
        _ => &["Account"],
    };
    F::new("MasterRecordId", "Master Record ID", FType::Reference)
        .read_only()
        .refers(targets, "MasterRecord")
}

fn system_fields(with_owner: bool) -> Vec<F> {
    use FType::*;
    let mut v = vec![
        F::new("Id", "Record ID", Id).required().read_only(),
        F::new("IsDeleted", "Deleted", Boolean).read_only(),
        F::new("CreatedDate", "Created Date", DateTime)
            .required()
            .read_only(),
        F::new("CreatedById", "Created By ID", Reference)
            .required()
            .read_only()
            .refers(&["User"], "CreatedBy"),
        F::new("LastModifiedDate", "Last Modified Date", DateTime)
            .required()
            .read_only(),
        F::new("LastModifiedById", "Last Modified By ID", Reference)
            .required()
            .read_only()
            .refers(&["User"], "LastModifiedBy"),
        F::new("SystemModstamp", "System Modstamp", DateTime)
            .required()
            .read_only(),
    ];
    if with_owner {
        let mut owner = F::new("OwnerId", "Owner ID", Reference)
            .required()
            .refers(&["User"], "Owner");
        owner.0.defaulted_on_create = true;
        v.push(owner);
    }
    v
}

pub const LEAD_STATUSES: &[&str] = &[
    "Open - Not Contacted",
    "Working - Contacted",
    "Closed - Converted",
    "Closed - Not Converted",
];
pub const LEAD_SOURCES: &[&str] = &[
    "Web",
    "Phone Inquiry",
    "Partner Referral",
    "Purchased List",
    "Other",
];
pub const INDUSTRIES: &[&str] = &[
    "Agriculture",
    "Banking",
    "Communications",
    "Consulting",
    "Education",
    "Electronics",
    "Finance",
    "Healthcare",
    "Manufacturing",
    "Retail",
    "Technology",
    "Telecommunications",
    "Other",
];
pub const OPPORTUNITY_STAGES: &[&str] = &[
    "Prospecting",
    "Qualification",
    "Needs Analysis",
    "Value Proposition",
    "Id. Decision Makers",
    "Perception Analysis",
    "Proposal/Price Quote",
    "Negotiation/Review",
    "Closed Won",
    "Closed Lost",
];
pub const CASE_STATUSES: &[&str] = &["New", "Working", "Escalated", "Closed"];
pub const PRODUCT_INTERESTS: &[&str] = &["Analytics", "Automation", "Integrations", "Support"];

fn address(prefix: &str) -> Vec<F> {
    use FType::*;
    vec![
        F::new(&format!("{prefix}Street"), "Street", TextArea).len(255),
        F::new(&format!("{prefix}City"), "City", String).len(40),
        F::new(&format!("{prefix}State"), "State/Province", String).len(80),
        F::new(&format!("{prefix}PostalCode"), "Zip/Postal Code", String).len(20),
        F::new(&format!("{prefix}Country"), "Country", String).len(80),
    ]
}

/// `Subscription__c`, the custom object of the custom-object pair: a lookup to Account
/// (`Account__c`, relationship `Account__r`) and an external id `Subscription_Key__c`.
pub fn subscription_object() -> ObjectDef {
    use FType::*;
    let mut fields = system_fields(true);
    fields.extend([
        F::new("Name", "Subscription Name", String)
            .len(80)
            .required(),
        F::new("Account__c", "Account", Reference)
            .refers(&["Account"], "Account__r")
            .custom(),
        F::new("Plan__c", "Plan", Picklist)
            .picklist(SUBSCRIPTION_PLANS, true)
            .custom(),
        F::new("Status__c", "Status", Picklist)
            .picklist(&["Active", "Paused", "Cancelled"], true)
            .default(json!("Active"))
            .custom(),
        F::new("Start_Date__c", "Start Date", Date).custom(),
        F::new("Renewal_Date__c", "Renewal Date", Date).custom(),
        F::new("Monthly_Amount__c", "Monthly Amount", Currency).custom(),
        F::new("Subscription_Key__c", "Subscription Key", String)
            .len(40)
            .external_id(),
        F::new("HubSpot_Id__c", "HubSpot Id", String)
            .len(64)
            .external_id(),
    ]);
    ObjectDef {
        name: "Subscription__c",
        label: "Subscription",
        label_plural: "Subscriptions",
        key_prefix: "a01",
        createable: true,
        updateable: true,
        deletable: true,
        fields: fields.into_iter().map(|f| f.0).collect(),
    }
}

pub const SUBSCRIPTION_PLANS: &[&str] = &["Basic", "Pro", "Enterprise"];

/// The standard objects the simulator serves, with the fields a sync touches.
pub fn standard_objects() -> Vec<ObjectDef> {
    use FType::*;
    let finish = |fields: Vec<F>| fields.into_iter().map(|f| f.0).collect::<Vec<_>>();
    let hubspot_id = || {
        F::new("HubSpot_Id__c", "HubSpot Id", String)
            .len(64)
            .external_id()
    };
    let interest = || {
        F::new("Product_Interest__c", "Product Interest", MultiPicklist)
            .picklist(PRODUCT_INTERESTS, true)
            .custom()
    };

    let mut lead = system_fields(true);
    lead.push(master_record("Lead"));
    lead.extend([
        F::new("FirstName", "First Name", String).len(40),
        F::new("LastName", "Last Name", String).len(80).required(),
        F::new("Name", "Full Name", String).len(121).calculated(),
        F::new("Company", "Company", String).len(255).required(),
        F::new("Title", "Title", String).len(128),
        F::new("Email", "Email", Email).len(80),
        F::new("Phone", "Phone", Phone),
        F::new("MobilePhone", "Mobile Phone", Phone),
        F::new("Website", "Website", Url),
        F::new("Industry", "Industry", Picklist).picklist(INDUSTRIES, false),
        F::new("Status", "Status", Picklist)
            .picklist(LEAD_STATUSES, true)
            .default(json!("Open - Not Contacted")),
        F::new("LeadSource", "Lead Source", Picklist).picklist(LEAD_SOURCES, false),
        F::new("Rating", "Rating", Picklist).picklist(&["Hot", "Warm", "Cold"], false),
        F::new("NumberOfEmployees", "Employees", Int),
        F::new("AnnualRevenue", "Annual Revenue", Currency),
        F::new("Description", "Description", TextArea),
        F::new("HasOptedOutOfEmail", "Email Opt Out", Boolean),
        F::new("IsConverted", "Converted", Boolean).read_only(),
        F::new("ConvertedDate", "Converted Date", Date).read_only(),
        F::new("ConvertedAccountId", "Converted Account ID", Reference)
            .read_only()
            .refers(&["Account"], "ConvertedAccount"),
        F::new("ConvertedContactId", "Converted Contact ID", Reference)
            .read_only()
            .refers(&["Contact"], "ConvertedContact"),
        F::new(
            "ConvertedOpportunityId",
            "Converted Opportunity ID",
            Reference,
        )
        .read_only()
        .refers(&["Opportunity"], "ConvertedOpportunity"),
        interest(),
        hubspot_id(),
    ]);
    lead.extend(address(""));

    let mut contact = system_fields(true);
    contact.push(master_record("Contact"));
    contact.extend([
        F::new("AccountId", "Account ID", Reference).refers(&["Account"], "Account"),
        F::new("FirstName", "First Name", String).len(40),
        F::new("LastName", "Last Name", String).len(80).required(),
        F::new("Name", "Full Name", String).len(121).calculated(),
        F::new("Title", "Title", String).len(128),
        F::new("Email", "Email", Email).len(80),
        F::new("Phone", "Business Phone", Phone),
        F::new("MobilePhone", "Mobile Phone", Phone),
        F::new("LeadSource", "Lead Source", Picklist).picklist(LEAD_SOURCES, false),
        F::new("Birthdate", "Birthdate", Date),
        F::new("Description", "Contact Description", TextArea),
        F::new("HasOptedOutOfEmail", "Email Opt Out", Boolean),
        interest(),
        hubspot_id(),
    ]);
    contact.extend(address("Mailing"));

    let mut account = system_fields(true);
    account.push(master_record("Account"));
    account.extend([
        F::new("Name", "Account Name", String).len(255).required(),
        F::new("Website", "Website", Url),
        F::new("Phone", "Account Phone", Phone),
        F::new("Industry", "Industry", Picklist).picklist(INDUSTRIES, false),
        F::new("Type", "Account Type", Picklist).picklist(
            &[
                "Prospect",
                "Customer - Direct",
                "Customer - Channel",
                "Channel Partner / Reseller",
                "Installation Partner",
                "Technology Partner",
                "Other",
            ],
            false,
        ),
        F::new("NumberOfEmployees", "Employees", Int),
        F::new("AnnualRevenue", "Annual Revenue", Currency),
        F::new("Description", "Account Description", TextArea),
        hubspot_id(),
    ]);
    account.extend(address("Billing"));

    let mut opportunity = system_fields(true);
    opportunity.extend([
        F::new("Name", "Name", String).len(120).required(),
        F::new("AccountId", "Account ID", Reference).refers(&["Account"], "Account"),
        F::new("StageName", "Stage", Picklist)
            .picklist(OPPORTUNITY_STAGES, true)
            .required(),
        F::new("CloseDate", "Close Date", Date).required(),
        F::new("Amount", "Amount", Currency),
        F::new("Probability", "Probability (%)", Percent),
        F::new("TotalOpportunityQuantity", "Quantity", Double),
        F::new("Type", "Opportunity Type", Picklist).picklist(
            &[
                "New Customer",
                "Existing Customer - Upgrade",
                "Existing Customer - Replacement",
                "Existing Customer - Downgrade",
            ],
            false,
        ),
        F::new("LeadSource", "Lead Source", Picklist).picklist(LEAD_SOURCES, false),
        F::new("Description", "Description", TextArea),
        F::new("IsClosed", "Closed", Boolean).calculated(),
        F::new("IsWon", "Won", Boolean).calculated(),
        F::new("RecordTypeId", "Record Type ID", Reference).refers(&["RecordType"], "RecordType"),
        hubspot_id(),
    ]);

    let mut task = system_fields(true);
    task.extend([
        F::new("Subject", "Subject", Combobox)
            .picklist(&["Call", "Send Letter", "Send Quote", "Other"], false),
        F::new("WhoId", "Name ID", Reference).refers(&["Contact", "Lead"], "Who"),
        F::new("WhatId", "Related To ID", Reference).refers(&["Account", "Opportunity"], "What"),
        F::new("AccountId", "Account ID", Reference)
            .read_only()
            .refers(&["Account"], "Account"),
        F::new("ActivityDate", "Due Date Only", Date),
        F::new("Status", "Status", Picklist)
            .picklist(
                &[
                    "Not Started",
                    "In Progress",
                    "Completed",
                    "Waiting on someone else",
                    "Deferred",
                ],
                true,
            )
            .default(json!("Not Started")),
        F::new("Priority", "Priority", Picklist)
            .picklist(&["High", "Normal", "Low"], true)
            .default(json!("Normal")),
        F::new("Description", "Description", TextArea),
        F::new("TaskSubtype", "Task Subtype", Picklist).picklist(&["Task", "Email", "Call"], false),
        F::new("Type", "Type", Picklist).picklist(&["Call", "Email", "Meeting", "Other"], false),
        F::new("IsClosed", "Closed", Boolean).calculated(),
        F::new("HubSpot_Id__c", "HubSpot Id", String)
            .len(64)
            .custom(),
    ]);
    for f in task.iter_mut() {
        if f.0.name == "HubSpot_Id__c" {
            f.0.external_id = true;
        }
    }

    // Case, Campaign and CampaignMember: the standard objects people query beside the
    // synced ones, with their real required fields and defaults.
    let mut case = system_fields(true);
    case.push(master_record("Case"));
    case.extend([
        F::new("CaseNumber", "Case Number", String)
            .len(30)
            .read_only(),
        F::new("AccountId", "Account ID", Reference).refers(&["Account"], "Account"),
        F::new("ContactId", "Contact ID", Reference).refers(&["Contact"], "Contact"),
        F::new("Subject", "Subject", String).len(255),
        F::new("Description", "Description", TextArea),
        F::new("Status", "Status", Picklist)
            .picklist(CASE_STATUSES, true)
            .default(json!("New")),
        F::new("Priority", "Priority", Picklist)
            .picklist(&["High", "Medium", "Low"], true)
            .default(json!("Medium")),
        F::new("Origin", "Case Origin", Picklist).picklist(&["Phone", "Email", "Web"], false),
        F::new("Type", "Case Type", Picklist).picklist(
            &[
                "Mechanical",
                "Electrical",
                "Electronic",
                "Structural",
                "Other",
            ],
            false,
        ),
        F::new("Reason", "Case Reason", Picklist).picklist(
            &[
                "Installation",
                "Equipment Complexity",
                "Performance",
                "Breakdown",
                "Equipment Design",
                "Feedback",
                "Other",
            ],
            false,
        ),
        F::new("SuppliedEmail", "Web Email", Email).len(80),
        F::new("SuppliedName", "Web Name", String).len(80),
        F::new("IsClosed", "Closed", Boolean).calculated(),
        F::new("ClosedDate", "Closed Date", DateTime).read_only(),
        F::new("IsEscalated", "Escalated", Boolean),
        F::new("RecordTypeId", "Record Type ID", Reference).refers(&["RecordType"], "RecordType"),
        hubspot_id(),
    ]);

    let mut campaign = system_fields(true);
    campaign.extend([
        F::new("Name", "Campaign Name", String).len(80).required(),
        F::new("ParentId", "Parent Campaign ID", Reference).refers(&["Campaign"], "Parent"),
        F::new("Type", "Type", Picklist).picklist(
            &[
                "Conference",
                "Webinar",
                "Trade Show",
                "Public Relations",
                "Partners",
                "Referral Program",
                "Advertisement",
                "Banner Ads",
                "Direct Mail",
                "Email",
                "Telemarketing",
                "Other",
            ],
            false,
        ),
        F::new("Status", "Status", Picklist)
            .picklist(&["Planned", "In Progress", "Completed", "Aborted"], false),
        F::new("StartDate", "Start Date", Date),
        F::new("EndDate", "End Date", Date),
        F::new("IsActive", "Active", Boolean),
        F::new("BudgetedCost", "Budgeted Cost in Campaign", Currency),
        F::new("ActualCost", "Actual Cost in Campaign", Currency),
        F::new("Description", "Description", TextArea),
        F::new("NumberOfLeads", "Leads in Campaign", Int).calculated(),
        F::new("NumberOfContacts", "Contacts in Campaign", Int).calculated(),
    ]);

    let mut campaign_member = system_fields(false);
    campaign_member.extend([
        F::new("CampaignId", "Campaign ID", Reference)
            .required()
            .refers(&["Campaign"], "Campaign"),
        F::new("LeadId", "Lead ID", Reference).refers(&["Lead"], "Lead"),
        F::new("ContactId", "Contact ID", Reference).refers(&["Contact"], "Contact"),
        F::new("Status", "Status", Picklist)
            .picklist(&["Planned", "Sent", "Received", "Responded"], false)
            .default(json!("Sent")),
        F::new("HasResponded", "Responded", Boolean).calculated(),
        F::new("FirstRespondedDate", "First Responded Date", Date).read_only(),
    ]);

    let mut record_type = system_fields(false);
    record_type.extend([
        F::new("Name", "Record Type Name", String)
            .len(80)
            .required(),
        F::new("DeveloperName", "Record Type Name", String)
            .len(80)
            .required(),
        F::new("SobjectType", "SObject Type Name", Picklist)
            .picklist(&["Opportunity", "Case"], true)
            .required(),
        F::new("IsActive", "Active", Boolean),
        F::new("Description", "Description", String).len(255),
    ]);

    let mut user = system_fields(false);
    user.extend([
        F::new("Username", "Username", String).len(80).required(),
        F::new("Email", "Email", Email).len(128).required(),
        F::new("FirstName", "First Name", String).len(40),
        F::new("LastName", "Last Name", String).len(80).required(),
        F::new("Name", "Full Name", String).len(121).calculated(),
        F::new("Title", "Title", String).len(80),
        F::new("IsActive", "Active", Boolean),
    ]);

    let mut org = system_fields(false);
    org.extend([
        F::new("Name", "Name", String).len(80).required(),
        F::new("IsSandbox", "Is Sandbox", Boolean).read_only(),
        F::new("OrganizationType", "Edition", Picklist)
            .read_only()
            .picklist(
                &[
                    "Developer Edition",
                    "Professional Edition",
                    "Enterprise Edition",
                    "Unlimited Edition",
                ],
                false,
            ),
        F::new("InstanceName", "Instance Name", String)
            .len(5)
            .read_only(),
    ]);

    let obj = |name, label, plural, prefix, writable: bool, fields: Vec<F>| ObjectDef {
        name,
        label,
        label_plural: plural,
        key_prefix: prefix,
        createable: writable,
        updateable: writable,
        deletable: writable,
        fields: finish(fields),
    };
    vec![
        obj("Account", "Account", "Accounts", "001", true, account),
        obj("Contact", "Contact", "Contacts", "003", true, contact),
        obj("Lead", "Lead", "Leads", "00Q", true, lead),
        obj(
            "Opportunity",
            "Opportunity",
            "Opportunities",
            "006",
            true,
            opportunity,
        ),
        obj("Task", "Task", "Tasks", "00T", true, task),
        obj("Case", "Case", "Cases", "500", true, case),
        obj("Campaign", "Campaign", "Campaigns", "701", true, campaign),
        obj(
            "CampaignMember",
            "Campaign Member",
            "Campaign Members",
            "00v",
            true,
            campaign_member,
        ),
        obj(
            "RecordType",
            "Record Type",
            "Record Types",
            "012",
            false,
            record_type,
        ),
        obj("User", "User", "Users", "005", false, user),
        obj(
            "Organization",
            "Organization",
            "Organizations",
            "00D",
            false,
            org,
        ),
    ]
}
