import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fromBase64 } from '../../src/core/bytes.ts';
import { headEndUrn } from '../../src/pki/index.ts';
import { validateChain } from '../../src/pki/validate.ts';
import { cityRoot, openHeadEnd } from './helpers.ts';

describe("the head-end's certified keys", () => {
  it('certifies the key-agreement and command keys by the meters CA, for the tenant, and replaces a revoked certificate', async (t) => {
    const h = await openHeadEnd(t);
    await h.keys.setup('utility', 'test');
    const info = await h.keys.headEndInfo('utility');
    const root = await cityRoot(h);
    const chain = (info.chain ?? []).map(fromBase64);
    assert.equal(chain.length, 2, 'meters CA and root');
    const ka = validateChain(fromBase64(info.keyAgreement.certificate!), { anchors: [root], intermediates: chain, time: h.clock.now(), profile: 'head-end' });
    const cmd = validateChain(fromBase64(info.commandKeys[0]!.certificate!), { anchors: [root], intermediates: chain, time: h.clock.now(), profile: 'head-end-command' });
    assert.deepEqual([ka.names, cmd.names], [[`uri:${headEndUrn('utility')}`], [`uri:${headEndUrn('utility')}`]]);
    assert.equal(Buffer.from(ka.spki).toString('base64'), info.keyAgreement.spki);
    // Stable while good; a new certificate (same key) once revoked.
    h.clock.advance(61_000);
    assert.equal((await h.keys.headEndInfo('utility')).keyAgreement.certificate, info.keyAgreement.certificate);
    await h.pki.revoke(null, ka.serial, 'superseded', 'test');
    h.clock.advance(61_000);
    const next = await h.keys.headEndInfo('utility');
    assert.notEqual(next.keyAgreement.certificate, info.keyAgreement.certificate);
    assert.equal(next.keyAgreement.spki, info.keyAgreement.spki);
    assert.equal(next.commandKeys[0]!.certificate, info.commandKeys[0]!.certificate);
  });
});
