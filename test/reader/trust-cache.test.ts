/** The reader's offline trust cache: verified, all or nothing, never backwards, persisted. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createStatusListToken, createTrustList, StatusList, STATUS } from '../../src/credentials/device.ts';
import { TrustCache, TRUST_FILE } from '../../src/reader/index.ts';
import { makeIssuer, makeRoot, NOW, NOW_S } from '../credentials/helpers.ts';
import { tempDir } from '../helpers/tmp.ts';

async function setup() {
  const root = makeRoot();
  const acme = await makeIssuer(root, 'acme');
  const metro = await makeIssuer(root, 'metro');
  const trustList = (certs: Uint8Array[], iat = NOW_S - 60) => createTrustList({ certificates: certs, iat, exp: NOW_S + 86400 }, root.signer, root.kid);
  const list = (issuer = acme, iat = NOW_S, revoked: number[] = [], uri = 'ct:acmelist1') => {
    const l = StatusList.empty(64, 2);
    for (const i of revoked) l.set(i, STATUS.INVALID);
    return createStatusListToken({ uri, list: l, iat, exp: iat + 86400, ttl: 300 }, issuer.signer, issuer.kid);
  };
  return { root, acme, metro, trustList, list };
}

describe('the reader trust cache', () => {
  it('takes a trust list signed by the pinned root and status lists signed by its issuers', async () => {
    const s = await setup();
    const c = new TrustCache({ root: s.root.verifier });
    const u = c.update({ trustList: await s.trustList([s.acme.certificate]), statusLists: [await s.list()] }, NOW);
    assert.deepEqual(u, { trustList: 'updated', statusLists: { updated: 1, olderIgnored: 0 } });
    assert.equal(c.statusList('ct:acmelist1')?.issuerKey.tenant, 'acme');
  });

  it('refuses a whole bundle when any part fails and keeps what it had (READER_TRUST_CACHE_INVALID)', async () => {
    const s = await setup();
    const c = new TrustCache({ root: s.root.verifier });
    c.update({ trustList: await s.trustList([s.acme.certificate]), statusLists: [await s.list(s.acme, NOW_S, [])] }, NOW);
    const other = makeRoot();
    const foreign = await createTrustList({ certificates: [s.acme.certificate], iat: NOW_S, exp: NOW_S + 86400 }, other.signer, other.kid);
    assert.throws(() => c.update({ trustList: foreign }, NOW), { code: 'READER_TRUST_CACHE_INVALID' });
    // A good new list next to one signed by an issuer outside the trust list: neither is taken.
    const revoking = await s.list(s.acme, NOW_S + 10, [3]);
    const outsider = await s.list(s.metro, NOW_S, [], 'ct:metrolist');
    assert.throws(() => c.update({ statusLists: [revoking, outsider] }, NOW), { code: 'READER_TRUST_CACHE_INVALID' });
    assert.equal(c.statusList('ct:acmelist1')!.list.get(3), STATUS.VALID);
    assert.throws(() => c.update({ statusLists: [new Uint8Array([1, 2, 3])] }, NOW), { code: 'READER_TRUST_CACHE_INVALID' });
  });

  it('never goes backwards: an older status list cannot un-revoke a credential', async () => {
    const s = await setup();
    const c = new TrustCache({ root: s.root.verifier });
    const old = await s.list(s.acme, NOW_S - 100, []);
    c.update({ trustList: await s.trustList([s.acme.certificate]), statusLists: [await s.list(s.acme, NOW_S, [5])] }, NOW);
    assert.deepEqual(c.update({ statusLists: [old] }, NOW).statusLists, { updated: 0, olderIgnored: 1 });
    assert.equal(c.statusList('ct:acmelist1')!.list.get(5), STATUS.INVALID);
    assert.equal(c.update({ trustList: await s.trustList([s.acme.certificate], NOW_S - 3600) }, NOW).trustList, 'older-ignored');
  });

  it('drops the status lists of an issuer that left the trust list', async () => {
    const s = await setup();
    const c = new TrustCache({ root: s.root.verifier });
    c.update({ trustList: await s.trustList([s.acme.certificate, s.metro.certificate]), statusLists: [await s.list(), await s.list(s.metro, NOW_S, [], 'ct:metrolist')] }, NOW);
    c.update({ trustList: await s.trustList([s.acme.certificate], NOW_S) }, NOW);
    assert.ok(c.statusList('ct:acmelist1'));
    assert.equal(c.statusList('ct:metrolist'), undefined);
    assert.equal(c.trust!.keys().length, 1);
  });

  it('persists what it verified and loads it again offline, even after the lists went stale', async (t) => {
    const s = await setup();
    const tmp = tempDir();
    t.after(tmp.remove);
    const c = new TrustCache({ root: s.root.verifier, dir: tmp.dir });
    c.update({ trustList: await s.trustList([s.acme.certificate]), statusLists: [await s.list(s.acme, NOW_S, [9])] }, NOW);
    const later = NOW + 3 * 86_400_000; // the status list token expired meanwhile
    const { cache, loadError } = TrustCache.open({ root: s.root.verifier, dir: tmp.dir, now: later });
    assert.equal(loadError, undefined);
    assert.equal(cache.statusList('ct:acmelist1')!.list.get(9), STATUS.INVALID);
    assert.equal(cache.summary().statusLists['ct:acmelist1'], NOW_S);
    // Loaded under another root, or from a damaged file: empty, and the reason is reported.
    assert.equal(TrustCache.open({ root: makeRoot().verifier, dir: tmp.dir, now: later }).loadError?.code, 'READER_TRUST_CACHE_INVALID');
    writeFileSync(join(tmp.dir, TRUST_FILE), 'garbage');
    const broken = TrustCache.open({ root: s.root.verifier, dir: tmp.dir, now: later });
    assert.equal(broken.loadError?.code, 'READER_TRUST_CACHE_INVALID');
    assert.equal(broken.cache.trust, undefined);
  });
});
