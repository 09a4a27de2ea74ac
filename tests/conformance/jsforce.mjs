// Drives the simulator with jsforce, unchanged except for loginUrl. Usage: node jsforce.mjs READY_FILE
import { readFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import jsforce from 'jsforce';

const ready = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const sf = ready.salesforce;
const version = sf.api_version;
const checks = [];
const step = async (name, fn) => { await fn(); checks.push(name); };

const oauth2 = new jsforce.OAuth2({ loginUrl: sf.login_url, clientId: sf.client_id, clientSecret: sf.client_secret, redirectUri: sf.redirect_uri, useVerifier: true });
const authUrl = oauth2.getAuthorizationUrl({ scope: 'api refresh_token', state: 'conformance' });
const redirect = await fetch(authUrl, { redirect: 'manual' });
assert.equal(redirect.status, 302);
const code = new URL(redirect.headers.get('location')).searchParams.get('code');

const conn = new jsforce.Connection({ oauth2, version });
await step('oauth code exchange with PKCE', async () => {
  const user = await conn.authorize(code);
  assert.ok(user.organizationId.startsWith('00D'));
  assert.equal(conn.instanceUrl, sf.instance_url);
  assert.ok(conn.refreshToken);
});
await step('identity', async () => {
  const id = await conn.identity();
  assert.equal(id.username, sf.username);
});
await step('query with autoFetch across pages', async () => {
  const res = await conn.query('SELECT Id, Email FROM Lead ORDER BY CreatedDate');
  assert.equal(res.done, false);
  assert.equal(res.records.length, 2000);
  const more = await conn.queryMore(res.nextRecordsUrl);
  assert.equal(more.done, true);
  assert.equal(res.records.length + more.records.length, res.totalSize);
  const all = [];
  let total = 0;
  await new Promise((resolve, reject) => {
    conn.query('SELECT Id FROM Lead').on('record', (r) => all.push(r)).on('end', function () { total = this.totalSize; resolve(); }).on('error', reject).run({ autoFetch: true, maxFetch: 100000 });
  });
  assert.ok(total > 2000, `needs more than one 2,000-row page, got ${total}`);
  assert.equal(all.length, total);
  assert.equal(new Set(all.map((r) => r.Id)).size, total);
});
await step('limit info parsed from Sforce-Limit-Info', async () => {
  await conn.query('SELECT COUNT() FROM Account');
  assert.ok(conn.limitInfo.apiUsage.used > 0);
  assert.ok(conn.limitInfo.apiUsage.limit > 0);
});
let accountId;
await step('sobject create/retrieve/update/destroy', async () => {
  const ret = await conn.sobject('Account').create({ Name: 'jsforce Co', HubSpot_Id__c: 'jsf-1' });
  assert.equal(ret.success, true);
  accountId = ret.id;
  const acc = await conn.sobject('Account').retrieve(accountId);
  assert.equal(acc.Name, 'jsforce Co');
  const upd = await conn.sobject('Account').update({ Id: accountId, Phone: '+81' });
  assert.equal(upd.success, true);
});
await step('upsert by external id', async () => {
  const created = await conn.sobject('Account').upsert({ Name: 'Upserted by jsforce', HubSpot_Id__c: 'jsf-2' }, 'HubSpot_Id__c');
  assert.equal(created.success, true);
  const updated = await conn.sobject('Account').upsert({ Name: 'Again', HubSpot_Id__c: 'jsf-2' }, 'HubSpot_Id__c');
  assert.equal(updated.success, true);
});
await step('collections create/update/upsert/delete', async () => {
  const rets = await conn.sobject('Contact').create([{ LastName: 'One' }, { LastName: 'Two' }, { FirstName: 'NoLast' }], { allOrNone: false });
  assert.deepEqual(rets.map((r) => r.success), [true, true, false]);
  const ids = rets.filter((r) => r.success).map((r) => r.id);
  const upd = await conn.sobject('Contact').update(ids.map((Id) => ({ Id, Title: 'Tester' })));
  assert.ok(upd.every((r) => r.success));
  const ups = await conn.sobject('Contact').upsert([{ LastName: 'X', HubSpot_Id__c: 'c1' }, { LastName: 'Y', HubSpot_Id__c: 'c2' }], 'HubSpot_Id__c');
  assert.ok(ups.every((r) => r.success));
  const del = await conn.sobject('Contact').destroy(ids);
  assert.ok(del.every((r) => r.success));
});
await step('describe and global describe', async () => {
  const d = await conn.sobject('Lead').describe();
  assert.ok(d.fields.some((f) => f.name === 'HubSpot_Id__c' && f.externalId));
  const g = await conn.describeGlobal();
  assert.ok(g.sobjects.some((s) => s.name === 'Opportunity'));
});
await step('errors carry errorCode', async () => {
  await assert.rejects(conn.sobject('Lead').create({ LastName: 'NoCompany' }).then((r) => { if (!r.success) throw Object.assign(new Error(r.errors[0].message), { errorCode: r.errors[0].errorCode ?? r.errors[0].statusCode }); }),
    (e) => e.errorCode === 'REQUIRED_FIELD_MISSING' || e.name === 'REQUIRED_FIELD_MISSING');
  await assert.rejects(conn.query('SELECT Bogus FROM Lead'), (e) => e.errorCode === 'INVALID_FIELD' || e.name === 'INVALID_FIELD');
});
await step('session refresh on INVALID_SESSION_ID', async () => {
  let refreshed = 0;
  conn.on('refresh', () => { refreshed += 1; });
  await fetch(`${ready.control}/expire-tokens`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"provider":"salesforce"}' });
  const res = await conn.query('SELECT Id FROM Account LIMIT 1');
  assert.equal(res.records.length, 1);
  assert.equal(refreshed, 1);
});
await step('limits resource', async () => {
  const limits = await conn.limits();
  assert.ok(limits.DailyApiRequests.Max >= limits.DailyApiRequests.Remaining);
});
await step('password login (username + password + security token)', async () => {
  const c2 = new jsforce.Connection({ oauth2: { loginUrl: sf.login_url, clientId: sf.client_id, clientSecret: sf.client_secret, redirectUri: sf.redirect_uri }, version });
  const user = await c2.login(sf.username, sf.password + sf.security_token);
  assert.ok(user.id);
  const res = await c2.query('SELECT Id FROM User LIMIT 1');
  assert.equal(res.records.length, 1);
});
await step('destroy', async () => {
  await conn.sobject('Account').destroy(accountId);
});

console.log(JSON.stringify({ client: 'jsforce', passed: checks }));
