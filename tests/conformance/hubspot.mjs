// Drives the simulator with the official HubSpot Node client (@hubspot/api-client), unchanged
// except for basePath. Usage: node hubspot.mjs READY_FILE
import { readFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import hubspot from '@hubspot/api-client';

const ready = JSON.parse(readFileSync(process.argv[2], 'utf8')).hubspot;
const checks = [];
const step = async (name, fn) => { await fn(); checks.push(name); };

// The install: follow the authorize URL as a browser would, keep the code.
const oauthClient = new hubspot.Client({ basePath: ready.api_base });
const authUrl = oauthClient.oauth.getAuthorizationUrl(ready.client_id, ready.redirect_uri, ready.scopes.join(' '), undefined, 'conformance');
const redirect = await fetch(authUrl.replace('https://app.hubspot.com', ready.api_base), { redirect: 'manual' });
assert.equal(redirect.status, 302);
const location = new URL(redirect.headers.get('location'));
assert.equal(location.searchParams.get('state'), 'conformance');
const code = location.searchParams.get('code');

let tokens;
await step('oauth code exchange', async () => {
  tokens = await oauthClient.oauth.tokensApi.create('authorization_code', code, ready.redirect_uri, ready.client_id, ready.client_secret);
  assert.ok(tokens.accessToken && tokens.refreshToken);
  assert.equal(tokens.expiresIn, 1800);
});
await step('oauth refresh', async () => {
  const refreshed = await oauthClient.oauth.tokensApi.create('refresh_token', undefined, undefined, ready.client_id, ready.client_secret, tokens.refreshToken);
  assert.notEqual(refreshed.accessToken, tokens.accessToken);
  tokens = { ...tokens, accessToken: refreshed.accessToken };
});
await step('oauth access token info', async () => {
  const info = await oauthClient.oauth.accessTokensApi.get(tokens.accessToken);
  assert.equal(info.hubId, ready.portal_id);
  assert.ok(info.scopes.includes('crm.objects.contacts.read'));
});

const client = new hubspot.Client({ accessToken: tokens.accessToken, basePath: ready.api_base, numberOfApiCallRetries: 3 });

let contactId;
await step('contacts create/get/update/archive', async () => {
  const created = await client.crm.contacts.basicApi.create({ properties: { email: 'sdk@conformance.example', firstname: 'Sdk', product_interest: 'analytics;support' }, associations: [] });
  contactId = created.id;
  const got = await client.crm.contacts.basicApi.getById(contactId, ['email', 'product_interest']);
  assert.equal(got.properties.product_interest, 'analytics;support');
  assert.ok(got.createdAt instanceof Date);
  const byEmail = await client.crm.contacts.basicApi.getById('sdk@conformance.example', ['firstname'], undefined, undefined, false, 'email');
  assert.equal(byEmail.id, contactId);
  const updated = await client.crm.contacts.basicApi.update(contactId, { properties: { lastname: 'Client' } });
  assert.equal(updated.properties.lastname, 'Client');
});
await step('contact conflict is a 409 ApiException', async () => {
  await assert.rejects(
    client.crm.contacts.basicApi.create({ properties: { email: 'sdk@conformance.example' }, associations: [] }),
    (e) => e.code === 409 && /Existing ID/.test(JSON.stringify(e.body)),
  );
});
await step('paging with getAll', async () => {
  const all = await client.crm.contacts.getAll(100, undefined, ['email']);
  assert.ok(all.length >= 50, `got ${all.length}`);
  assert.equal(new Set(all.map((c) => c.id)).size, all.length);
});
await step('batch create, read, upsert', async () => {
  const created = await client.crm.companies.batchApi.create({ inputs: [{ properties: { name: 'Sdk A', domain: 'sdk-a.example' }, associations: [] }, { properties: { name: 'Sdk B' }, associations: [] }] });
  assert.equal(created.status, 'COMPLETE');
  assert.equal(created.results.length, 2);
  const read = await client.crm.companies.batchApi.read({ inputs: created.results.map((r) => ({ id: r.id })), properties: ['name'], propertiesWithHistory: [] });
  assert.deepEqual(read.results.map((r) => r.properties.name).sort(), ['Sdk A', 'Sdk B']);
  const upsert = await client.crm.contacts.batchApi.upsert({ inputs: [{ id: 'sdk@conformance.example', idProperty: 'email', properties: { jobtitle: 'CTO' } }, { id: 'new@conformance.example', idProperty: 'email', properties: { firstname: 'New' } }] });
  assert.deepEqual(upsert.results.map((r) => r._new ?? r['new']).sort(), [false, true]);
});
await step('search with filters, sort and paging', async () => {
  const req = { filterGroups: [{ filters: [{ propertyName: 'lifecyclestage', operator: 'EQ', value: 'lead' }] }], sorts: ['hs_object_id'], properties: ['lifecyclestage'], limit: 10, after: '0' };
  const page = await client.crm.contacts.searchApi.doSearch(req);
  assert.ok(page.total > 10);
  assert.ok(page.results.every((r) => r.properties.lifecyclestage === 'lead'));
  assert.ok(page.paging.next.after);
});
await step('deal with company association (v4)', async () => {
  const companies = await client.crm.companies.basicApi.getPage(1);
  const companyId = companies.results[0].id;
  const deal = await client.crm.deals.basicApi.create({ properties: { dealname: 'Sdk deal', dealstage: 'qualifiedtobuy', pipeline: 'default' }, associations: [{ to: { id: companyId }, types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 341 }] }] });
  const assoc = await client.crm.associations.v4.basicApi.getPage('deals', deal.id, 'companies');
  assert.equal(String(assoc.results[0].toObjectId), companyId);
});
await step('properties, owners, pipelines', async () => {
  const props = await client.crm.properties.coreApi.getAll('contacts');
  assert.ok(props.results.some((p) => p.name === 'hs_lead_status'));
  const owners = await client.crm.owners.ownersApi.getPage();
  assert.ok(owners.results.length > 0 && owners.results[0].email);
  const pipes = await client.crm.pipelines.pipelinesApi.getAll('deals');
  assert.ok(pipes.results[0].stages.some((s) => s.id === 'closedwon'));
});
await step('lists and memberships', async () => {
  const list = await client.crm.lists.listsApi.create({ name: 'Sdk list', objectTypeId: '0-1', processingType: 'MANUAL' });
  const added = await client.crm.lists.membershipsApi.add(list.list.listId, [contactId]);
  assert.deepEqual(added.recordsIdsAdded ?? added.recordIdsAdded, [contactId]);
  const members = await client.crm.lists.membershipsApi.getPage(list.list.listId);
  assert.equal(members.results[0].recordId, contactId);
});
await step('rate-limit headers on a raw request', async () => {
  const resp = await client.apiRequest({ method: 'GET', path: '/crm/v3/objects/deals?limit=1' });
  assert.equal(resp.headers.get('x-hubspot-ratelimit-interval-milliseconds'), '10000');
});
await step('archive', async () => {
  await client.crm.contacts.basicApi.archive(contactId);
  await assert.rejects(client.crm.contacts.basicApi.getById(contactId), (e) => e.code === 404);
});

console.log(JSON.stringify({ client: '@hubspot/api-client', passed: checks }));
