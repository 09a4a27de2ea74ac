-- The baseline: a contact sync written the way most hand-rolled integrations (and the
-- incumbent connector) work — page through HubSpot, and per contact look up its match in
-- Salesforce (a Contact with the e-mail, else a Lead), then create or update it. One call per
-- step, nothing batched. The rules are the default plugin's: contacts with a lifecycle stage,
-- its fields, "Prefer Salesforce unless blank" (only blank Salesforce fields are written), and
-- the linked Salesforce id kept on the HubSpot contact (salesforceleadid /
-- salesforcecontactid), as the incumbent and hubforce both do.
local stages = {
  subscriber = true, lead = true, marketingqualifiedlead = true, salesqualifiedlead = true,
  opportunity = true, customer = true, evangelist = true, other = true,
}
local fields = {
  Lead = {
    email = "Email", firstname = "FirstName", lastname = "LastName", company = "Company",
    phone = "Phone", mobilephone = "MobilePhone", jobtitle = "Title", website = "Website",
    address = "Street", city = "City", state = "State", zip = "PostalCode", country = "Country",
    numemployees = "NumberOfEmployees", annualrevenue = "AnnualRevenue",
  },
  Contact = {
    email = "Email", firstname = "FirstName", lastname = "LastName", phone = "Phone",
    mobilephone = "MobilePhone", jobtitle = "Title", address = "MailingStreet",
    city = "MailingCity", state = "MailingState", zip = "MailingPostalCode",
    country = "MailingCountry",
  },
}
local properties = { "lifecyclestage", "salesforceleadid", "salesforcecontactid" }
local columns = { Lead = { "Id" }, Contact = { "Id" } }
local id_property = { Lead = "salesforceleadid", Contact = "salesforcecontactid" }
for hs in pairs(fields.Lead) do properties[#properties + 1] = hs end
for sobject, map in pairs(fields) do
  for _, sf in pairs(map) do table.insert(columns[sobject], sf) end
end
local numbers = { NumberOfEmployees = true, AnnualRevenue = true }

local function lookup(sobject, email)
  local soql = "SELECT " .. table.concat(columns[sobject], ", ") .. " FROM " .. sobject
    .. " WHERE Email = '" .. email:gsub("'", "\\'") .. "' LIMIT 1"
  for r in salesforce.query(soql) do return r end
end

local function blank(v) return v == nil or v == json.null or v == "" end

local sobjects = { Lead = salesforce.sobject("Lead"), Contact = salesforce.sobject("Contact") }
local counts = { created = 0, updated = 0, unchanged = 0, excluded = 0, failed = 0 }
local after
repeat
  local path = "/crm/v3/objects/contacts?limit=100&properties=" .. table.concat(properties, ",")
  if after then path = path .. "&after=" .. after end
  local page = hubspot.request("GET", path)
  for _, contact in ipairs(page.results) do
    local p = contact.properties
    if blank(p.email) or not stages[p.lifecyclestage] then
      counts.excluded = counts.excluded + 1
    else
      local target, match = "Contact", lookup("Contact", p.email)
      if match == nil then target, match = "Lead", lookup("Lead", p.email) end
      local values, n = {}, 0
      for hs, sf in pairs(fields[target]) do
        if not blank(p[hs]) and (match == nil or blank(match[sf])) then
          values[sf] = numbers[sf] and tonumber(p[hs]) or p[hs]
          n = n + 1
        end
      end
      local ok = pcall(function()
        local id = match and match.Id
        if match == nil then
          id = sobjects[target]:create(values)
          counts.created = counts.created + 1
        elseif n > 0 then
          sobjects[target]:update(id, values)
          counts.updated = counts.updated + 1
        else
          counts.unchanged = counts.unchanged + 1
        end
        if p[id_property[target]] ~= id then
          hubspot.contacts.update(contact.id, { [id_property[target]] = id })
        end
      end)
      if not ok then counts.failed = counts.failed + 1 end
    end
  end
  after = page.paging and page.paging.next and page.paging.next.after
until blank(after)
return counts
