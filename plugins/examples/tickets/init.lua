-- Tickets ⇄ Cases for a client with two desks. Each HubSpot ticket pipeline is one Case
-- record type with its own statuses; a ticket in another pipeline, or a Case of another
-- record type, stays where it is (`hubforce explain` says why). Enable it after "default":
-- the ticket's contact and company are the default plugin's contact and company pairs.
-- Sync it by adding "ticket" to `sync.objects` and "tickets" to the HubSpot scopes.

local pairs_ = {
  ticket = {
    hubspot = { object = "tickets" },
    salesforce = { objects = { "Case" } },
    -- Cases are linked by the ids each side keeps (HubSpot_Id__c on the Case, and the
    -- hubforce_salesforce_id property hubforce adds to tickets).
    match = { by = "ids" },
    parents = {
      { pair = "contact", association = "contacts", lookup = "ContactId" },
      { pair = "company", association = "companies", lookup = "AccountId" },
    },
    record_types = {
      { record_type = "Support", pipeline = "0", stage_field = "Status",
        stages = { ["1"] = "New", ["2"] = "Working", ["3"] = "Escalated", ["4"] = "Closed" } },
      { record_type = "Billing", pipeline = "billing", stage_field = "Status",
        stages = { billing_new = "New", billing_review = "Working", billing_closed = "Closed" },
        -- The billing desk has no escalation stage: an escalated Case is in review.
        salesforce_stages = { Escalated = "billing_review" } },
    },
  },
}

local mappings = {
  ticket = {
    hubspot = "tickets", salesforce = "Case",
    fields = {
      { hubspot = "subject", salesforce = "Subject", rule = "two_way" },
      { hubspot = "content", salesforce = "Description", rule = "two_way" },
      { hubspot = "hs_ticket_priority", salesforce = "Priority", type = "picklist", rule = "two_way",
        values = { LOW = "Low", MEDIUM = "Medium", HIGH = "High", URGENT = "High" },
        salesforce_values = { High = "HIGH" } },
      { hubspot = "hubspot_owner_id", salesforce = "OwnerId", type = "owner", rule = "two_way" },
    },
  },
}

return { pairs = pairs_, mappings = mappings }
