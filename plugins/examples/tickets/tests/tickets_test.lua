-- fixture: seed=3 contacts=20 tickets=4
local pair = plugin.pairs.ticket

local function case_describe()
  local d = salesforce.describe("Case")
  local types, fields = {}, {}
  for _, r in ipairs(d.recordTypeInfos) do types[r.developerName] = r end
  for _, f in ipairs(d.fields) do fields[f.name] = f end
  return types, fields
end

local function statuses(fields)
  local set = {}
  for _, v in ipairs(fields.Status.picklistValues) do set[v.value] = true end
  return set
end

describe("the ticket pair", function()
  it("names record types Case has", function()
    local types = case_describe()
    for _, rt in ipairs(pair.record_types) do
      expect(types[rt.record_type] ~= nil).to_be(true)
    end
  end)
  it("maps every stage to a Case status", function()
    local _, fields = case_describe()
    local known = statuses(fields)
    for _, rt in ipairs(pair.record_types) do
      for _, status in pairs(rt.stages) do expect(known[status]).to_be(true) end
    end
  end)
  it("brings every Case status back as a stage of each pipeline", function()
    local _, fields = case_describe()
    for _, rt in ipairs(pair.record_types) do
      for status in pairs(statuses(fields)) do
        local back = rt.salesforce_stages and rt.salesforce_stages[status]
        if not back then
          for stage, s in pairs(rt.stages) do if s == status then back = stage end end
        end
        expect(back ~= nil).to_be(true)
      end
    end
  end)
  it("hangs a Case from its contact and its account, lookups Case has", function()
    local _, fields = case_describe()
    for _, p in ipairs(pair.parents) do
      expect(fields[p.lookup] ~= nil).to_be(true)
      expect(fields[p.lookup].type).to_be("reference")
    end
  end)
  it("maps fields both sides have", function()
    local _, fields = case_describe()
    for _, f in ipairs(plugin.mappings.ticket.fields) do
      expect(fields[f.salesforce] ~= nil).to_be(true)
    end
  end)
end)
