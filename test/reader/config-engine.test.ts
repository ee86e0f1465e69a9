/** Reader configuration, and the decision engine where the attack tests do not reach. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CityTrustError } from '../../src/core/errors.ts';
import { validateReaderConfig, READER_DEFAULTS, MemoryEventSink, Reader, TrustCache } from '../../src/reader/index.ts';
import { memoryLink } from '../../src/tap/index.ts';
import { world } from '../tap/helpers.ts';

const base = { readerId: 'door-12', tenant: 'acme', site: 'hq', resources: ['door:hq/floor3/d12'] };

function badKey(input: unknown): string | undefined {
  try {
    validateReaderConfig(input);
  } catch (e) {
    assert.ok(e instanceof CityTrustError);
    assert.equal(e.code, 'READER_CONFIG_INVALID');
    return e.details?.key as string;
  }
  return undefined;
}

describe('reader configuration', () => {
  it('fills the documented defaults and trusts its own tenant', () => {
    const c = validateReaderConfig(base);
    assert.equal(c.statusMaxAgeSeconds, READER_DEFAULTS.statusMaxAgeSeconds);
    assert.equal(c.whenStale, 'fail-closed');
    assert.deepEqual(c.trustedTenants, ['acme']);
    assert.equal(c.antiPassbackSeconds, 0);
    assert.ok(Object.isFrozen(c));
  });

  it('names the bad key of every wrong setting', () => {
    assert.equal(badKey({ ...base, resources: ['door:warehouse/1'] }), 'resources', 'a resource outside the site');
    assert.equal(badKey({ ...base, resources: ['door:hq/*'] }), 'resources', 'a pattern is not a resource');
    assert.equal(badKey({ ...base, resources: [] }), 'resources', 'guards nothing');
    assert.equal(badKey({ ...base, site: 'Central Station' }), 'site');
    assert.equal(badKey({ ...base, whenStale: 'maybe' }), 'whenStale');
    assert.equal(badKey({ ...base, statusMaxAgeSeconds: 0 }), 'statusMaxAgeSeconds');
    assert.equal(badKey({ ...base, class: 10 }), 'class');
    assert.equal(badKey({ ...base, serverUrl: 'ftp://x' }), 'serverUrl');
    assert.equal(badKey({ ...base, trustedTenants: ['acme', 'acme'] }), 'trustedTenants');
    assert.equal(badKey({ ...base, sever: 'typo' }), 'sever', 'unknown keys are refused, not ignored');
    assert.equal(badKey(null), '(root)');
  });

  it('accepts a validator that asks for its zone instead of a resource', () => {
    const c = validateReaderConfig({ readerId: 'v-1', tenant: 'metro', site: 'central', zone: 'B', class: 2 });
    assert.deepEqual(c.resources, []);
    assert.equal(c.zone, 'B');
  });
});

describe('the decision engine, beyond the attacks', () => {
  it('refuses every tap while it holds no trust data (TRUST_CACHE_MISSING)', async () => {
    const w = await world();
    const empty = new Reader({ config: w.reader.config, identity: w.readerCert.material, trust: new TrustCache({ root: w.root.verifier }), events: new MemoryEventSink(), clock: w.clock });
    const out = await empty.tap(memoryLink(w.wallet([await w.credential({ resources: ['door:hq/**'] })]).responder));
    assert.equal(out.reason, 'TRUST_CACHE_MISSING');
    assert.equal(out.code, 'READER_TRUST_CACHE_MISSING');
  });

  it('decides without the status when fail-open and the list is missing, and flags the event', async () => {
    const w = await world({ whenStale: 'fail-open' });
    const cred = await w.credential({ resources: ['door:hq/**'] }, { status: { idx: 1, uri: 'ct:notheldhere' } });
    const out = await w.reader.tap(memoryLink(w.wallet([cred]).responder));
    assert.equal(out.reason, 'GRANTED');
    assert.equal(out.event.statusStale, true);
    const closed = w.makeReader({ whenStale: 'fail-closed' });
    assert.equal((await closed.tap(memoryLink(w.wallet([cred]).responder))).reason, 'STATUS_STALE');
  });

  it('refuses when the trust list itself expired, unless fail-open (TRUST_LIST_EXPIRED)', async () => {
    const w = await world({ statusMaxAgeSeconds: 86400 * 30 });
    const cred = await w.credential({ resources: ['door:hq/**'] }, { exp: Math.floor(w.clock.now() / 1000) + 40 * 86400 });
    w.clock.advance(31 * 86_400_000);
    assert.equal((await w.reader.tap(memoryLink(w.wallet([cred]).responder))).reason, 'TRUST_LIST_EXPIRED');
    const open = w.makeReader({ statusMaxAgeSeconds: 86400 * 30, whenStale: 'fail-open' });
    const out = await open.tap(memoryLink(w.wallet([cred]).responder));
    assert.equal(out.reason, 'GRANTED');
    assert.equal(out.event.statusStale, true);
  });

  it('honours the credential\'s own user-verification limit even when the reader asks for none', async () => {
    const w = await world();
    const strict = await w.credential({ resources: ['door:hq/**'], userVerificationSeconds: 2 });
    assert.equal((await w.reader.tap(memoryLink(w.wallet([strict]).responder))).reason, 'USER_VERIFICATION_REQUIRED', 'the SE states 5 s, the credential allows 2');
  });

  it('asks for the configured zone at a validator and grants a credential for it', async () => {
    const w = await world();
    const gate = w.makeReader({ resources: [], zone: 'A' });
    assert.deepEqual(gate.request(), { zones: ['A'] });
    assert.throws(() => w.reader.request({ resource: 'door:hq/other' }), { code: 'READER_CONFIG_INVALID' });
  });
});
