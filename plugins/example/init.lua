-- An example client plugin: which contacts sync, and how a contact becomes a Lead.
local STAGES = { "subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity", "customer", "evangelist" }
local rank = {}
for i, stage in ipairs(STAGES) do rank[stage] = i end

local M = {}

--- Contacts at `config.min_stage` or later are included; other pairs and Salesforce
--- records are left to the default (nil: no opinion).
function M.include(record, ctx)
  if ctx and (ctx.pair ~= "contact" or ctx.side ~= "hubspot") then return nil end
  local stage = record.properties and record.properties.lifecyclestage
  return stage ~= nil and stage ~= json.null and (rank[stage] or 0) >= rank[config.min_stage]
end

--- A HubSpot contact as Lead fields (Salesforce requires LastName and Company).
function M.transform(record, ctx)
  if ctx and (ctx.pair ~= "contact" or ctx.direction ~= "to_salesforce" or ctx.sobject ~= "Lead") then return nil end
  local p = record.properties
  local function value(v) if v == nil or v == json.null or v == "" then return nil end return v end
  return {
    Email = value(p.email) and string.lower(p.email) or nil,
    FirstName = value(p.firstname),
    LastName = value(p.lastname) or "[unknown]",
    Company = value(p.company) or "[not provided]",
  }
end

--- A post-connection check: the integration user can see Leads.
function M.checks()
  local n = 0
  for _ in salesforce.query("SELECT Id FROM Lead LIMIT 5") do n = n + 1 end
  return { leads_visible = n }
end

return M
