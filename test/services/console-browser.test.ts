/**
 * The web console in a real browser: Debian's Chromium (playwright-core) against a real
 * `citytrust serve`. A person signs in, creates a tenant and tokens, revokes one, verifies an
 * audit event's inclusion proof in the page, looks at the vault, and a tenant user is kept to
 * its own tenant. Screenshots go to test-artifacts/console/.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { Page } from 'playwright-core';
import { runCli, startServer } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';
import { ensureConsoleBuilt, launch, shot, watchErrors, type Browser } from '../console/browser.ts';
import { coseVerifierKey, generateKeyPair, importSpkiPublicKey, keyObjectSigner } from '../../src/crypto/index.ts';
import { fromBase64Url } from '../../src/core/bytes.ts';
import { ApduReaderLink, createCsr, enroll, Reader, ReaderOnline, toPemBlock, TrustCache, validateReaderConfig } from '../../src/reader/index.ts';
import { ApduCard } from '../../src/tap/index.ts';
import { CityReaderAuthenticator, MemoryStorage, Wallet, WalletTapResponder, httpTransport, walletCredentialSource } from '../../src/wallet/index.ts';
import { SimReaderQueue } from '../../src/sim/reader-queue.ts';
import { MemoryMeterStorage, SimulatedMeter } from '../../src/metering/meter.ts';
import { systemClock } from '../../src/core/clock.ts';
import { createHash, randomBytes } from 'node:crypto';

const tmp = tempDir();
let server: { child: ChildProcess; url: string };
let browser: Browser;
let admin: string;
let page: Page;
let errors: string[];
let tenantAdminToken = '';
let revokedCredential = '';
/** The rider's phone: the wallet SDK holding the credential issued (and then revoked) in the console. */
let phone: { wallet: Wallet; walletId: string } | undefined;

async function api<T>(method: string, path: string, token: string, body?: unknown): Promise<{ status: number; body: T }> {
  const r = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: r.status, body: (await r.json()) as T };
}

async function signIn(p: Page, token: string): Promise<void> {
  await p.goto(`${server.url}/console/`);
  await p.fill('input[name=token]', token);
  await p.click('button[type=submit]');
}

before(async () => {
  ensureConsoleBuilt();
  const dir = join(tmp.dir, 'data');
  const init = runCli(['init', '-d', dir, '--dev-unseal', '--json']);
  assert.equal(init.status, 0, init.stderr);
  admin = (JSON.parse(init.stdout) as { token: string }).token;
  // The embedded MQTT broker on a free port: 1883 may be a system Mosquitto's.
  server = await startServer(['-d', dir], { CITYTRUST_MQTT_PORT: '0' });
  for (const id of ['metro', 'campus']) assert.equal((await api('POST', '/v1/tenants', admin, { id, name: `${id} tenant` })).status, 201);
  browser = await launch();
  page = browser.context.pages()[0] ?? (await browser.context.newPage());
  errors = watchErrors(page);
});

after(async () => {
  await browser?.close();
  server?.child.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 300));
  tmp.remove();
});

describe('the console in Chromium', () => {
  it('refuses a malformed token without sending it, and an unknown token with AUTH_INVALID_TOKEN', async () => {
    const sent: string[] = [];
    page.on('request', (r) => sent.push(r.url()));
    await page.goto(`${server.url}/console/`);
    await page.fill('input[name=token]', 'hunter2');
    await page.click('button[type=submit]');
    await page.locator('[role=alert][data-code=CONSOLE_TOKEN_SHAPE]').waitFor();
    assert.equal(sent.filter((u) => u.includes('/v1/')).length, 0, 'a malformed token never leaves the page');

    await page.fill('input[name=token]', `ct_${'0'.repeat(16)}_${'A'.repeat(43)}`);
    await page.click('button[type=submit]');
    const note = page.locator('[role=alert][data-code=AUTH_INVALID_TOKEN]');
    await note.waitFor();
    assert.match(await note.innerText(), /unknown or mistyped/);
    assert.equal(await page.evaluate(() => sessionStorage.length + localStorage.length), 0, 'nothing kept after a refused sign-in');
    await shot(page, '01-wrong-token');
  });

  it('signs an admin in, keeps the token in sessionStorage only, and refreshes the dashboard every second', async () => {
    await signIn(page, admin);
    await page.locator('[data-testid=vault-state]', { hasText: 'unsealed' }).waitFor();
    assert.equal(await page.evaluate(() => localStorage.length), 0);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('citytrust.token')), admin);
    const updated = page.locator('[data-testid=updated]');
    const seen = new Set<string>();
    const until = Date.now() + 5000;
    while (seen.size < 4 && Date.now() < until) {
      seen.add((await updated.getAttribute('data-at')) ?? '');
      await page.waitForTimeout(200);
    }
    // Four distinct refreshes (plus the initial '0') within five seconds: at least one a second on average.
    assert.ok(seen.size >= 4, `only ${seen.size} distinct refreshes in 5 s`);
    await page.locator('[data-testid=log-watch]').waitFor();
    assert.match(await page.locator('[data-testid=log-watch]').innerText(), /verified in this browser/);
    await shot(page, '02-dashboard');
  });

  it('creates a tenant after refusing an invalid id and a duplicate, with nothing sent for the invalid one', async () => {
    await page.goto(`${server.url}/console/#/tenants`);
    const posts: string[] = [];
    const onRequest = (r: { method(): string; url(): string }) => r.method() === 'POST' && posts.push(r.url());
    page.on('request', onRequest);
    await page.fill('input[name=tenant-id]', 'Bad Id!');
    await page.fill('input[name=tenant-name]', 'Riverside Ferries');
    await page.click('button:has-text("Create tenant")');
    await page.locator('[role=alert][data-code=INPUT_INVALID]').waitFor();
    assert.equal(posts.length, 0, 'an invalid form is not sent');

    await page.fill('input[name=tenant-id]', 'metro');
    await page.click('button:has-text("Create tenant")');
    await page.locator('[role=alert][data-code=TENANT_EXISTS]').waitFor();

    await page.fill('input[name=tenant-id]', 'riverside');
    await page.fill('input[name=tenant-name]', 'Riverside Ferries');
    await page.click('button:has-text("Create tenant")');
    await page.locator('tr[data-tenant=riverside]').waitFor();
    page.off('request', onRequest);
    const tenants = await api<{ id: string }[]>('GET', '/v1/tenants', admin);
    assert.deepEqual(tenants.body.map((t) => t.id).sort(), ['campus', 'metro', 'riverside']);
    await shot(page, '03-tenants');
  });

  it('creates a tenant token showing its secret once, and revokes another after a typed confirmation', async () => {
    await page.goto(`${server.url}/console/#/tokens`);
    await page.selectOption('select[name=token-tenant]', 'riverside');
    await page.fill('input[name=token-label]', 'riverside admin');
    await page.check('input[name=role-tenant-admin]');
    await page.click('button:has-text("Create token")');
    tenantAdminToken = (await page.locator('[data-testid=new-token-secret]').innerText()).trim();
    assert.match(tenantAdminToken, /^ct_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    const id = tenantAdminToken.slice(3, 19);
    await page.locator(`tr[data-token="${id}"][data-state=active]`).waitFor();
    await shot(page, '04-token-created');
    await page.click('button:has-text("I have stored it")');
    assert.equal(await page.locator('[data-testid=new-token-secret]').count(), 0, 'the secret is gone once dismissed');

    // A second token, revoked from the console.
    await page.selectOption('select[name=token-tenant]', 'riverside');
    await page.fill('input[name=token-label]', 'to be revoked');
    await page.check('input[name=role-issuer]');
    await page.click('button:has-text("Create token")');
    const doomed = (await page.locator('[data-testid=new-token-secret]').innerText()).trim();
    const doomedId = doomed.slice(3, 19);
    await page.click(`tr[data-token="${doomedId}"] button:has-text("Revoke")`);
    const confirm = page.locator('[role=dialog] button[type=submit]');
    assert.equal(await confirm.isDisabled(), true, 'revoking needs the typed word');
    await page.fill('[role=dialog] input[name=confirm]', 'revoke');
    await confirm.click();
    await page.locator(`tr[data-token="${doomedId}"][data-state=revoked]`).waitFor();
    assert.equal((await api<{ code: string }>('GET', '/v1/whoami', doomed)).body.code, 'AUTH_TOKEN_REVOKED');
    await shot(page, '05-token-revoked');
  });

  it('verifies an audit event in the page: leaf rebuilt, checkpoint signature, inclusion proof', async () => {
    await page.goto(`${server.url}/console/#/audit`);
    await page.fill('input[name=action]', 'tenant.create');
    await page.click('button:has-text("Filter")');
    const row = page.locator('[data-testid=events] tr', { hasText: 'tenant.create' }).filter({ hasText: 'riverside' });
    await row.waitFor();
    const seq = await row.getAttribute('data-seq');
    await row.locator('a').click();
    await page.locator('[data-testid=event-detail]', { hasText: `Event #${seq}` }).waitFor();
    // The checkpoint timer runs every second; an event newer than it shows "waiting" until then.
    let ok = 'false';
    for (let i = 0; i < 20 && ok !== 'true'; i++) {
      await page.click('button:has-text("Verify in this browser")');
      await page.locator('[data-testid=verification]').waitFor();
      ok = (await page.locator('[data-testid=verification]').getAttribute('data-ok')) ?? 'false';
      if (ok !== 'true') await page.waitForTimeout(500);
    }
    assert.equal(ok, 'true');
    for (const step of ['leaf', 'signature', 'inclusion']) assert.equal(await page.locator(`[data-step=${step}]`).getAttribute('data-state'), 'ok', step);
    assert.match(await page.locator('[data-testid=verification-summary]').innerText(), /Verified in this browser with WebCrypto/);
    await shot(page, '06-audit-verified');
  });

  it('flags a wrong pinned log key instead of verifying', async () => {
    await page.fill('input[name=vkey]', 'someone.else+00000000+AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
    await page.click('button:has-text("Verify in this browser")');
    await page.locator('[data-testid=verification][data-ok=false]').waitFor();
    assert.equal(await page.locator('[data-step=signature]').getAttribute('data-state'), 'failed');
    await page.fill('input[name=vkey]', '');
  });

  it('shows the vault and cancelling the seal dialog changes nothing', async () => {
    await page.goto(`${server.url}/console/#/vault`);
    await page.locator('[data-testid=vault-state]', { hasText: 'unsealed' }).waitFor();
    await page.locator('[data-testid=keys] tbody tr').first().waitFor();
    await page.click('button:has-text("Seal the vault")');
    await page.locator('[role=dialog]').waitFor();
    await shot(page, '07-vault-seal-confirm');
    await page.click('[role=dialog] button:has-text("Cancel")');
    assert.equal((await api<{ state: string }>('GET', '/v1/vault/status', admin)).body.state, 'unsealed');
    await shot(page, '08-vault');

    // Vault keys: a key without a label is refused before anything is sent; then one is created and rotated.
    const keysBefore = (await api<unknown[]>('GET', '/v1/vault/keys', admin)).body.length;
    await page.click('button:has-text("Create key")');
    await page.locator('[role=alert][data-code=INPUT_INVALID]', { hasText: 'label' }).waitFor();
    assert.equal((await api<unknown[]>('GET', '/v1/vault/keys', admin)).body.length, keysBefore, 'nothing was created');
    await page.selectOption('select[name=key-type]', 'ed25519');
    await page.fill('input[name=key-label]', 'console test signing key');
    await page.click('button:has-text("Create key")');
    const keyRow = page.locator('tr[data-key-label="console test signing key"]');
    await keyRow.and(page.locator('[data-version="1"]')).waitFor();
    await keyRow.locator('button:has-text("Rotate")').click();
    await keyRow.and(page.locator('[data-version="2"]')).waitFor();
    const made = (await api<{ label: string; type: string; currentVersion: number }[]>('GET', '/v1/vault/keys', admin)).body.find((k) => k.label === 'console test signing key');
    assert.deepEqual([made?.type, made?.currentVersion], ['ed25519', 2]);
    await shot(page, '08b-vault-key-rotated');
  });

  it('issues a credential from a template to a wallet, revokes it, and shows readers the revocation', async () => {
    // The rider's phone runs the wallet SDK: its secure-element key registers over a server challenge.
    const wallet = await Wallet.open({ storage: new MemoryStorage(), storageKey: randomBytes(32), clock: systemClock, verifyUser: async () => true });
    const ch = (await api<{ challengeId: string; challenge: string }>('POST', '/v1/wallets/challenges', admin, { tenant: 'metro' })).body;
    const proof = await wallet.registrationProof('metro', ch.challenge);
    const reg = await api<{ id: string }>('POST', '/v1/wallets', admin, { tenant: 'metro', challengeId: ch.challengeId, publicKey: proof.publicKey, signature: proof.signature, label: 'rider phone', attestation: { format: 'none' } });
    assert.equal(reg.status, 201, JSON.stringify(reg.body));
    const walletId = reg.body.id;
    await wallet.completeRegistration('metro', walletId, proof.keyAlias);
    await page.goto(`${server.url}/console/#/credentials`);
    await page.selectOption('select[name=scope-tenant]', 'metro');
    await page.click('button:has-text("Create the issuer key")');
    await page.locator('[data-testid=issuer-keys] tbody tr td.mono').first().waitFor();

    // A template with no grants is refused before anything is sent.
    await page.fill('input[name=tpl-id]', 'day-ab');
    await page.fill('input[name=tpl-name]', 'Day ticket A-B');
    await page.click('button:has-text("Create template")');
    await page.locator('[role=alert][data-code=INPUT_INVALID]', { hasText: 'zone or resource' }).waitFor();
    await page.fill('input[name=tpl-zones]', 'A, B');
    await page.click('button:has-text("Create template")');
    await page.locator('tr[data-template=day-ab]').waitFor();

    await page.selectOption('select[name=issue-template]', 'day-ab');
    await page.selectOption('select[name=issue-wallet]', walletId);
    await page.fill('input[name=issue-email]', 'rider@example.org');
    await page.click('button:has-text("Issue")');
    await page.locator('[data-testid=credential-detail]').waitFor();
    const id = (await page.locator('#credential-title .mono').innerText()).trim();
    await page.locator('[data-testid=status-slot][data-slot=valid]').waitFor();
    await shot(page, '11-credential-issued');
    // The phone picks the credential up with a signed sync over HTTP, as the app does.
    await wallet.sync(walletId, httpTransport(server.url));
    assert.deepEqual(wallet.credentials().map((c) => c.id), [id]);
    phone = { wallet, walletId };

    // A dashboard open in another tab of the same session (sessionStorage is per tab: sign in there too).
    const dash = await browser.context.newPage();
    await signIn(dash, admin);
    await dash.locator('[data-testid=status-pushes]').waitFor();
    const list = ((await page.locator('dt:has-text("Status slot") + dd').innerText()).match(/ct:([a-z0-9]+)/) ?? [])[1];
    assert.ok(list);

    await page.click('button:has-text("Revoke…")');
    await page.fill('[role=dialog] input[name=reason]', 'phone lost');
    await page.fill('[role=dialog] input[name=confirm]', 'revoke');
    await page.click('[role=dialog] button[type=submit]');
    await page.locator('[data-testid=credential-status]', { hasText: 'revoked' }).waitFor();
    // The public status list, re-read on the server's push and decoded in the page, now says revoked.
    await page.locator('[data-testid=status-slot][data-slot=revoked]').waitFor({ timeout: 5000 });
    assert.equal((await api<{ status: string }>('GET', `/v1/credentials/${id}`, admin)).body.status, 'revoked');
    revokedCredential = id;
    await shot(page, '12-credential-revoked');
    // The revocation's new list version reached the dashboard over the readers' push stream.
    await dash.locator('[data-testid=card-status], article', { hasText: `ct:${list}` }).first().waitFor({ timeout: 5000 });
    assert.match(await dash.locator('[data-testid=status-pushes]').innerText(), /^[1-9]/);
    await shot(dash, '12b-dashboard-status-push');
    await dash.close();

    // Search by holder e-mail finds it, as revoked.
    await page.goto(`${server.url}/console/#/credentials`);
    await page.selectOption('select[name=scope-tenant]', 'metro');
    await page.fill('input[name=filter-email]', 'rider@example.org');
    await page.click('button:has-text("Search")');
    await page.locator(`tr[data-credential="${id}"][data-status=revoked]`).waitFor();
    await shot(page, '13-credentials-search');
  });

  it('creates the CAs, registers a device, issues its bootstrap token once, and marks it compromised', async () => {
    await page.goto(`${server.url}/console/#/pki`);
    await page.click('button:has-text("Create the root and issuing CAs")');
    await page.locator('[data-testid=cas] tr[data-ca]').first().waitFor();
    assert.ok((await page.locator('[data-testid=cas] tr[data-ca]').count()) >= 2);
    await shot(page, '14-pki');

    await page.goto(`${server.url}/console/#/devices`);
    await page.selectOption('select[name=scope-tenant]', 'metro');
    await page.fill('input[name=device-id]', 'Gate 12');
    await page.fill('input[name=device-site]', 'Central Station');
    await page.click('button:has-text("Register")');
    await page.locator('[role=alert][data-code=INPUT_INVALID]').waitFor();
    await page.fill('input[name=device-id]', 'gate-12');
    await page.selectOption('select[name=device-new-type]', 'gate');
    await page.click('button:has-text("Register")');
    await page.locator('tr[data-device=gate-12][data-state=pending] a').click();
    await page.locator('[data-testid=device-state]', { hasText: 'pending' }).waitFor();
    await page.click('button:has-text("Issue a bootstrap token")');
    assert.ok((await page.locator('[data-testid=bootstrap-token] code').innerText()).trim().length > 16);
    await page.click('button:has-text("Mark compromised")');
    await page.fill('[role=dialog] input[name=confirm]', 'compromised');
    await page.click('[role=dialog] button[type=submit]');
    await page.locator('[data-testid=device-state]', { hasText: 'compromised' }).waitFor();
    await page.locator('[data-testid=device-history] td', { hasText: 'pending → compromised' }).waitFor();
    assert.equal(await page.locator('button:has-text("Mark")').count(), 0, 'compromised is final: no more transitions offered');

    // Issuing from a CSR: a pasted non-PEM is refused before anything is sent; a real CSR for a
    // registered gate is issued and listed.
    assert.equal((await api('POST', '/v1/devices', admin, { tenant: 'metro', id: 'gate-13', type: 'gate', site: 'Central Station' })).status, 201);
    const gateKey = generateKeyPair('P-256');
    const csrPem = toPemBlock('CERTIFICATE REQUEST', await createCsr(keyObjectSigner('ES256', gateKey.privateKey), gateKey.publicKey, 'gate-13'));
    await page.goto(`${server.url}/console/#/pki`);
    await page.fill('input[name=csr-tenant]', 'metro');
    await page.fill('input[name=csr-device]', 'gate-13');
    await page.fill('textarea[name=csr]', 'not a csr');
    await page.click('button:has-text("Issue certificate")');
    await page.locator('[role=alert][data-code=INPUT_INVALID]', { hasText: 'PEM' }).waitFor();
    assert.equal((await api<unknown[]>('GET', '/v1/pki/certificates?deviceId=gate-13&tenant=metro', admin)).body.length, 0, 'nothing was issued');
    await page.fill('textarea[name=csr]', csrPem);
    await page.click('button:has-text("Issue certificate")');
    const issuedNote = page.locator('[data-testid=csr-issued]');
    await issuedNote.waitFor();
    const serial = await issuedNote.getAttribute('data-serial');
    const listed = (await api<{ serial: string; deviceId: string }[]>('GET', '/v1/pki/certificates?deviceId=gate-13&tenant=metro', admin)).body;
    assert.deepEqual(listed.map((c) => [c.serial, c.deviceId]), [[serial, 'gate-13']]);
    await shot(page, '15b-pki-issued-from-csr');
    await shot(page, '15-device-compromised');
  });

  it('watches a reader\'s denial of the revoked credential appear on the dashboard and in the reader\'s events', async () => {
    // A reader enrols through the PKI (device registry, one-time token, CSR) as a real one would.
    assert.equal((await api('POST', '/v1/devices', admin, { tenant: 'metro', id: 'door-1', type: 'reader', site: 'Central Station' })).status, 201);
    const { token } = (await api<{ token: string }>('POST', '/v1/devices/metro/door-1/bootstrap', admin, {})).body;
    const key = generateKeyPair('P-256');
    const signer = keyObjectSigner('ES256', key.privateKey);
    const enrolment = await enroll({ serverUrl: server.url, csr: await createCsr(signer, key.publicKey, 'door-1'), token });

    const dash = await browser.context.newPage();
    await signIn(dash, admin);
    await dash.locator('[data-testid=taps]').waitFor();

    // The reader pins the city credential root and fills its trust cache with a signed request.
    const rootAnswer = (await api<{ spki: string }>('GET', '/v1/credentials/root', admin)).body;
    const trust = new TrustCache({ root: coseVerifierKey('ES256', importSpkiPublicKey('P-256', fromBase64Url(rootAnswer.spki))) });
    const config = validateReaderConfig({ readerId: 'door-1', tenant: 'metro', site: 'central-station', zone: 'A', trustedTenants: ['metro'], serverUrl: server.url });
    const identity = { chain: enrolment.chain, signer };
    const queue = new SimReaderQueue();
    const reader = new Reader({ config, identity, trust, events: queue, clock: systemClock });
    const online = new ReaderOnline({ config, identity, trust, queue, clock: systemClock });
    await online.refresh();

    // The rider taps the revoked ticket with the phone (ISO 7816-4 APDUs): the reader refuses it
    // offline, REVOKED, from its status list, and uploads the event, signed.
    assert.ok(phone, 'the phone holds the credential from the previous step');
    assert.ok(enrolment.root);
    const responder = new WalletTapResponder({ authenticator: new CityReaderAuthenticator({ anchors: [enrolment.root] }), credentials: walletCredentialSource(phone.wallet), clock: systemClock });
    const apdu = new ApduCard(responder);
    const outcome = await reader.tap(await ApduReaderLink.open((c) => apdu.process(c)));
    assert.equal(outcome.allow, false);
    assert.equal(outcome.reason, 'REVOKED');
    assert.equal(outcome.event.credentialId, revokedCredential);
    assert.deepEqual(await online.upload(), { uploaded: 1, batches: 1 });

    const card = dash.locator('[data-testid=taps]');
    await card.locator('text=REVOKED').waitFor({ timeout: 5000 });
    assert.match(await card.innerText(), /1 denied/);
    await shot(dash, '17-dashboard-denial');
    await dash.close();

    await page.goto(`${server.url}/console/#/readers/metro/door-1`);
    const row = page.locator('[data-testid=reader-events] tr[data-reason=REVOKED]');
    await row.waitFor();
    await shot(page, '18-reader-events');
    await row.locator(`a:has-text("${revokedCredential}")`).click();
    await page.locator('[data-testid=credential-detail]', { hasText: revokedCredential }).waitFor();
  });

  it('runs a bulk meter command through the approval flow: the requester cannot approve, two other operators do', async () => {
    const U = '/v1/metering/tenants/campus';
    const token = async (roles: string[], label: string) => (await api<{ token: string }>('POST', '/v1/tokens', admin, { tenant: 'campus', roles, label })).body.token;
    const campusAdmin = await token(['tenant-admin'], 'campus admin');
    const [opA, opB, opC] = [await token(['operator'], 'operator Ana'), await token(['operator'], 'operator Ben'), await token(['operator'], 'operator Cai')];
    assert.equal((await api('POST', `${U}/setup`, campusAdmin)).status, 200);
    // Eleven enrolled meters in one district: more than the bulk threshold of ten.
    for (let i = 1; i <= 11; i++) {
      const id = `m-${String(i).padStart(2, '0')}`;
      const r = await api('POST', `${U}/meters`, opA, { id, district: 'north', class: 'residential', customer: { name: `Resident ${i}`, address: `Campus Row ${i}`, protected: false } });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      const m = SimulatedMeter.open({ tenant: 'campus', meterId: id, storage: new MemoryMeterStorage(), clock: systemClock });
      m.generateIdentity();
      const boot = (await api<{ token: string }>('POST', `/v1/devices/campus/${id}/bootstrap`, opA, {})).body.token;
      await enroll({ serverUrl: server.url, csr: m.csr(), token: boot });
    }

    const tab = await browser.context.newPage();
    const tabErrors = watchErrors(tab);
    await signIn(tab, opA);
    await tab.locator('[data-testid=who]', { hasText: 'campus' }).waitFor();
    await tab.goto(`${server.url}/console/#/meters`);
    await tab.locator('tr[data-meter=m-11]').waitFor();
    await tab.selectOption('select[name=cmd-action]', 'time-sync');
    await tab.selectOption('select[name=cmd-district]', 'north');
    await tab.click('button:has-text("Request")');
    await tab.locator('[role=alert][data-code=INPUT_INVALID]', { hasText: 'say why' }).waitFor();
    await tab.fill('input[name=cmd-reason]', 'clock drift after the substation outage');
    await tab.click('button:has-text("Request")');
    await tab.locator('[data-testid=command-state]', { hasText: 'awaiting-approval' }).waitFor();
    const commandUrl = tab.url();
    const id = commandUrl.split('/').pop()!;
    assert.match(await tab.locator('[data-testid=approvals]').innerText(), /0 of 2[\s\S]*another operator approves it/);
    // The requester's own approval is refused by the API too, not only hidden.
    const own = await tab.evaluate(async (path) => {
      const r = await fetch(path, { method: 'POST', headers: { authorization: `Bearer ${sessionStorage.getItem('citytrust.token')}` } });
      return ((await r.json()) as { code: string }).code;
    }, `${U}/commands/${id}/approve`);
    assert.equal(own, 'METER_APPROVAL_INVALID');
    await shot(tab, '21-command-awaiting');
    await tab.close();

    for (const [n, op] of [[1, opB], [2, opC]] as const) {
      const t2 = await browser.context.newPage();
      await signIn(t2, op);
      await t2.locator('[data-testid=who]').waitFor();
      await t2.goto(commandUrl);
      await t2.click('button:has-text("Approve…")');
      await t2.fill('[role=dialog] input[name=confirm]', 'approve');
      await t2.click('[role=dialog] button[type=submit]');
      await t2.locator('[data-testid=approvals]', { hasText: `${n} of 2` }).waitFor();
      if (n === 2) {
        await t2.locator('[data-testid=command-state]', { hasText: 'dispatched' }).waitFor();
        assert.equal(await t2.locator('[data-testid=targets] tr[data-target]').count(), 11);
        await shot(t2, '22-command-dispatched');
        // A disconnect of the whole district is refused by the blackout guard: the code shows, nothing is created.
        const before = (await api<unknown[]>('GET', `${U}/commands`, opA)).body.length;
        await t2.goto(`${server.url}/console/#/meters`);
        await t2.locator('tr[data-meter=m-11]').waitFor();
        await t2.selectOption('select[name=cmd-action]', 'disconnect');
        await t2.selectOption('select[name=cmd-district]', 'north');
        await t2.fill('input[name=cmd-reason]', 'unpaid bills');
        await t2.click('button:has-text("Request")');
        await t2.locator('[role=alert][data-code=METER_COMMAND_GUARD]').waitFor();
        assert.equal((await api<unknown[]>('GET', `${U}/commands`, opA)).body.length, before);
        await shot(t2, '23-command-guard');
        await t2.goto(`${server.url}/console/#/`);
        await t2.locator('[data-testid=alerts]').waitFor();
      }
      await t2.close();
    }
    const cmd = (await api<{ state: string; approvals: string[] }>('GET', `${U}/commands/${id}`, opA)).body;
    assert.equal(cmd.state, 'dispatched');
    assert.equal(cmd.approvals.length, 2);
    assert.deepEqual(tabErrors, []);
  });

  it('shows a tenant operator its update repository and halts, widens and resumes a rollout', async () => {
    const ops = (await api<{ token: string }>('POST', '/v1/tokens', admin, { tenant: 'metro', roles: ['tenant-admin', 'operator'], label: 'metro ops' })).body.token;
    assert.equal((await api('POST', '/v1/updates/repos', ops, { id: 'metro-fw', tenant: 'metro', deviceClasses: ['gate'], keyType: 'ecdsa-sha2-nistp256' })).status, 200);
    const fw = randomBytes(4096);
    const sha = createHash('sha256').update(fw).digest('hex');
    const pub = await fetch(`${server.url}/v1/updates/repos/metro-fw/targets?deviceClass=gate&version=2.1.0&sha256=${sha}`, { method: 'POST', headers: { authorization: `Bearer ${ops}`, 'content-type': 'application/octet-stream' }, body: fw });
    assert.equal(pub.status, 200, await pub.text());
    assert.equal((await api('POST', '/v1/updates/repos/metro-fw/releases', ops, { deviceClass: 'gate', version: '2.1.0', percent: 10 })).status, 200);

    const tab = await browser.context.newPage();
    const tabErrors = watchErrors(tab);
    await signIn(tab, ops);
    await tab.locator('[data-testid=who]', { hasText: 'metro' }).waitFor();
    await tab.goto(`${server.url}/console/#/updates/metro-fw`);
    const row = tab.locator('tr[data-release="gate/firmware"]');
    await row.locator('text=10% of devices').waitFor();
    await row.locator('button:has-text("Halt")').click();
    await tab.fill('[role=dialog] input[name=confirm]', 'halt');
    await tab.click('[role=dialog] button[type=submit]');
    await tab.locator('tr[data-release="gate/firmware"][data-state=halted]').waitFor();
    await tab.fill('input[name="percent-gate/firmware"]', '150');
    await tab.click('tr[data-release="gate/firmware"] button:has-text("Set %")');
    await tab.locator('[role=alert][data-code=INPUT_INVALID]').waitFor();
    await tab.fill('input[name="percent-gate/firmware"]', '50');
    await tab.click('tr[data-release="gate/firmware"] button:has-text("Set %")');
    await row.locator('text=50% of devices').waitFor();
    await shot(tab, '16-updates-halted');
    await row.locator('button:has-text("Resume")').click();
    await tab.locator('tr[data-release="gate/firmware"][data-state=active]').waitFor();
    const releases = (await api<{ percent: number; state: string }[]>('GET', '/v1/updates/repos/metro-fw/releases', ops)).body;
    assert.deepEqual(releases.map((r) => [r.percent, r.state]), [[50, 'active']]);
    assert.deepEqual(tabErrors, []);
    await tab.close();
  });

  it('keeps a tenant user to its own tenant: no foreign pages, no foreign API answers', async () => {
    const tab = await browser.context.newPage();
    const tabErrors = watchErrors(tab);
    await signIn(tab, tenantAdminToken);
    await tab.locator('[data-testid=who]', { hasText: 'riverside' }).waitFor();
    const nav = await tab.locator('nav').innerText();
    assert.ok(!nav.includes('Audit log'), 'no audit page without the auditor role');
    await tab.goto(`${server.url}/console/#/tenants`);
    await tab.locator('tr[data-tenant=riverside]').waitFor();
    assert.equal(await tab.locator('tr[data-tenant]').count(), 1, 'only its own tenant is listed');

    for (const other of ['metro', 'no-such-tenant']) {
      await tab.goto(`${server.url}/console/#/tenants/${other}`);
      const note = tab.locator('[role=alert][data-code=TENANT_FORBIDDEN]');
      await note.waitFor();
      // The same answer whether or not the tenant exists: the page cannot probe for tenants.
      assert.match(await note.innerText(), /another tenant/);
    }
    await shot(tab, '09-tenant-forbidden');
    const direct = await tab.evaluate(async () => {
      const t = sessionStorage.getItem('citytrust.token');
      const r = await fetch('/v1/vault/keys?tenant=metro', { headers: { authorization: `Bearer ${t}` } });
      return { status: r.status, body: (await r.json()) as { code: string } };
    });
    assert.deepEqual([direct.status, direct.body.code], [403, 'TENANT_FORBIDDEN']);
    const tokens = await tab.evaluate(async () => {
      const t = sessionStorage.getItem('citytrust.token');
      return ((await (await fetch('/v1/tokens', { headers: { authorization: `Bearer ${t}` } })).json()) as { tenant: string }[]).map((x) => x.tenant);
    });
    assert.ok(tokens.length > 0 && tokens.every((x) => x === 'riverside'));

    // Revoked while signed in: the next refresh ends the session with the code.
    await tab.goto(`${server.url}/console/#/`);
    await tab.locator('[data-testid=vault-state]').waitFor();
    assert.equal((await api('DELETE', `/v1/tokens/${tenantAdminToken.slice(3, 19)}`, admin)).status, 200);
    const ended = tab.locator('[role=alert][data-code=AUTH_TOKEN_REVOKED]');
    await ended.waitFor({ timeout: 5000 });
    assert.match(await ended.innerText(), /session ended/i);
    assert.equal(await tab.evaluate(() => sessionStorage.getItem('citytrust.token')), null, 'the revoked token is forgotten');
    await shot(tab, '10-session-revoked');
    assert.deepEqual(tabErrors, []);
    await tab.close();
  });

  it("shows a tenant auditor only its tenant's audit events, and another tenant's event as not found", async () => {
    const auditor = (await api<{ token: string }>('POST', '/v1/tokens', admin, { tenant: 'metro', roles: ['auditor'], label: 'metro auditor' })).body.token;
    const tab = await browser.context.newPage();
    const tabErrors = watchErrors(tab);
    await signIn(tab, auditor);
    await tab.locator('[data-testid=who]', { hasText: 'metro' }).waitFor();
    await tab.goto(`${server.url}/console/#/audit`);
    await tab.locator('[data-testid=events] tr[data-seq]').first().waitFor();
    const tenants = await tab.locator('[data-testid=events] tr[data-seq] td:nth-child(3)').allInnerTexts();
    assert.ok(tenants.length > 0 && tenants.every((x) => x === 'metro'), `foreign events listed: ${tenants.join(', ')}`);
    // Event 0 is the city's own (vault.init): the page answers as if it did not exist.
    await tab.goto(`${server.url}/console/#/audit/0`);
    await tab.locator('[role=alert][data-code=NOT_FOUND]').waitFor();
    assert.equal(await tab.locator('[data-testid=event-detail]').count(), 0);
    await shot(tab, '19-tenant-auditor');
    assert.deepEqual(tabErrors, []);
    await tab.close();
  });

  it('signs out and forgets the token', async () => {
    await page.goto(`${server.url}/console/#/`);
    await page.click('button:has-text("Sign out")');
    await page.locator('input[name=token]').waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.getItem('citytrust.token')), null);
    assert.deepEqual(errors, [], 'no page errors and no CSP violations');
  });
});
