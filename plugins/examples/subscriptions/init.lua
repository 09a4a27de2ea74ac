-- A client's subscriptions live in a HubSpot custom object and a Salesforce custom object.
-- The two sides share a key (subscription_key ⇄ Subscription_Key__c, an external id), so
-- records that exist on both link up on the first sync instead of being created twice.
-- Each subscription hangs from its company: the association to a company ⇄ Account__c.
-- Enable it after "default" (the company pair is the default plugin's) and add
-- "subscription" to `sync.objects`.

local pairs_ = {
  subscription = {
    hubspot = { object = config.object },
    salesforce = { objects = { "Subscription__c" } },
    match = { by = "external_id", salesforce = "Subscription_Key__c", hubspot = "subscription_key" },
    parents = { { pair = "company", association = "companies", lookup = "Account__c" } },
  },
}

local mappings = {
  subscription = {
    hubspot = config.object, salesforce = "Subscription__c",
    fields = {
      { hubspot = "subscription_name", salesforce = "Name", rule = "two_way" },
      { hubspot = "subscription_key", salesforce = "Subscription_Key__c", rule = "two_way" },
      { hubspot = "plan", salesforce = "Plan__c", type = "picklist", rule = "two_way",
        values = { basic = "Basic", pro = "Pro", enterprise = "Enterprise" } },
      { hubspot = "status", salesforce = "Status__c", type = "picklist", rule = "two_way",
        values = { active = "Active", paused = "Paused", cancelled = "Cancelled" } },
      { hubspot = "start_date", salesforce = "Start_Date__c", type = "date", rule = "two_way" },
      { hubspot = "renewal_date", salesforce = "Renewal_Date__c", type = "date", rule = "two_way" },
      { hubspot = "monthly_amount", salesforce = "Monthly_Amount__c", type = "number", rule = "two_way" },
    },
  },
}

return { pairs = pairs_, mappings = mappings }
