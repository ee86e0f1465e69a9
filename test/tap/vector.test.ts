/** docs/tap-protocol.md §6: the published test vector, reproduced byte for byte. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { aesGcmOpen, decodeCbor, ecdhSharedSecret, hkdfSha256, sha256, verifySignature } from '../../src/crypto/index.ts';
import { AirLog, ApduCard, ApduReaderLink, HOLDER_AUTH_CONTEXT, holderSignedData, sessionIv, Transcript } from '../../src/tap/index.ts';
import { deterministicSign, rfc6979Nonce, toBig, to32 } from './rfc6979.ts';
import { keyFromLabel, runVector } from './vector.ts';
import { hexBlocks } from '../helpers/doc-hex.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const enc = new TextEncoder();

describe('RFC 6979 deterministic ECDSA (the vector signer)', () => {
  it('reproduces RFC 6979 A.2.5 (P-256, SHA-256, "sample"): k, r and s', () => {
    const x = 0xc9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721n;
    const h1 = new Uint8Array(createHash('sha256').update('sample').digest());
    assert.equal(hex(to32(rfc6979Nonce(x, h1))), 'a6e3c57dd01abe90086538398355dd4c3b17aa873382b0f24d6129493d8aad60');
    const sig = deterministicSign(x, enc.encode('sample'));
    assert.equal(hex(sig), 'efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8');
    assert.equal(toBig(sig.subarray(32)) > 0n, true);
  });
});

describe('docs/tap-protocol.md §6, the tap test vector', () => {
  const doc = readFileSync(fileURLToPath(new URL('../../docs/tap-protocol.md', import.meta.url)), 'utf8');
  const [m1, m2, th2, z, skr, skw, m3, p3, th3, m4, p4, th4, m5, p5] = hexBlocks(doc, '6. Test vector') as Uint8Array[];

  it('is what a tap with the fixed keys, nonces and deterministic signatures sends, byte for byte', async () => {
    const v = await runVector();
    assert.equal(v.outcome.reason, 'GRANTED');
    assert.deepEqual(v.wallet.result, { allow: true, reason: 'GRANTED' });
    const [a1, a2, a3, a4, a5, a6] = v.frames as Uint8Array[];
    assert.equal(hex(a1!), hex(m1!), 'M1');
    assert.equal(hex(a2!), hex(m2!), 'M2');
    assert.equal(hex(a3!), hex(m3!), 'M3');
    assert.equal(hex(a4!), hex(m4!), 'M4');
    assert.equal(hex(a5!), hex(m5!), 'M5');
    assert.equal(a6!.length, 0, 'the answer to M5 is empty');
  });

  it('lists the transcript hashes, the ECDH secret and the session keys that follow from the frames', () => {
    const t = new Transcript();
    t.add(m1!);
    t.add(m2!);
    assert.equal(hex(t.current()), hex(th2!));
    t.add(m3!);
    assert.equal(hex(t.current()), hex(th3!));
    t.add(m4!);
    assert.equal(hex(t.current()), hex(th4!));
    const z2 = ecdhSharedSecret(keyFromLabel('wallet ephemeral').privateKey, keyFromLabel('reader ephemeral').publicKey);
    assert.equal(hex(z2), hex(z!), 'both sides agree on Z');
    assert.equal(hex(hkdfSha256(z!, th2!, enc.encode('citytrust-tap/1 SKReader'), 32)), hex(skr!));
    assert.equal(hex(hkdfSha256(z!, th2!, enc.encode('citytrust-tap/1 SKWallet'), 32)), hex(skw!));
  });

  it('lists the plaintexts the sealed messages open to under those keys, counters and transcripts', () => {
    const sealed = (f: Uint8Array) => f.subarray(f[2] === 0x59 ? 5 : f[2] === 0x58 ? 4 : 3);
    assert.equal(hex(aesGcmOpen(skr!, sessionIv(0, 1), sealed(m3!), th2!)), hex(p3!));
    assert.equal(hex(aesGcmOpen(skw!, sessionIv(1, 1), sealed(m4!), th3!)), hex(p4!));
    assert.equal(hex(aesGcmOpen(skr!, sessionIv(0, 2), sealed(m5!), th4!)), hex(p5!));
    // The direction keys are not interchangeable.
    assert.throws(() => aesGcmOpen(skw!, sessionIv(0, 1), sealed(m3!), th2!), { code: 'CRYPTO_AEAD_AUTH_FAILED' });
  });

  it('carries a holder proof over HolderAuthentication with TH3 that verifies with the holder key', () => {
    const [kind, credential, proof, echoed, uv] = decodeCbor(p4!, { maxBytes: 4096, maxDepth: 4, maxItems: 64, allowedTags: [] }) as [number, Uint8Array, Uint8Array, Uint8Array, number];
    assert.equal(kind, 1);
    assert.equal(hex(echoed), hex(th3!));
    assert.equal(uv, 5);
    assert.ok(verifySignature('ES256', keyFromLabel('holder').publicKey, holderSignedData(HOLDER_AUTH_CONTEXT, th3!, sha256(credential), uv), proof, 'raw'));
  });

  it('goes over NFC as 9 command/response pairs, 1655 bytes of APDUs', async () => {
    const log = new AirLog();
    const v = await runVector(async (wallet) => {
      const card = new ApduCard(wallet);
      return ApduReaderLink.open((c) => card.process(c), { log });
    });
    assert.equal(v.outcome.reason, 'GRANTED');
    assert.equal(log.frames.length, 18);
    assert.equal(log.totalBytes, 1655);
  });
});
