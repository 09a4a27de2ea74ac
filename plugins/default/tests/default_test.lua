-- fixture: seed=5 contacts=20 companies=10 deals=10 leads=10
local function names(list, key)
  local set = {}
  for _, x in ipairs(list) do set[x[key]] = x end
  return set
end

describe("the default mappings", function()
  for pair, m in pairs(plugin.mappings) do
    it(pair .. ": every HubSpot property exists in the portal", function()
      local props = names(hubspot.properties(m.hubspot), "name")
      for _, f in ipairs(m.fields) do
        expect(props[f.hubspot] ~= nil).to_be(true)
      end
    end)
    it(pair .. ": every Salesforce field exists and the integration user can write it", function()
      local fields = names(salesforce.describe(m.salesforce).fields, "name")
      for _, f in ipairs(m.fields) do
        local d = fields[f.salesforce]
        expect(d ~= nil).to_be(true)
        expect(d.createable and d.updateable).to_be(true)
      end
    end)
    it(pair .. ": picklist values exist on both sides", function()
      local props = names(hubspot.properties(m.hubspot), "name")
      local fields = names(salesforce.describe(m.salesforce).fields, "name")
      for _, f in ipairs(m.fields) do
        if f.type == "picklist" then
          local hs_options = names(props[f.hubspot].options, "value")
          local sf_values = names(fields[f.salesforce].picklistValues, "value")
          for hs, sf in pairs(f.values) do
            expect(hs_options[hs] ~= nil).to_be(true)
            expect(sf_values[sf] ~= nil).to_be(true)
          end
        end
      end
    end)
  end
end)
