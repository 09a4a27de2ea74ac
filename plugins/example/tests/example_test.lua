-- fixture: seed=3 contacts=40 leads=10
describe("include", function()
  it("keeps marketing-qualified leads and later", function()
    expect(plugin.include({ properties = { lifecyclestage = "customer" } })).to_be(true)
    expect(plugin.include({ properties = { lifecyclestage = "marketingqualifiedlead" } })).to_be(true)
  end)
  it("drops subscribers and leads", function()
    expect(plugin.include({ properties = { lifecyclestage = "subscriber" } })).to_be(false)
    expect(plugin.include({ properties = { lifecyclestage = "lead" } })).to_be(false)
  end)
  it("drops contacts without a stage", function()
    expect(plugin.include({ properties = { lifecyclestage = json.null } })).to_be(false)
  end)
end)

describe("transform", function()
  it("lower-cases the email and fills the fields Salesforce requires", function()
    local lead = plugin.transform({ properties = { email = "Ann@Example.COM", firstname = "Ann" } })
    expect(lead).to_equal({ Email = "ann@example.com", FirstName = "Ann", LastName = "[unknown]", Company = "[not provided]" })
  end)
end)

describe("against the simulator", function()
  it("sees Leads in Salesforce", function()
    expect(plugin.checks().leads_visible).to_be(5)
  end)
  it("finds HubSpot contacts that qualify, and Salesforce accepts their transform", function()
    local created = 0
    for _, contact in ipairs(hubspot.contacts.search({ properties = { "email", "firstname", "lastname", "company", "lifecyclestage" }, limit = 40 })) do
      if plugin.include(contact) then
        local lead = plugin.transform(contact)
        lead.Email = "copy." .. lead.Email -- the seeded org already has some of these emails
        expect(salesforce.sobject("Lead"):create(lead)).to_match("^00Q")
        created = created + 1
      end
    end
    expect(created > 0).to_be(true)
  end)
end)
