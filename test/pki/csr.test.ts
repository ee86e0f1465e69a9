/** PKCS#10 checks (RFC 2986): every malformed, weak or over-asking request has its own code. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { checkCsr, CSR_MAX_BYTES, toPem } from '../../src/pki/index.ts';
import { throwsWith } from '../vault/helpers.ts';
import { keyPair, makeCsr } from './helpers.ts';

describe('checking a CSR', () => {
  it('accepts P-256, P-384 and Ed25519 keys and returns the exact SPKI', () => {
    for (const kind of ['P-256', 'P-384', 'ed25519'] as const) {
      const k = keyPair(kind);
      const c = checkCsr(makeCsr(k, { hash: kind === 'P-384' ? 'sha384' : 'sha256' }));
      assert.deepEqual(Buffer.from(c.spki), k.publicKey.export({ type: 'spki', format: 'der' }));
      assert.equal(c.keyType, kind === 'P-256' ? 'ec-p256' : kind === 'P-384' ? 'ec-p384' : 'ed25519');
      assert.equal(c.requestsCa, false);
    }
  });

  it('accepts PEM, DER and bare base64 of the same request alike', () => {
    const der = makeCsr(keyPair());
    const a = checkCsr(der);
    assert.deepEqual(checkCsr(toPem('CERTIFICATE REQUEST', der)).spki, a.spki);
    assert.deepEqual(checkCsr(Buffer.from(der).toString('base64')).spki, a.spki);
  });

  it('refuses garbage, truncated DER, trailing bytes and the wrong PEM label as malformed', () => {
    const der = makeCsr(keyPair());
    throwsWith(() => checkCsr(new Uint8Array([1, 2, 3])), 'PKI_CSR_MALFORMED');
    throwsWith(() => checkCsr(der.subarray(0, der.length - 5)), 'PKI_CSR_MALFORMED');
    throwsWith(() => checkCsr(new Uint8Array([...der, 0])), 'PKI_CSR_MALFORMED');
    throwsWith(() => checkCsr(toPem('CERTIFICATE', der)), 'PKI_CSR_MALFORMED');
    throwsWith(() => checkCsr('not a csr at all!'), 'PKI_CSR_MALFORMED');
    throwsWith(() => checkCsr(new Uint8Array(0)), 'PKI_CSR_MALFORMED');
  });

  it('refuses a request larger than the limit before parsing it', () => {
    throwsWith(() => checkCsr(new Uint8Array(CSR_MAX_BYTES + 1).fill(0x30)), 'PKI_CSR_TOO_LARGE');
  });

  it('refuses a request signed by another key than the one it carries', () => {
    throwsWith(() => checkCsr(makeCsr(keyPair(), { signWith: keyPair().privateKey })), 'PKI_CSR_SIGNATURE_INVALID');
  });

  it('refuses a request whose signature bytes were altered', () => {
    const der = makeCsr(keyPair());
    der[der.length - 3] ^= 0x01;
    throwsWith(() => checkCsr(der), 'PKI_CSR_SIGNATURE_INVALID');
  });

  it('refuses RSA, secp256k1 and P-521 keys as not allowed', () => {
    for (const kind of ['rsa', 'secp256k1', 'P-521'] as const) throwsWith(() => checkCsr(makeCsr(keyPair(kind), { hash: 'sha256' })), 'PKI_CSR_KEY_NOT_ALLOWED');
  });

  it('refuses ecdsa-with-SHA1 as an algorithm outside the allow-list', () => {
    throwsWith(() => checkCsr(makeCsr(keyPair(), { hash: 'sha1' })), 'PKI_CSR_ALG_NOT_ALLOWED');
  });

  it('refuses a point that is not on the curve', () => {
    const k = keyPair();
    const der = makeCsr(k);
    const spki = Buffer.from(k.publicKey.export({ type: 'spki', format: 'der' }));
    const at = Buffer.from(der).indexOf(spki);
    der[at + spki.length - 1] ^= 0x01; // last byte of y: the point leaves the curve
    throwsWith(() => checkCsr(der), 'PKI_CSR_KEY_INVALID');
    assert.throws(() => createPublicKey({ key: Buffer.from(der.subarray(at, at + spki.length)), format: 'der', type: 'spki' }));
  });

  it('reports CA rights asked for by basicConstraints or keyCertSign, and the names asked for', () => {
    assert.equal(checkCsr(makeCsr(keyPair(), { ca: true })).requestsCa, true);
    assert.equal(checkCsr(makeCsr(keyPair(), { keyCertSign: true })).requestsCa, true);
    const c = checkCsr(makeCsr(keyPair(), { names: { dns: ['evil.example'], uri: ['urn:x'], ip: ['10.0.0.1'] } }));
    assert.deepEqual([...c.requestedNames].sort(), ['dns:evil.example', 'ip:10.0.0.1', 'uri:urn:x']);
  });
});
