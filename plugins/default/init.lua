-- The standard mappings of HubSpot's Salesforce connector, with its default rules:
-- most fields "Prefer Salesforce unless blank", the owner two-way. Copy this plugin and edit
-- the table to change a rule; the sync engine reads it through the `mappings` hook.
local prefer = "prefer_salesforce_unless_blank"

local function field(hubspot, salesforce, extra)
  local f = { hubspot = hubspot, salesforce = salesforce, rule = prefer }
  for k, v in pairs(extra or {}) do f[k] = v end
  return f
end

local owner = field("hubspot_owner_id", "OwnerId", { type = "owner", rule = "two_way" })

local mappings = {
  contact = {
    hubspot = "contacts", salesforce = "Lead",
    fields = {
      field("email", "Email"),
      field("firstname", "FirstName"),
      field("lastname", "LastName"),
      field("company", "Company"),
      field("phone", "Phone"),
      field("mobilephone", "MobilePhone"),
      field("jobtitle", "Title"),
      field("website", "Website"),
      field("address", "Street"),
      field("city", "City"),
      field("state", "State"),
      field("zip", "PostalCode"),
      field("country", "Country"),
      field("numemployees", "NumberOfEmployees", { type = "integer" }),
      field("annualrevenue", "AnnualRevenue", { type = "number" }),
      field("hs_lead_status", "Status", { type = "picklist", values = {
        NEW = "Open - Not Contacted", OPEN = "Open - Not Contacted", ATTEMPTED_TO_CONTACT = "Working - Contacted",
        IN_PROGRESS = "Working - Contacted", CONNECTED = "Working - Contacted", OPEN_DEAL = "Closed - Converted",
        UNQUALIFIED = "Closed - Not Converted", BAD_TIMING = "Closed - Not Converted",
      }, salesforce_values = {
        -- Several HubSpot statuses share one Salesforce status: this is the one each comes back as.
        ["Open - Not Contacted"] = "NEW", ["Working - Contacted"] = "IN_PROGRESS",
        ["Closed - Not Converted"] = "UNQUALIFIED",
      } }),
      owner,
    },
  },
  company = {
    hubspot = "companies", salesforce = "Account",
    fields = {
      field("name", "Name"),
      field("website", "Website"),
      field("phone", "Phone"),
      field("address", "BillingStreet"),
      field("city", "BillingCity"),
      field("state", "BillingState"),
      field("zip", "BillingPostalCode"),
      field("country", "BillingCountry"),
      field("numberofemployees", "NumberOfEmployees", { type = "integer" }),
      field("annualrevenue", "AnnualRevenue", { type = "number" }),
      field("description", "Description"),
      field("industry", "Industry", { type = "picklist", values = {
        ACCOUNTING = "Finance", COMPUTER_SOFTWARE = "Technology", FINANCIAL_SERVICES = "Finance",
        HOSPITAL_HEALTH_CARE = "Healthcare", INFORMATION_TECHNOLOGY_AND_SERVICES = "Technology",
        MARKETING_AND_ADVERTISING = "Communications", RETAIL = "Retail", TELECOMMUNICATIONS = "Telecommunications",
      }, salesforce_values = { Finance = "FINANCIAL_SERVICES", Technology = "INFORMATION_TECHNOLOGY_AND_SERVICES" } }),
      field("type", "Type", { type = "picklist", values = {
        PROSPECT = "Prospect", PARTNER = "Technology Partner", RESELLER = "Channel Partner / Reseller",
        VENDOR = "Other", OTHER = "Other",
      }, salesforce_values = { Other = "OTHER" } }),
      owner,
    },
  },
  deal = {
    hubspot = "deals", salesforce = "Opportunity",
    fields = {
      field("dealname", "Name"),
      field("amount", "Amount", { type = "number" }),
      field("closedate", "CloseDate", { type = "date" }),
      field("description", "Description"),
      field("dealstage", "StageName", { type = "picklist", values = {
        appointmentscheduled = "Prospecting", qualifiedtobuy = "Qualification", presentationscheduled = "Value Proposition",
        decisionmakerboughtin = "Id. Decision Makers", contractsent = "Negotiation/Review",
        closedwon = "Closed Won", closedlost = "Closed Lost",
      }, salesforce_values = {
        ["Needs Analysis"] = "qualifiedtobuy", ["Perception Analysis"] = "presentationscheduled",
        ["Proposal/Price Quote"] = "decisionmakerboughtin",
      } }),
      field("dealtype", "Type", { type = "picklist", values = {
        newbusiness = "New Customer", existingbusiness = "Existing Customer - Upgrade",
      } }),
      owner,
    },
  },
  task = {
    hubspot = "tasks", salesforce = "Task",
    fields = {
      field("hs_task_subject", "Subject", { rule = "two_way" }),
      field("hs_task_body", "Description", { rule = "two_way" }),
      field("hs_timestamp", "ActivityDate", { type = "date", rule = "two_way" }),
      field("hs_task_status", "Status", { type = "picklist", rule = "two_way", values = {
        NOT_STARTED = "Not Started", IN_PROGRESS = "In Progress", WAITING = "Waiting on someone else",
        COMPLETED = "Completed", DEFERRED = "Deferred",
      } }),
      field("hs_task_priority", "Priority", { type = "picklist", rule = "two_way", values = {
        HIGH = "High", MEDIUM = "Normal", NONE = "Normal", LOW = "Low",
      }, salesforce_values = { Normal = "MEDIUM" } }),
      owner,
    },
  },
}

-- The four object pairs of HubSpot's Salesforce connector, as data: which objects, how
-- unlinked records find each other, which parent each hangs from (parents run first).
local pairs_ = {
  company = {
    hubspot = { object = "companies", salesforce_id = "salesforceaccountid" },
    salesforce = { objects = { "Account" } },
    match = { by = "domain_then_name" },
  },
  contact = {
    hubspot = {
      object = "contacts",
      salesforce_id = { Lead = "salesforceleadid", Contact = "salesforcecontactid" },
      defaults = { lifecyclestage = "lead" }, -- a person from Salesforce is at least a lead
    },
    -- A Contact with the same email wins over a Lead; new people become Leads (or what
    -- the profile's sync.new_contacts_as says). Converted Leads live on as Contacts.
    salesforce = { objects = { "Contact", "Lead" }, create_as = "Lead",
                   where = { Lead = "IsConverted = false" } },
    match = { by = "email" },
    parents = { { pair = "company", association = "companies", lookup = "AccountId" } },
  },
  deal = {
    hubspot = { object = "deals", salesforce_id = "salesforceopportunityid",
                pull = { "dealname", "pipeline" }, defaults = { pipeline = "default" } },
    salesforce = { objects = { "Opportunity" }, pull = { "Name" } },
    match = { by = "ids" },
    parents = { { pair = "company", association = "companies", lookup = "AccountId" } },
  },
  task = {
    hubspot = { object = "tasks", pull = { "hs_task_subject", "hs_timestamp" } },
    -- Tasks hubforce writes for HubSpot activities (`contact:kind:time`) stay in Salesforce.
    salesforce = { objects = { "Task" }, pull = { "Subject" },
                   where = "(NOT HubSpot_Id__c LIKE '%:%')" },
    match = { by = "ids" },
    parents = { { pair = "contact", association = "contacts", lookup = "WhoId" } },
  },
}

return { mappings = mappings, pairs = pairs_ }
