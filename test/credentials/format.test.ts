/** The credential format: a CWT (RFC 8392) in a COSE_Sign1 with cnf, status and grants; bad input of every shape. */
import { describe, it } from 'node:test';
import { createHash } from 'node:crypto';
import assert from 'node:assert/strict';
import { CborTag, decodeCbor, encodeCbor, generateKeyPair, keyObjectSigner, createCoseSign1, exportRawPublicKey } from '../../src/crypto/index.ts';
import { claimsToCbor, createCredential, CredentialTrust, decodeClaims, encodeClaims, validateGrants, verifyCredential, verifyHolderSignature, type CredentialClaims } from '../../src/credentials/device.ts';
import { createSignature } from '../../src/crypto/index.ts';
import { claimsFor, issue, makeChain, makeIssuer, NOW, NOW_S, throwsCode } from './helpers.ts';

/** Decodes the outer COSE_Sign1 into its four parts (protected, unprotected, payload, signature). */
function parts(bytes: Uint8Array): [Uint8Array, Map<unknown, unknown>, Uint8Array, Uint8Array] {
  const t = decodeCbor(bytes, { maxBytes: 4096, maxDepth: 8, maxItems: 512, allowedTags: [18] }) as CborTag;
  return t.value as [Uint8Array, Map<unknown, unknown>, Uint8Array, Uint8Array];
}

function rebuild(p: unknown[]): Uint8Array {
  return encodeCbor(new CborTag(p, 18));
}

describe('a typical transit ticket', () => {
  it('fits one short APDU: 3 zones, one window, class, holder key and status in at most 255 bytes', async () => {
    const chain = await makeChain('ES256');
    const bytes = await issue(chain);
    assert.ok(bytes.length <= 255, `ticket is ${bytes.length} bytes`);
    const ed = await makeChain('EdDSA');
    const edBytes = await issue(ed);
    assert.ok(edBytes.length <= 255, `EdDSA ticket is ${edBytes.length} bytes`);
  });

  it('verifies under the certified issuer key and gives back every claim', async () => {
    const chain = await makeChain();
    const claims = claimsFor(chain, { sub: 'h-7f3a' });
    const bytes = await createCredential({ claims, signer: chain.issuer.signer, kid: chain.issuer.kid });
    const v = verifyCredential(bytes, { trust: chain.trust, now: NOW });
    assert.equal(v.claims.iss, 'metro');
    assert.equal(v.claims.sub, 'h-7f3a');
    assert.equal(v.claims.exp, claims.exp);
    assert.deepEqual(v.claims.cti, claims.cti);
    assert.equal(v.id, Buffer.from(claims.cti).toString('hex'));
    assert.deepEqual(exportRawPublicKey(v.claims.holderKey), exportRawPublicKey(chain.holder.publicKey));
    assert.deepEqual(v.claims.status, { idx: 131071, uri: 'ct:k3v9q2xa' });
    assert.deepEqual(v.claims.grants, claims.grants);
    assert.equal(v.alg, 'ES256');
  });

  it('is deterministic CBOR with the holder key as a compressed point (RFC 8747 cnf, RFC 9053 §7.1.1)', async () => {
    const chain = await makeChain();
    const [prot, unprot, payload] = parts(await issue(chain));
    assert.deepEqual(prot, Uint8Array.from([0xa1, 0x01, 0x26]));
    assert.deepEqual(unprot.get(4), chain.issuer.kid);
    assert.deepEqual(encodeCbor(decodeCbor(payload, { maxBytes: 1024, maxDepth: 8, maxItems: 256 })), payload);
    const m = decodeCbor(payload, { maxBytes: 1024, maxDepth: 8, maxItems: 256 }) as Map<number, unknown>;
    const coseKey = (m.get(8) as Map<number, Map<number, unknown>>).get(1)!;
    assert.equal(typeof coseKey.get(-3), 'boolean');
  });

  it('encodes its claims exactly as the generic deterministic encoder does, whichever claims are present', async () => {
    const chain = await makeChain();
    const variants: Partial<CredentialClaims>[] = [
      {},
      { sub: 'rider-7' },
      { nbf: NOW_S + 60 },
      { status: undefined },
      { grants: validateGrants({ resources: ['door:hq/floor3/*'], attributes: ['staff'], uses: 3, userVerificationSeconds: 30 }) },
      { grants: { zones: ['A'] } }, // not frozen: encoded afresh each time
      { iss: 'x'.repeat(64), exp: 2 ** 40, iat: 0, nbf: 0, status: { idx: 0, uri: 'ct:abcd' } },
      // Every width of unsigned integer head, text beyond one byte of length and beyond ASCII, and values the fast path hands back.
      ...[23, 24, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1].map((n) => ({ exp: n, iat: Math.min(n, 23), nbf: Math.min(n, 23), status: { idx: n, uri: 'ct:k3v9q2xa' } })),
      { iss: 'y'.repeat(23), sub: 'z'.repeat(24) },
      { iss: 'städtische-werke', sub: 'ü' },
      { iss: 'x'.repeat(300) },
      { iat: 5, nbf: 7 },
      { cti: new Uint8Array(24) },
    ];
    for (const v of variants) {
      const c = claimsFor(chain, v);
      assert.deepEqual(encodeClaims(c), encodeCbor(claimsToCbor(c)), JSON.stringify(Object.keys(v)));
      assert.deepEqual(encodeClaims(c), encodeClaims(c), 'the cached encodings give the same bytes again');
    }
  });

  it('is written byte for byte as the generic COSE_Sign1 encoder writes it: same ToBeSign, same message, for short and long payloads', async () => {
    const chain = await makeChain();
    const many = (n: number) => Array.from({ length: n }, (_, i) => `door:hq/floor${i}/*`);
    const variants: Partial<CredentialClaims>[] = [{}, { grants: validateGrants({ resources: many(8) }) }, { grants: validateGrants({ resources: many(32), zones: Array.from({ length: 64 }, (_, i) => `Z${i}`) }) }];
    for (const alg of ['ES256', 'EdDSA'] as const) {
      for (const v of variants) {
        const claims = claimsFor(chain, v);
        // A deterministic stand-in signer: its "signature" is a hash of what it was asked to sign.
        const seen: Uint8Array[] = [];
        const signer = { alg, sign: async (tbs: Uint8Array) => (seen.push(tbs), new Uint8Array(createHash('sha512').update(tbs).digest())) };
        const ours = await createCredential({ claims, signer, kid: chain.issuer.kid });
        const generic = await createCoseSign1({ payload: encodeClaims(claims), signer, unprotectedHeaders: new Map([[4, chain.issuer.kid]]) });
        assert.deepEqual(seen[0], seen[1], `${alg}: ToBeSign`);
        assert.deepEqual(ours, generic, `${alg}: ${ours.length} bytes`);
      }
    }
    // A real signature over those bytes verifies, so the stand-in did not hide a wrong ToBeSign.
    assert.equal(verifyCredential(await createCredential({ claims: claimsFor(chain, variants[2]!), signer: chain.issuer.signer, kid: chain.issuer.kid }), { trust: chain.trust, now: NOW }).alg, 'ES256');
  });

  it('refuses a signer that returns no raw 64-byte signature', async () => {
    const chain = await makeChain();
    await assert.rejects(createCredential({ claims: claimsFor(chain), signer: { alg: 'ES256', sign: async () => new Uint8Array(70) }, kid: chain.issuer.kid }), (e: Error & { code?: string }) => e.code === 'CRYPTO_SIGNATURE_ENCODING');
  });

  it('verifies with an EdDSA issuer key as well', async () => {
    const chain = await makeChain('EdDSA');
    assert.equal(verifyCredential(await issue(chain), { trust: chain.trust, now: NOW }).alg, 'EdDSA');
  });
});

describe('a credential of bad shape', () => {
  it('is refused when truncated at any byte', async () => {
    const chain = await makeChain();
    const bytes = await issue(chain);
    for (const cut of [1, 2, 10, 50, bytes.length - 1]) {
      assert.throws(() => verifyCredential(bytes.subarray(0, cut), { trust: chain.trust, now: NOW }), (e: { code: string }) => ['CREDENTIAL_TRUNCATED', 'CREDENTIAL_MALFORMED'].includes(e.code));
    }
    throwsCode(() => verifyCredential(bytes.subarray(0, bytes.length - 1), { trust: chain.trust, now: NOW }), 'CREDENTIAL_TRUNCATED');
  });

  it('is refused when oversized, before any parsing', async () => {
    const chain = await makeChain();
    throwsCode(() => verifyCredential(new Uint8Array(4096), { trust: chain.trust, now: NOW }), 'CREDENTIAL_TOO_LARGE');
  });

  it('is refused when its CBOR nests deeper than a credential can', async () => {
    const chain = await makeChain();
    const [prot, , payload, sig] = parts(await issue(chain));
    let deep: unknown = 1;
    for (let i = 0; i < 40; i++) deep = [deep];
    throwsCode(() => verifyCredential(rebuild([prot, new Map([[99, deep]]), payload, sig]), { trust: chain.trust, now: NOW }), 'CREDENTIAL_TOO_DEEP');
  });

  it('is refused when it is another COSE type or untagged', async () => {
    const chain = await makeChain();
    const [prot, unprot, payload, sig] = parts(await issue(chain));
    throwsCode(() => verifyCredential(encodeCbor(new CborTag([prot, unprot, payload, sig], 17)), { trust: chain.trust, now: NOW }), 'CREDENTIAL_MALFORMED');
    throwsCode(() => verifyCredential(encodeCbor([prot, unprot, payload, sig]), { trust: chain.trust, now: NOW }), 'CREDENTIAL_MALFORMED');
    throwsCode(() => verifyCredential(Uint8Array.from([0xd2, 0x83, 0x40, 0xa0, 0x40]), { trust: chain.trust, now: NOW }), 'CREDENTIAL_MALFORMED');
  });
});

describe('algorithm attacks', () => {
  it('refuses alg none, an unknown alg, a missing alg and an unprotected alg', async () => {
    const chain = await makeChain();
    const [, unprot, payload, sig] = parts(await issue(chain));
    const none = encodeCbor(new Map<number, unknown>([[1, 'none']]));
    throwsCode(() => verifyCredential(rebuild([none, unprot, payload, sig]), { trust: chain.trust, now: NOW }), 'CREDENTIAL_ALG_NOT_ALLOWED');
    throwsCode(() => verifyCredential(rebuild([encodeCbor(new Map([[1, -999]])), unprot, payload, sig]), { trust: chain.trust, now: NOW }), 'CREDENTIAL_ALG_NOT_ALLOWED');
    throwsCode(() => verifyCredential(rebuild([new Uint8Array(0), unprot, payload, new Uint8Array(0)]), { trust: chain.trust, now: NOW }), 'CREDENTIAL_ALG_NOT_ALLOWED');
    const u = new Map(unprot);
    u.set(1, -7);
    throwsCode(() => verifyCredential(rebuild([new Uint8Array(0), u, payload, sig]), { trust: chain.trust, now: NOW }), 'CREDENTIAL_ALG_NOT_ALLOWED');
    throwsCode(() => verifyCredential(rebuild([encodeCbor(new Map([[1, -35]])), unprot, payload, sig]), { trust: chain.trust, now: NOW }), 'CREDENTIAL_ALG_NOT_ALLOWED');
  });

  it('refuses an ES256 credential relabelled EdDSA and an EdDSA credential relabelled ES256', async () => {
    const es = await makeChain('ES256');
    const [, unprot, payload, sig] = parts(await issue(es));
    throwsCode(() => verifyCredential(rebuild([encodeCbor(new Map([[1, -8]])), unprot, payload, sig]), { trust: es.trust, now: NOW }), 'CREDENTIAL_ALG_KEY_MISMATCH');
    const ed = await makeChain('EdDSA');
    const [, u2, p2, s2] = parts(await issue(ed));
    throwsCode(() => verifyCredential(rebuild([encodeCbor(new Map([[1, -7]])), u2, p2, s2]), { trust: ed.trust, now: NOW }), 'CREDENTIAL_ALG_KEY_MISMATCH');
  });

  it('refuses an EdDSA signature made with a key that is certified for ES256 only (the message is signed correctly, the binding is not)', async () => {
    const chain = await makeChain('ES256');
    // An attacker who somehow holds an Ed25519 key with the same kid cannot pass: the kid resolves to an ES256-bound key.
    const ed = generateKeyPair('Ed25519');
    const forged = await createCoseSign1({ payload: parts(await issue(chain))[2], signer: keyObjectSigner('EdDSA', ed.privateKey), unprotectedHeaders: new Map([[4, chain.issuer.kid]]) });
    throwsCode(() => verifyCredential(forged, { trust: chain.trust, now: NOW }), 'CREDENTIAL_ALG_KEY_MISMATCH');
  });

  it('honours a narrower allow-list given by the reader', async () => {
    const chain = await makeChain('EdDSA');
    const bytes = await issue(chain);
    throwsCode(() => verifyCredential(bytes, { trust: chain.trust, now: NOW, algorithms: ['ES256'] }), 'CREDENTIAL_ALG_NOT_ALLOWED');
  });
});

describe('the credential profile of COSE_Sign1', () => {
  it('refuses any header beyond protected alg and unprotected kid, and alg in both buckets', async () => {
    const chain = await makeChain();
    const [prot, unprot, payload, sig] = parts(await issue(chain));
    const withKid = encodeCbor(new Map<number, unknown>([[1, -7], [4, chain.issuer.kid]]));
    throwsCode(() => verifyCredential(rebuild([withKid, new Map(), payload, sig]), { trust: chain.trust, now: NOW }), 'CREDENTIAL_MALFORMED');
    const crit = encodeCbor(new Map<number, unknown>([[1, -7], [2, [99]]]));
    throwsCode(() => verifyCredential(rebuild([crit, unprot, payload, sig]), { trust: chain.trust, now: NOW }), 'CREDENTIAL_MALFORMED');
    const extra = new Map(unprot);
    extra.set(3, 'application/cwt');
    throwsCode(() => verifyCredential(rebuild([prot, extra, payload, sig]), { trust: chain.trust, now: NOW }), 'CREDENTIAL_MALFORMED');
    const both = new Map(unprot);
    both.set(1, -7);
    throwsCode(() => verifyCredential(rebuild([prot, both, payload, sig]), { trust: chain.trust, now: NOW }), 'CREDENTIAL_MALFORMED');
    throwsCode(() => verifyCredential(rebuild([encodeCbor([1, -7]), unprot, payload, sig]), { trust: chain.trust, now: NOW }), 'CREDENTIAL_MALFORMED');
  });

  it('refuses a detached payload, a kid that is not a byte string, a missing kid and a tag in non-shortest form', async () => {
    const chain = await makeChain();
    const bytes = await issue(chain);
    const [prot, unprot, payload, sig] = parts(bytes);
    throwsCode(() => verifyCredential(rebuild([prot, unprot, null, sig]), { trust: chain.trust, now: NOW }), 'CREDENTIAL_MALFORMED');
    throwsCode(() => verifyCredential(rebuild([prot, new Map([[4, 'kid']]), payload, sig]), { trust: chain.trust, now: NOW }), 'CREDENTIAL_MALFORMED');
    throwsCode(() => verifyCredential(rebuild([prot, new Map(), payload, sig]), { trust: chain.trust, now: NOW }), 'CREDENTIAL_ISSUER_UNTRUSTED');
    const longTag = Uint8Array.from([0xd8, 0x12, ...bytes.subarray(1)]);
    throwsCode(() => verifyCredential(longTag, { trust: chain.trust, now: NOW }), 'CREDENTIAL_MALFORMED');
  });

  it('refuses signatures of the wrong length and an all-zero signature', async () => {
    const chain = await makeChain();
    const [prot, unprot, payload, sig] = parts(await issue(chain));
    throwsCode(() => verifyCredential(rebuild([prot, unprot, payload, sig.subarray(0, 63)]), { trust: chain.trust, now: NOW }), 'CREDENTIAL_SIGNATURE_INVALID');
    throwsCode(() => verifyCredential(rebuild([prot, unprot, payload, Uint8Array.from([...sig, 0])]), { trust: chain.trust, now: NOW }), 'CREDENTIAL_SIGNATURE_INVALID');
    throwsCode(() => verifyCredential(rebuild([prot, unprot, payload, new Uint8Array(64)]), { trust: chain.trust, now: NOW }), 'CREDENTIAL_SIGNATURE_INVALID');
  });

  it('verifies ES256 signatures whose r or s starts with a zero byte or has its high bit set (r‖s re-encoded as DER)', async () => {
    const chain = await makeChain();
    const seen = { zero: false, high: false };
    for (let i = 0; i < 2000 && !(seen.zero && seen.high); i++) {
      const bytes = await issue(chain);
      const sig = parts(bytes)[3];
      const z = sig[0] === 0 || sig[32] === 0;
      const h = (sig[0] as number) >= 0x80 || (sig[32] as number) >= 0x80;
      if ((z && !seen.zero) || (h && !seen.high)) {
        assert.equal(verifyCredential(bytes, { trust: chain.trust, now: NOW }).claims.iss, 'metro');
        seen.zero ||= z;
        seen.high ||= h;
      }
    }
    assert.deepEqual(seen, { zero: true, high: true });
  });
});

describe('signature and trust attacks', () => {
  it('refuses a credential whose claims were changed after signing', async () => {
    const chain = await makeChain();
    const [prot, unprot, payload, sig] = parts(await issue(chain));
    const m = decodeCbor(payload, { maxBytes: 1024, maxDepth: 8, maxItems: 256 }) as Map<number, unknown>;
    m.set(4, NOW_S + 10 * 365 * 86400);
    throwsCode(() => verifyCredential(rebuild([prot, unprot, encodeCbor(m), sig]), { trust: chain.trust, now: NOW }), 'CREDENTIAL_SIGNATURE_INVALID');
  });

  it('refuses a credential re-signed by another key under the issuer kid', async () => {
    const chain = await makeChain();
    const other = generateKeyPair('P-256');
    const forged = await createCredential({ claims: claimsFor(chain), signer: keyObjectSigner('ES256', other.privateKey), kid: chain.issuer.kid });
    throwsCode(() => verifyCredential(forged, { trust: chain.trust, now: NOW }), 'CREDENTIAL_SIGNATURE_INVALID');
  });

  it('refuses a credential from an issuer the city never certified', async () => {
    const chain = await makeChain();
    const rogue = await makeChain();
    const bytes = await issue(rogue);
    throwsCode(() => verifyCredential(bytes, { trust: chain.trust, now: NOW }), 'CREDENTIAL_ISSUER_UNTRUSTED');
  });

  it('refuses a credential whose iss is another tenant than its key is certified for', async () => {
    const chain = await makeChain();
    const bytes = await issue(chain, { iss: 'parking' });
    throwsCode(() => verifyCredential(bytes, { trust: chain.trust, now: NOW }), 'CREDENTIAL_ISSUER_MISMATCH');
  });

  it('keeps a retired key trusted for what it signed before retirement and refuses what it signed after', async () => {
    const chain = await makeChain();
    const retired = await makeIssuer(chain.root, 'metro', 'ES256', { signUntil: NOW_S - 1800 });
    const trust = CredentialTrust.of([retired.trusted]);
    assert.equal(verifyCredential(await issue(chain, { iat: NOW_S - 3600 }, retired), { trust, now: NOW }).claims.iss, 'metro');
    const late = await issue(chain, { iat: NOW_S - 60 }, retired);
    throwsCode(() => verifyCredential(late, { trust, now: NOW }), 'CREDENTIAL_KEY_RETIRED');
  });

  it('refuses expired and not-yet-valid credentials, with the clock skew allowed', async () => {
    const chain = await makeChain();
    const bytes = await issue(chain, { nbf: NOW_S + 30, exp: NOW_S + 3600 });
    assert.ok(verifyCredential(bytes, { trust: chain.trust, now: NOW }));
    throwsCode(() => verifyCredential(bytes, { trust: chain.trust, now: NOW, clockSkewSeconds: 0 }), 'CREDENTIAL_NOT_YET_VALID');
    throwsCode(() => verifyCredential(bytes, { trust: chain.trust, now: (NOW_S + 3600 + 60) * 1000 }), 'CREDENTIAL_EXPIRED');
  });

  it('checks the holder proof of possession against cnf', async () => {
    const chain = await makeChain();
    const v = verifyCredential(await issue(chain), { trust: chain.trust, now: NOW });
    const challenge = Uint8Array.from([1, 2, 3]);
    verifyHolderSignature(v, challenge, createSignature('ES256', chain.holder.privateKey, challenge, 'raw'));
    const thief = generateKeyPair('P-256');
    throwsCode(() => verifyHolderSignature(v, challenge, createSignature('ES256', thief.privateKey, challenge, 'raw')), 'CREDENTIAL_HOLDER_MISMATCH');
  });
});

describe('claims of bad shape signed by a trusted issuer', () => {
  async function signed(chain: Awaited<ReturnType<typeof makeChain>>, edit: (m: Map<number, unknown>) => void): Promise<Uint8Array> {
    const [, , payload] = parts(await issue(chain));
    const m = decodeCbor(payload, { maxBytes: 1024, maxDepth: 8, maxItems: 256 }) as Map<number, unknown>;
    edit(m);
    return createCoseSign1({ payload: encodeCbor(m), signer: chain.issuer.signer, unprotectedHeaders: new Map([[4, chain.issuer.kid]]) });
  }

  it('refuses each malformed claim with CREDENTIAL_MALFORMED', async () => {
    const chain = await makeChain();
    const edits: [string, (m: Map<number, unknown>) => void][] = [
      ['no iss', (m) => m.delete(1)],
      ['exp before nbf', (m) => m.set(4, NOW_S - 7200)],
      ['short cti', (m) => m.set(7, new Uint8Array(4))],
      ['cnf without a key', (m) => m.set(8, new Map())],
      ['cnf with an Ed25519 key', (m) => m.set(8, new Map([[1, new Map<number, unknown>([[1, 1], [-1, 6], [-2, new Uint8Array(32).fill(9)]])]]))],
      ['status without uri', (m) => m.set(65535, new Map([['status_list', new Map([['idx', 1]])]]))],
      ['unknown grant', (m) => m.set(-65537, new Map([[99, 1]]))],
      ['schedule without zone', (m) => m.set(-65537, new Map([[3, [[1, 0, 60]]]]))],
      ['negative time', (m) => m.set(6, -1)],
    ];
    for (const [what, edit] of edits) {
      const bytes = await signed(chain, edit);
      assert.throws(() => verifyCredential(bytes, { trust: chain.trust, now: NOW }), (e: { code: string }) => e.code === 'CREDENTIAL_MALFORMED', what);
    }
  });

  it('refuses claims that are not in deterministic order', async () => {
    const chain = await makeChain();
    const [, , payload] = parts(await issue(chain));
    // Swap the first two map entries by re-encoding iss after exp by hand: 0xa8 map, then keys 4.. before 1.
    const m = decodeCbor(payload, { maxBytes: 1024, maxDepth: 8, maxItems: 256 }) as Map<number, unknown>;
    const head = Uint8Array.from([0xa0 + m.size]);
    const entries = [...m.entries()].reverse().map(([k, v]) => [encodeCbor(k), encodeCbor(v)]).flat();
    const unordered = Buffer.concat([head, ...entries]);
    throwsCode(() => decodeClaims(unordered), 'CREDENTIAL_MALFORMED');
  });
});
