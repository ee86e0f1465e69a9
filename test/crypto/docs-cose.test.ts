/** docs/cose.md §6 shows a COSE_Sign1 byte by byte; this keeps the listing true to our output. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { KeyObject } from 'node:crypto';
import { coseVerifierKey, createCoseSign1, fromCoseKey, keyObjectSigner, verifyCoseSign1 } from '../../src/crypto/index.ts';
import { coseKeyMapFromJson, loadCose, plaintextOf, toHexUpper } from './cose-vectors.ts';
import { hexBlocks } from '../helpers/doc-hex.ts';

describe('docs/cose.md', () => {
  const doc = readFileSync(fileURLToPath(new URL('../../docs/cose.md', import.meta.url)), 'utf8');
  const [message, tbs] = hexBlocks(doc, '6. A COSE_Sign1, byte by byte') as [Uint8Array, Uint8Array];
  const v = loadCose('eddsa-examples', 'eddsa-sig-01.json');

  it('lists the 100 bytes of eddsa-sig-01, which createCoseSign1 reproduces and verifyCoseSign1 accepts', async () => {
    assert.equal(message.length, 100);
    assert.deepEqual(message, v.output);
    const key = fromCoseKey(coseKeyMapFromJson(v.input.sign0.key));
    const created = await createCoseSign1({
      payload: plaintextOf(v.input),
      signer: keyObjectSigner('EdDSA', key.privateKey as KeyObject),
      protectedHeaders: new Map([[3, 0]]),
      unprotectedHeaders: new Map([[4, new TextEncoder().encode('11')]]),
    });
    assert.deepEqual(created, message);
    assert.deepEqual(verifyCoseSign1(message, { key: coseVerifierKey('EdDSA', key.publicKey as KeyObject), algorithms: ['EdDSA'] }).payload, plaintextOf(v.input));
  });

  it('lists the 40-byte Sig_structure that was signed', () => {
    assert.equal(tbs.length, 40);
    assert.equal(toHexUpper(tbs), v.intermediates.ToBeSign_hex);
  });
});
