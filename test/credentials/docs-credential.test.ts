/** docs/credential-format.md §Example lists a credential byte by byte; this keeps it true to our output. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { coseVerifierKey } from '../../src/crypto/index.ts';
import { CredentialTrust, evaluate, verifyCredential } from '../../src/credentials/device.ts';
import { docExample } from './doc-example.ts';

function hexOfSection(markdown: string, heading: string): Uint8Array {
  const section = markdown.split('\n## ').find((s) => s.startsWith(heading));
  assert.ok(section, `section ${heading} not found`);
  const block = section.split('```')[1] ?? '';
  let hex = '';
  for (const line of block.split('\n')) {
    for (const token of line.trim().split(/\s+/)) {
      if (!/^(?:[0-9a-f]{2})+$/.test(token)) break;
      hex += token;
    }
  }
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

describe('docs/credential-format.md', () => {
  const doc = readFileSync(fileURLToPath(new URL('../../docs/credential-format.md', import.meta.url)), 'utf8');

  it('lists exactly the 244 bytes createCredential makes from the example claims', async () => {
    const listed = hexOfSection(doc, 'Example, byte by byte');
    const { bytes } = await docExample();
    assert.equal(listed.length, 244);
    assert.deepEqual(listed, bytes);
  });

  it('lists a credential that verifies and grants a journey through zones A and C on a weekday afternoon', async () => {
    const { bytes, issuer, claims } = await docExample();
    const trust = CredentialTrust.of([{ tenant: 'metro', kid: Uint8Array.from(Buffer.from('06e3fd8fda29bb60', 'hex')), verifier: coseVerifierKey('EdDSA', issuer), nbf: 0, exp: 2 ** 40, signUntil: undefined }]);
    const now = (claims.iat + 3600) * 1000;
    const v = verifyCredential(bytes, { trust, now });
    assert.equal(v.id, '4d2f910c7a33e158');
    assert.equal(v.claims.nbf, v.claims.iat);
    assert.equal(evaluate(v, { now, zones: ['A', 'C'], class: 1 }).reason, 'GRANTED');
  });
});
