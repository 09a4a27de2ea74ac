---@meta hubforce
-- LuaLS annotations for the hubforce host API (plugins, `hubforce run` scripts, the REPL).
-- Kept beside the code that registers the functions (src/lua/host.rs, host.lua,
-- modules.rs); tests/lua_stubs.rs fails when the two drift apart.

---@class hubforce.Error
---@field class "auth.expired"|"auth.revoked"|"auth.client"|"auth.scope"|"permission"|"rate.burst"|"rate.daily"|"transient"|"validation"|"duplicate"|"not_found"|"plugin"
---@field code string? the provider's own code (errorCode, category, policyName…)
---@field message string
---@field hint string what to do about it
---@field retryable boolean
---@field status integer? HTTP status
---@field provider "hubspot"|"salesforce"

---@class hubforce.ItemResult
---@field ok boolean
---@field record table? the record, when ok
---@field error hubforce.Error? why it failed, when not ok

---@class hubforce.Filter
---@field propertyName string
---@field operator "EQ"|"NEQ"|"LT"|"LTE"|"GT"|"GTE"|"BETWEEN"|"IN"|"NOT_IN"|"HAS_PROPERTY"|"NOT_HAS_PROPERTY"|"CONTAINS_TOKEN"|"NOT_CONTAINS_TOKEN"
---@field value string|number|boolean?
---@field values (string|number)[]?
---@field highValue string|number?

---@class hubforce.Objects
local Objects = {}

--- One record by id (or by a unique property with `id_property`).
---@param id string|integer
---@param opts { properties: string[]?, id_property: string? }?
---@return table record
function Objects.get(id, opts) end

--- Records matching the filters (AND), sorted by id, fetched page after page up to `limit`.
---@param query { filters: hubforce.Filter[]?, properties: string[]?, limit: integer? }
---@return table[] records
function Objects.search(query) end

---@param properties table<string, string|number|boolean>
---@return table record
function Objects.create(properties) end

---@param id string|integer
---@param properties table<string, string|number|boolean>
---@return table record
function Objects.update(id, properties) end

---@param id string|integer
function Objects.archive(id) end

--- A batch operation (`read`, `create`, `update`, `upsert`, `archive`) over any number of
--- inputs, 100 per call; one result per input, in order.
---@param op "read"|"create"|"update"|"upsert"|"archive"
---@param inputs table[]
---@return hubforce.ItemResult[]
function Objects.batch(op, inputs) end

---@class hubforce.HubSpot
---@field contacts hubforce.Objects
---@field companies hubforce.Objects
---@field deals hubforce.Objects
---@field tasks hubforce.Objects
hubspot = {}

--- One raw authenticated call, e.g. `hubspot.request("GET", "/crm/v3/owners")`. Only to
--- HubSpot's own API: a path, or an absolute URL on the API's origin (a paging link); any
--- other URL fails with `FOREIGN_URL` before a connection opens.
---@param method "GET"|"POST"|"PATCH"|"PUT"|"DELETE"
---@param path string
---@param body table?
---@return table
function hubspot.request(method, path, body) end

--- The property definitions of an object type.
---@param object "contacts"|"companies"|"deals"|"tasks"
---@return table[]
function hubspot.properties(object) end

--- Every member record id of a list (for inclusion lists).
---@param list_id string|integer
---@return string[]
function hubspot.list_members(list_id) end

---@class hubforce.SObject
---@field name string
local SObject = {}

---@param id string
---@param fields string[]?
---@return table record
function SObject:get(id, fields) end

---@param fields table
---@return string id
function SObject:create(fields) end

---@param id string
---@param fields table
function SObject:update(id, fields) end

---@param id string
function SObject:delete(id) end

--- Upsert by an external id field: `salesforce.sobject("Lead"):upsert("HubSpot_Id__c", "123", {...})`.
---@param field string
---@param value string|integer
---@param fields table
---@return { id: string, created: boolean }
function SObject:upsert(field, value, fields) end

--- sObject Collections: any number of records, 200 per call, one result per record.
---@param op "create"|"update"|"upsert"|"delete"
---@param records table[]
---@param all_or_none boolean?
---@param field string? the external id field, for upsert
---@return hubforce.ItemResult[]
function SObject:collection(op, records, all_or_none, field) end

salesforce = {}

--- One raw authenticated call to the org's instance; any other URL fails with `FOREIGN_URL`.
---@param method "GET"|"POST"|"PATCH"|"PUT"|"DELETE"
---@param path string below /services/data/vNN.0/, a full /services/… path, or a URL on the instance
---@param body table?
---@return table
function salesforce.request(method, path, body) end

--- Records of a SOQL query, one at a time: `for lead in salesforce.query("SELECT Id FROM Lead") do … end`.
---@param soql string
---@return fun(): table?
function salesforce.query(soql) end

--- Like `query`, with deleted and archived records too.
---@param soql string
---@return fun(): table?
function salesforce.query_all(soql) end

---@param name string
---@return hubforce.SObject
function salesforce.sobject(name) end

---@param name string
---@return table describe
function salesforce.describe(name) end

---@return table<string, { Max: integer, Remaining: integer }>
function salesforce.limits() end

---@class hubforce.BudgetReport
---@field provider string
---@field used_today integer
---@field daily_max integer
---@field provider_used integer?
---@field provider_max integer?
---@field window_max integer?
---@field by_caller table<string, integer>

budget = {}

---@return hubforce.BudgetReport?
function budget.hubspot() end

---@return hubforce.BudgetReport?
function budget.salesforce() end

--- Plugin-scoped persistent key/value: the only state that survives a reload.
store = {}

---@param key string
---@return any
function store.get(key) end

--- Set a value (nil deletes the key).
---@param key string
---@param value any
function store.set(key, value) end

---@return string[]
function store.keys() end

json = {}

---@param value any
---@return string
function json.encode(value) end

---@param text string
---@return any
function json.decode(text) end

--- JSON null (nil cannot live in a table).
json.null = nil

log = {}

---@param ... any
function log.debug(...) end

---@param ... any
function log.info(...) end

---@param ... any
function log.warn(...) end

---@param ... any
function log.error(...) end

--- The plugin's settings from hubforce.toml, checked against its manifest.
---@type table<string, any>
config = {}

--- One object pair, as a `pairs` hook declares it (docs/plugins.md, "Object pairs").
---@class hubforce.Pair
---@field hubspot hubforce.PairHubSpot
---@field salesforce hubforce.PairSalesforce
---@field match {by: "email"|"domain_then_name"|"ids"}|{by: "external_id", salesforce: string, hubspot: string?}|{by: "fields", fields: {hubspot: string, salesforce: string}[]}
--- Parent links, run first: a HubSpot association ⇄ a Salesforce lookup field.
---@field parents {pair: string, association: string, lookup: string}[]?
--- A Salesforce record type (developer name) ⇄ a HubSpot pipeline, with its stages
--- (HubSpot stage id → Salesforce value of `stage_field`).
---@field record_types {record_type: string, pipeline: string, stage_field: string, stages: table<string, string>}[]?

---@class hubforce.PairHubSpot
--- `contacts`, `tickets`, a custom object's `2-…` type id or `p{portal}_{name}`.
---@field object string
---@field filters table[]?
---@field pull string[]?
--- The property keeping the Salesforce id: one, or one per sObject. A `hubforce_…` one
--- the object lacks is created when the sync starts (the default: `hubforce_salesforce_id`).
---@field salesforce_id string|table<string, string>?
--- Values a record created from Salesforce starts with when the mappings give none.
---@field defaults table<string, any>?

---@class hubforce.PairSalesforce
--- The sObjects in match order (`{"Contact", "Lead"}`).
---@field objects string[]
---@field create_as string?
--- A SOQL condition, one for all sObjects or one per sObject.
---@field where string|table<string, string>?
---@field pull string[]?
--- The field keeping the HubSpot id (default `HubSpot_Id__c`).
---@field hubspot_id string?

---@class hubforce.Hooks
---@field include (fun(record: table, ctx: table): boolean|{include: boolean, reason: string}|nil)?
---@field mappings table|(fun(): table)?
--- The object pairs the plugin declares, by name (read once when the plugin loads).
---@field pairs table<string, hubforce.Pair>|(fun(): table<string, hubforce.Pair>)?
--- A function returning the other side's field values, or per target object (`Lead`,
--- `contacts`, …) a table of `Field = function(record, ctx) return value end`.
---@field transform (fun(record: table, ctx: table): table?)|table<string, table<string, fun(record: table, ctx: table): any>>?
---@field resolve (fun(record: table, candidates: table[], ctx: table): string|false|{skip: boolean}|nil)?
---@field checks (fun(report: table))?
---@field on_sync_start (fun(ctx: table))?
---@field on_sync_end (fun(ctx: table, summary: table))?
--- A linked record was deleted on one side (`ctx.side`): what happens to its counterpart
--- (`ctx.counterpart_id`, `ctx.counterpart_object`). "keep" (a tombstone, never re-created),
--- "propagate" (delete it too), "recreate" (the link is dropped), or nil for the pair's
--- `sync.deletes` policy (`ctx.policy`). Merges relink without asking.
---@field on_delete (fun(record: table, ctx: table): "keep"|"propagate"|"recreate"|nil)?
--- An alert is about to be sent (`alert.event` "raised" or "cleared", `alert.key`, `alert.title`,
--- `alert.detail`, `alert.profile`): a line to add to it, or nil. A pure hook: no API call.
---@field on_alert (fun(alert: table): string?)?
