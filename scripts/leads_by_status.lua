-- Count Salesforce Leads by Status, and HubSpot contacts by lifecycle stage.
-- hubforce run scripts/leads_by_status.lua
local leads = {}
for lead in salesforce.query("SELECT Status FROM Lead") do
  leads[lead.Status] = (leads[lead.Status] or 0) + 1
end
local stages = {}
for _, c in ipairs(hubspot.contacts.search{ properties = { "lifecyclestage" }, limit = 10000 }) do
  local s = c.properties.lifecyclestage or "(none)"
  stages[s] = (stages[s] or 0) + 1
end
return { salesforce_leads_by_status = leads, hubspot_contacts_by_stage = stages }
