-- The host API as plugins see it, built on the raw functions from src/lua/host.rs.
-- Raw functions return (true, value) or (false, error); errors are raised as values so
-- that pcall hands back a table with class, code, message, hint, retryable, status.
local raw = ...

local ErrorValue = {
  __tostring = function(e) return e.line end,
  __name = "hubforce.error",
}

local function unwrap(ok, v)
  if ok then return v end
  error(setmetatable(v, ErrorValue), 3)
end

hubspot = {}

--- A raw call: hubspot.request("GET", "/crm/v3/owners") -> table
function hubspot.request(method, path, body)
  return unwrap(raw.hs_request(method, path, body))
end

local function object_api(object)
  return {
    --- hubspot.contacts.get(id, { properties = {...}, id_property = "email" })
    get = function(id, opts)
      opts = opts or {}
      return unwrap(raw.hs_get(object, tostring(id), opts.properties or {}, opts.id_property))
    end,
    --- hubspot.contacts.search{ filters = {{propertyName=..., operator=..., value=...}}, properties = {...}, limit = 100 }
    search = function(q)
      q = q or {}
      return unwrap(raw.hs_search(object, q.filters or {}, q.properties or {}, q.limit or 100))
    end,
    create = function(properties) return unwrap(raw.hs_write("create", object, nil, properties)) end,
    update = function(id, properties) return unwrap(raw.hs_write("update", object, tostring(id), properties)) end,
    archive = function(id) return unwrap(raw.hs_write("archive", object, tostring(id), {})) end,
    --- hubspot.contacts.batch("update", {{id=..., properties={...}}, ...}) -> {{ok=true, record=...}, {ok=false, error=...}}
    batch = function(op, inputs) return unwrap(raw.hs_batch(object, op, inputs)) end,
  }
end

for _, object in ipairs({ "contacts", "companies", "deals", "tasks" }) do
  hubspot[object] = object_api(object)
end

function hubspot.properties(object) return unwrap(raw.hs_properties(object)) end
function hubspot.list_members(list_id) return unwrap(raw.hs_list_members(tostring(list_id))) end

salesforce = {}

function salesforce.request(method, path, body)
  return unwrap(raw.sf_request(method, path, body))
end

local function query(soql, all_rows)
  local page = unwrap(raw.sf_query_page(soql, nil, all_rows))
  local i = 0
  return function()
    i = i + 1
    while i > #page.records do
      if page.next == nil or page.next == json.null then return nil end
      page = unwrap(raw.sf_query_page(nil, page.next, all_rows))
      i = 1
    end
    return page.records[i]
  end
end

--- for record in salesforce.query("SELECT Id FROM Lead") do ... end
function salesforce.query(soql) return query(soql, false) end
function salesforce.query_all(soql) return query(soql, true) end

local SObject = {}
SObject.__index = SObject
function SObject:get(id, fields) return unwrap(raw.sf_sobject("get", self.name, id, fields or {}, nil)) end
function SObject:create(fields) return unwrap(raw.sf_sobject("create", self.name, nil, fields, nil)).id end
function SObject:update(id, fields) return unwrap(raw.sf_sobject("update", self.name, id, fields, nil)) end
function SObject:delete(id) return unwrap(raw.sf_sobject("delete", self.name, id, nil, nil)) end
--- salesforce.sobject("Lead"):upsert("HubSpot_Id__c", "123", { LastName = "X", Company = "Y" }) -> { id=, created= }
function SObject:upsert(field, value, fields) return unwrap(raw.sf_sobject("upsert", self.name, tostring(value), fields, field)) end
--- create/update/delete/upsert up to any number of records, 200 per call
function SObject:collection(op, records, all_or_none, field)
  if op == "create" or op == "update" then
    for _, r in ipairs(records) do r.attributes = r.attributes or { type = self.name } end
  end
  return unwrap(raw.sf_collection(op, records, all_or_none == true, self.name, field))
end

function salesforce.sobject(name) return setmetatable({ name = name }, SObject) end
function salesforce.describe(name) return unwrap(raw.sf_describe(name)) end
function salesforce.limits() return unwrap(raw.sf_limits()) end

budget = {
  hubspot = function() return raw.budget("hubspot") end,
  salesforce = function() return raw.budget("salesforce") end,
}
