-- Northwind (a consultant's client plugin). Enable it after `default` in hubforce.toml:
--   plugins = ["default", "examples/northwind"]
-- It decides which contacts sync (lifecycle stage and territory), maps Northwind's deal
-- stages, computes a Lead rating, and checks that their org has the picklist values it
-- writes.
local STAGES = { "subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity", "customer", "evangelist" }
local rank = {}
for i, stage in ipairs(STAGES) do rank[stage] = i end

local territory = {}
for _, country in ipairs(config.countries) do territory[country] = true end

local M = {}

local function blank(v) return v == nil or v == json.null or v == "" end

--- Contacts sync when they are at `min_stage` or later and in one of the territories.
function M.include(record, ctx)
  if ctx and (ctx.pair ~= "contact" or ctx.side ~= "hubspot") then return nil end
  local p = record.properties or {}
  local stage = p.lifecyclestage
  if blank(stage) or (rank[stage] or 0) < rank[config.min_stage] then
    return { include = false, reason = "lifecycle stage " .. (blank(stage) and "(none)" or stage) .. " is before " .. config.min_stage }
  end
  if blank(p.country) or not territory[p.country] then
    return { include = false, reason = "country " .. (blank(p.country) and "(none)" or p.country) .. " is outside Northwind's territories" }
  end
  return { include = true, reason = stage .. " in " .. p.country }
end

--- Northwind's sales process has a Needs Analysis and a Proposal step; the stage is
--- two-way so reps can move deals on either side.
M.mappings = {
  deal = {
    hubspot = "deals", salesforce = "Opportunity",
    fields = {
      { hubspot = "dealstage", salesforce = "StageName", type = "picklist", rule = "two_way", values = {
        appointmentscheduled = "Prospecting", qualifiedtobuy = "Qualification",
        presentationscheduled = "Needs Analysis", decisionmakerboughtin = "Proposal/Price Quote",
        contractsent = "Negotiation/Review", closedwon = "Closed Won", closedlost = "Closed Lost",
      }, salesforce_values = {
        -- Stages of the org's standard process that Northwind folds into its own steps.
        ["Value Proposition"] = "presentationscheduled", ["Id. Decision Makers"] = "decisionmakerboughtin",
        ["Perception Analysis"] = "decisionmakerboughtin",
      } },
    },
  },
}

--- A computed field: the Lead rating from the lifecycle stage and the job title.
local function rating(p)
  if p.jobtitle == "CEO" or p.jobtitle == "CTO" then return "Hot" end
  local r = rank[p.lifecyclestage] or 0
  if r >= rank.salesqualifiedlead then return "Hot" end
  if r >= rank.marketingqualifiedlead then return "Warm" end
  return "Cold"
end

function M.transform(record, ctx)
  if ctx.pair ~= "contact" or ctx.direction ~= "to_salesforce" or ctx.sobject ~= "Lead" then return nil end
  return { Rating = rating(record.properties or {}) }
end

--- The org must offer the values this plugin writes.
function M.checks()
  local d = salesforce.describe("Lead")
  local ratings = {}
  for _, f in ipairs(d.fields) do
    if f.name == "Rating" then
      for _, v in ipairs(f.picklistValues or {}) do ratings[v.value] = true end
    end
  end
  local missing = {}
  for _, v in ipairs({ "Hot", "Warm", "Cold" }) do
    if not ratings[v] then missing[#missing + 1] = v end
  end
  return { lead_rating_values_missing = missing }
end

return M
