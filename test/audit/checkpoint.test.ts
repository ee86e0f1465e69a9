/**
 * C2SP signed-note and tlog-checkpoint, checked against independent implementations:
 * - golang.org/x/mod/sumdb/note's published test vectors (PeterNeumann / EnochRoot keys),
 * - the example in c2sp.org/signed-note,
 * - real checkpoints signed by sum.golang.org (Go's checksum database) with its public key.
 * Signing keys of our own are generated at test time.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign as cryptoSign } from 'node:crypto';
import { CityTrustError, isCityTrustError, type ErrorCode } from '../../src/core/errors.ts';
import { fromBase64, toBase64, toHex } from '../../src/core/bytes.ts';
import { emptyRoot, hashChildren, hashLeaf, verifyConsistency, verifyInclusion } from '../../src/audit/merkle.ts';
import { formatCheckpoint, openCheckpoint, openNote, signCheckpoint, signNote } from '../../src/audit/checkpoint.ts';
import { ed25519KeyId, ed25519NoteSigner, encodeVerifierKey, isValidKeyName, parseVerifierKey } from '../../src/audit/note-signer.ts';
import type { NoteSigner } from '../../src/audit/types.ts';

const code = (c: ErrorCode) => (e: unknown) => isCityTrustError(e, c);
const INVALID = code('AUDIT_CHECKPOINT_INVALID');

async function rejects(p: Promise<unknown>, c: ErrorCode): Promise<void> {
  await assert.rejects(p, code(c));
}

// golang.org/x/mod sumdb/note/note_test.go
const PETER_VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const ENOCH_VKEY = 'EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop';
const GO_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const PETER_SIG = '— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n';
const ENOCH_SIG = '— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n';

// c2sp.org/signed-note §Verifier keys, Example
const C2SP_VKEY = 'example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k';
const C2SP_NOTE =
  'This is an example message.\n\n— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n';

// sum.golang.org's verifier key (golang.org/x/mod gosumcheck) and tree heads it signed, as
// served by its /latest and /lookup endpoints (quoted in public write-ups on the Go sumdb).
const SUMDB_VKEY = 'sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8';
const SUMDB_HEADS = [
  {
    size: 15368405,
    root: '/g9am3I6YWNKaZX/jkne1fqd9zEyjss+JXyPXG0WfkY=',
    sig: 'Az3grqJGUaSGukG9p8nI2vKgiFn7qGHxn0W+mrwyI6Gz3F0t1J3LzmWk/p96Ybf295EjwdSwlzgijq5WA9d1Ded7owM=',
  },
  {
    size: 63512409,
    root: 'F7eHRPqN/cqPtqti14NKdGGaI1Giw8coWP3KxihFZbg=',
    sig: 'Az3gri1OBHKT87Xj8UXU8zjoHGy/X+7Nl94f8TZkELVaasolmGApUsWqwVG9vE6hgqYb/ph/w2vdkLIVRH7bMB/FPQ4=',
  },
  {
    size: 445646,
    root: 'jEFFy4AtYgBBNTSZTiNnQrgQqMbcH0mfO2oP2FxR9VU=',
    sig: 'Az3grkGho/PqvUmEuTv6+r2g303hUhu60FOD6vLpm19mBwH9UjquWY2OKxNmZ55z0gHrp24AgPC3Q5WO7uZrVdvdCQU=',
  },
];
const sumdbNote = (h: { size: number; root: string; sig: string }) => `go.sum database tree\n${h.size}\n${h.root}\n\n— sum.golang.org ${h.sig}\n`;

/** A signer that returns a signature recorded from another implementation. */
function replaySigner(vkey: string, signature: Uint8Array): NoteSigner {
  const { name, publicKey } = parseVerifierKey(vkey);
  return { name, publicKey, sign: async () => signature };
}

const ROOT = hashLeaf(new TextEncoder().encode('root'));

describe('signed-note key names', () => {
  it('accepts schema-less URLs and other names without spaces or plus signs', () => {
    for (const n of ['example.com/foo', 'PeterNeumann', 'sum.golang.org', 'città.example/audit']) assert.ok(isValidKeyName(n), n);
  });
  it('refuses empty names, Unicode spaces, plus signs and control characters', () => {
    for (const n of ['', 'a b', 'a+b', 'a\tb', 'a\u00a0b', 'a\u2003b', 'a\u3000b', 'a\u0001b', 'a\nb', '\ud800']) {
      assert.equal(isValidKeyName(n), false, JSON.stringify(n));
    }
  });
});

describe('signed-note verifier keys (vkeys)', () => {
  it('derives the key IDs of the published Go and C2SP keys', () => {
    for (const [vkey, id] of [
      [PETER_VKEY, 'c74f20a3'],
      [ENOCH_VKEY, 'af0cfe78'],
      [C2SP_VKEY, '530d903a'],
      [SUMDB_VKEY, '033de0ae'],
    ] as const) {
      const k = parseVerifierKey(vkey);
      assert.equal(toHex(k.keyId), id);
      assert.equal(toHex(ed25519KeyId(k.name, k.publicKey)), id);
      assert.equal(k.publicKey.length, 32);
    }
  });
  it('encodes a vkey byte for byte as Go and C2SP publish it', () => {
    for (const vkey of [PETER_VKEY, ENOCH_VKEY, C2SP_VKEY, SUMDB_VKEY]) assert.equal(encodeVerifierKey(parseVerifierKey(vkey)), vkey);
  });
  it('refuses every truncation and every single-character change of a vkey', () => {
    const b = [...PETER_VKEY];
    for (let i = 0; i <= b.length; i++) {
      for (let j = i + 1; j <= b.length; j++) {
        if (i === 0 && j === b.length) continue;
        assert.throws(() => parseVerifierKey(b.slice(i, j).join('')), code('AUDIT_KEY_INVALID'), b.slice(i, j).join(''));
      }
    }
    for (let i = 0; i < b.length; i++) {
      const m = [...b];
      m[i] = String.fromCharCode((m[i] as string).charCodeAt(0) + 1);
      assert.throws(() => parseVerifierKey(m.join('')), code('AUDIT_KEY_INVALID'), m.join(''));
    }
  });
  it('refuses a wrong key length and an unknown algorithm even with a matching key ID', () => {
    // Go's note_test.go: both have their key IDs recomputed to match.
    assert.throws(() => parseVerifierKey('PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=='), code('AUDIT_KEY_INVALID'));
    assert.throws(() => parseVerifierKey('PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW'), code('AUDIT_KEY_INVALID'));
  });
  it('refuses an upper-case key ID', () => {
    assert.throws(() => parseVerifierKey(PETER_VKEY.replace('c74f20a3', 'C74F20A3')), code('AUDIT_KEY_INVALID'));
  });
});

describe('signed notes against golang.org/x/mod/sumdb/note and the C2SP example', () => {
  const peter = parseVerifierKey(PETER_VKEY);
  const enoch = parseVerifierKey(ENOCH_VKEY);

  it('opens Go’s note signed by PeterNeumann and returns its text', () => {
    assert.equal(openNote(GO_TEXT + '\n' + PETER_SIG, peter), GO_TEXT);
  });
  it('opens the C2SP example note with the example vkey', () => {
    assert.equal(openNote(C2SP_NOTE, parseVerifierKey(C2SP_VKEY)), 'This is an example message.\n');
  });
  it('writes Go’s signed note byte for byte from the same signature', async () => {
    const sig = fromBase64('x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=').slice(4);
    assert.equal(await signNote(GO_TEXT, replaySigner(PETER_VKEY, sig)), GO_TEXT + '\n' + PETER_SIG);
  });
  it('starts every signature line with U+2014 EM DASH and a space (e2 80 94 20)', async () => {
    const note = await signNote('hello\n', ed25519NoteSigner('example.com/x'));
    const line = note.slice(note.lastIndexOf('\n\n') + 2);
    assert.equal(toHex(new TextEncoder().encode(line).subarray(0, 4)), 'e2809420');
  });
  it('ignores signatures by other keys and verifies with whichever key is trusted', () => {
    const note = GO_TEXT + '\n' + PETER_SIG + ENOCH_SIG;
    assert.equal(openNote(note, peter), GO_TEXT);
    assert.equal(openNote(note, enoch), GO_TEXT);
  });
  it('ignores a signature that shares the trusted name but not its key ID', () => {
    const otherId = '— PeterNeumann ' + toBase64(new Uint8Array(68).fill(7)) + '\n';
    assert.equal(openNote(GO_TEXT + '\n' + otherId + PETER_SIG, peter), GO_TEXT);
  });
  it('refuses a note with no signature by the trusted key', () => {
    assert.throws(() => openNote(GO_TEXT + '\n' + ENOCH_SIG, peter), INVALID);
  });
  it('refuses the whole note when one signature by the trusted key fails, even beside a good one', () => {
    const bad = PETER_SIG.slice(0, 60) + 'ABCD' + PETER_SIG.slice(60);
    assert.throws(() => openNote(GO_TEXT + '\n' + bad, peter), INVALID);
    assert.throws(() => openNote(GO_TEXT + '\n' + PETER_SIG + bad, peter), INVALID);
  });
  it('refuses a text that differs from the signed one by one character', () => {
    assert.throws(() => openNote(GO_TEXT.replace('answer', 'Answer') + '\n' + PETER_SIG, peter), INVALID);
  });
  it('accepts 100 signatures and refuses 101', () => {
    assert.equal(openNote(GO_TEXT + '\n' + PETER_SIG.repeat(100), peter), GO_TEXT);
    assert.throws(() => openNote(GO_TEXT + '\n' + PETER_SIG.repeat(101), peter), INVALID);
  });
  it('refuses malformed notes (Go’s list plus our own)', () => {
    const bad = [
      GO_TEXT,
      GO_TEXT + '\n',
      GO_TEXT + '\n' + PETER_SIG.slice(0, -1),
      '\x01' + GO_TEXT + '\n' + PETER_SIG,
      GO_TEXT + '\n' + '— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=',
      GO_TEXT + '\n' + PETER_SIG + 'Unexpected line.\n',
      GO_TEXT + '\n' + PETER_SIG + '\n',
      GO_TEXT + '\n' + PETER_SIG.replace('— ', '-- '),
      GO_TEXT + '\n' + PETER_SIG.replace('— ', '—\u00a0'),
      GO_TEXT + '\n' + PETER_SIG.replace('=\n', '\n'),
      GO_TEXT + '\n' + PETER_SIG.replace('/', '_'),
      GO_TEXT + '\n' + '— PeterNeumann\n',
      GO_TEXT + '\n' + '— PeterNeumann AAAAAA==\n',
      GO_TEXT.replace(/\n/g, '\r\n') + '\r\n' + PETER_SIG,
      GO_TEXT.slice(0, 5) + '\ud800' + GO_TEXT.slice(5) + '\n' + PETER_SIG,
    ];
    for (const note of bad) assert.throws(() => openNote(note, peter), INVALID, JSON.stringify(note));
  });
  it('refuses bytes that are not UTF-8 and accepts the same note as bytes otherwise', () => {
    const good = new TextEncoder().encode(GO_TEXT + '\n' + PETER_SIG);
    assert.equal(openNote(good, peter), GO_TEXT);
    const bad = new Uint8Array([0xff, ...good]);
    assert.throws(() => openNote(bad, peter), INVALID);
  });
  it('refuses a signature by the trusted key whose canonical base64 has been re-spelt', () => {
    // Same bytes, different text: the last base64 digit carries unused low bits.
    const sig = 'x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=';
    const respelt = sig.slice(0, -2) + 'N=';
    assert.deepEqual(fromBase64(respelt), fromBase64(sig));
    assert.throws(() => openNote(GO_TEXT + '\n— PeterNeumann ' + respelt + '\n', peter), INVALID);
  });
});

describe('checkpoints signed by sum.golang.org (an independent tlog-checkpoint implementation)', () => {
  const key = parseVerifierKey(SUMDB_VKEY);
  for (const h of SUMDB_HEADS) {
    it(`verifies and parses the tree head of size ${h.size}`, () => {
      const cp = openCheckpoint(sumdbNote(h), key, { origin: 'go.sum database tree' });
      assert.equal(cp.origin, 'go.sum database tree');
      assert.equal(cp.size, h.size);
      assert.equal(toBase64(cp.rootHash), h.root);
      assert.deepEqual(cp.extensions, []);
    });
  }
  it('refuses the same tree head with another size or root', () => {
    const h = SUMDB_HEADS[0] as (typeof SUMDB_HEADS)[number];
    assert.throws(() => openCheckpoint(sumdbNote({ ...h, size: h.size + 1 }), key), INVALID);
    assert.throws(() => openCheckpoint(sumdbNote({ ...h, root: toBase64(emptyRoot()) }), key), INVALID);
  });
  it('refuses it when a different origin is expected', () => {
    assert.throws(() => openCheckpoint(sumdbNote(SUMDB_HEADS[0] as (typeof SUMDB_HEADS)[number]), key, { origin: 'citytrust.example/audit' }), INVALID);
  });
});

describe('our checkpoints', () => {
  const signer = ed25519NoteSigner('citytrust.example/audit');
  const key = { name: signer.name, publicKey: signer.publicKey };

  it('round-trips origin, size, root and extensions', async () => {
    const note = await signCheckpoint({ origin: 'citytrust.example/audit', size: 42, rootHash: ROOT, extensions: ['ext one', 'ext+two'] }, signer);
    const cp = openCheckpoint(note, key);
    assert.deepEqual({ ...cp, rootHash: toHex(cp.rootHash) }, {
      origin: 'citytrust.example/audit',
      size: 42,
      rootHash: toHex(ROOT),
      extensions: ['ext one', 'ext+two'],
    });
  });
  it('lays the note out exactly as tlog-checkpoint and signed-note specify', async () => {
    const note = await signCheckpoint({ origin: 'citytrust.example/audit', size: 7, rootHash: ROOT }, signer);
    const id = ed25519KeyId(signer.name, signer.publicKey);
    const m = /^citytrust\.example\/audit\n7\n([A-Za-z0-9+/]{43}=)\n\n— citytrust\.example\/audit ([A-Za-z0-9+/]{91}=)\n$/.exec(note);
    assert.ok(m, note);
    assert.equal(m[1], toBase64(ROOT));
    assert.equal(toHex(fromBase64(m[2] as string).subarray(0, 4)), toHex(id));
    assert.equal(formatCheckpoint({ origin: 'citytrust.example/audit', size: 7, rootHash: ROOT }), note.slice(0, note.indexOf('\n\n') + 1));
  });
  it('signs and opens the empty tree (size 0)', async () => {
    const cp = openCheckpoint(await signCheckpoint({ origin: 'o.example/log', size: 0, rootHash: emptyRoot() }, signer), key);
    assert.equal(cp.size, 0);
    assert.equal(toHex(cp.rootHash), toHex(emptyRoot()));
  });
  it('opens with the log key when a witness has cosigned, and with the witness key', async () => {
    const witness = ed25519NoteSigner('witness.example/w1');
    const note = await signCheckpoint({ origin: 'citytrust.example/audit', size: 3, rootHash: ROOT }, signer);
    const text = note.slice(0, note.lastIndexOf('\n\n') + 1);
    const cosig = (await signNote(text, witness)).slice(text.length + 1);
    const both = note + cosig;
    assert.equal(openCheckpoint(both, key).size, 3);
    assert.equal(openCheckpoint(both, { name: witness.name, publicKey: witness.publicKey }).size, 3);
  });
  it('refuses a checkpoint signed by another key of the same name', async () => {
    const impostor = ed25519NoteSigner(signer.name);
    const note = await signCheckpoint({ origin: 'citytrust.example/audit', size: 1, rootHash: ROOT }, impostor);
    assert.throws(() => openCheckpoint(note, key), INVALID);
  });

  describe('strict parsing of the signed text', () => {
    const r = toBase64(ROOT);
    const cases: Record<string, string> = {
      'a size with a leading zero': `o\n07\n${r}\n`,
      'a size with a plus sign': `o\n+7\n${r}\n`,
      'a negative size': `o\n-1\n${r}\n`,
      'a size in exponent form': `o\n1e3\n${r}\n`,
      'a size with spaces': `o\n 7\n${r}\n`,
      'a size beyond 2^53 - 1': `o\n9007199254740992\n${r}\n`,
      'a huge size': `o\n${'9'.repeat(40)}\n${r}\n`,
      'a root of 31 bytes': `o\n7\n${toBase64(ROOT.subarray(1))}\n`,
      'a root of 33 bytes': `o\n7\n${toBase64(new Uint8Array(33))}\n`,
      'a root in base64url': `o\n7\n${Buffer.from(new Uint8Array(32).fill(0xfb)).toString('base64url')}=\n`,
      'a root without padding': `o\n7\n${r.slice(0, -1)}\n`,
      'a missing root line': `o\n7\n`,
      'an empty origin': `\n7\n${r}\n`,
      'an empty extension line': `o\n7\n${r}\n\next\n`,
    };
    for (const [what, text] of Object.entries(cases)) {
      it(`refuses ${what}`, async () => {
        const note = await signNote(text, signer);
        assert.throws(() => openCheckpoint(note, key), INVALID);
      });
    }
    it('accepts the largest safe size', async () => {
      const note = await signNote(`o\n9007199254740991\n${r}\n`, signer);
      assert.equal(openCheckpoint(note, key).size, Number.MAX_SAFE_INTEGER);
    });
    it('refuses a root whose unused base64 bits are set', async () => {
      // 32 bytes end on a 2-bit remainder in base64; a last digit with those bits set decodes
      // to the same bytes but is not the canonical spelling.
      const respelt = r.slice(0, -2) + String.fromCharCode(r.charCodeAt(r.length - 2) + 1) + '=';
      assert.notEqual(respelt, r);
      assert.deepEqual(fromBase64(respelt), ROOT);
      const note = await signNote(`o\n7\n${respelt}\n`, signer);
      assert.throws(() => openCheckpoint(note, key), INVALID);
    });
  });

  describe('refusing to sign what is not a checkpoint', () => {
    const good = { origin: 'citytrust.example/audit', size: 1, rootHash: ROOT };
    const bad: Record<string, object> = {
      'an empty origin': { ...good, origin: '' },
      'an origin with a space': { ...good, origin: 'city trust' },
      'an origin with a plus sign': { ...good, origin: 'a+b' },
      'an origin with a newline': { ...good, origin: 'a\n2' },
      'a negative size': { ...good, size: -1 },
      'a fractional size': { ...good, size: 1.5 },
      'an unsafe size': { ...good, size: 2 ** 53 },
      'a short root': { ...good, rootHash: new Uint8Array(31) },
      'an empty extension': { ...good, extensions: [''] },
      'an extension with a newline': { ...good, extensions: ['a\n\nb'] },
    };
    for (const [what, cp] of Object.entries(bad)) {
      it(`refuses ${what}`, async () => {
        await rejects(signCheckpoint(cp as typeof good, signer), 'AUDIT_CHECKPOINT_INVALID');
      });
    }
  });

  describe('a signer that misbehaves', () => {
    const cp = { origin: 'citytrust.example/audit', size: 1, rootHash: ROOT };
    it('is caught when its public key does not match its private key', async () => {
      const { privateKey } = generateKeyPairSync('ed25519');
      const liar: NoteSigner = { name: signer.name, publicKey: signer.publicKey, sign: async (m) => new Uint8Array(cryptoSign(null, m, privateKey)) };
      await rejects(signCheckpoint(cp, liar), 'AUDIT_SIGNER_FAILED');
    });
    it('is caught when it returns a signature of the wrong length', async () => {
      await rejects(signCheckpoint(cp, { ...key, sign: async () => new Uint8Array(63) }), 'AUDIT_SIGNER_FAILED');
    });
    it('is caught when it has an invalid name or public key', async () => {
      await rejects(signCheckpoint(cp, { name: 'a b', publicKey: signer.publicKey, sign: signer.sign }), 'AUDIT_SIGNER_FAILED');
      await rejects(signCheckpoint(cp, { name: 'a', publicKey: new Uint8Array(31), sign: signer.sign }), 'AUDIT_SIGNER_FAILED');
    });
    it('wraps an unexpected failure, and passes on a vault refusal with its own code', async () => {
      await rejects(
        signCheckpoint(cp, {
          ...key,
          sign: async () => {
            throw new Error('device unplugged');
          },
        }),
        'AUDIT_SIGNER_FAILED',
      );
      await rejects(
        signCheckpoint(cp, {
          ...key,
          sign: async () => {
            throw new CityTrustError('UNAVAILABLE', 'vault not ready');
          },
        }),
        'UNAVAILABLE',
      );
    });
  });
});

describe('ed25519NoteSigner', () => {
  it('makes a fresh key per call and refuses an invalid name', () => {
    const a = ed25519NoteSigner('a.example/k');
    const b = ed25519NoteSigner('a.example/k');
    assert.equal(a.publicKey.length, 32);
    assert.notEqual(toHex(a.publicKey), toHex(b.publicKey));
    assert.throws(() => ed25519NoteSigner('has space'), code('AUDIT_KEY_INVALID'));
  });
  it('hands out copies of its public key', () => {
    const a = ed25519NoteSigner('a.example/k');
    const before = toHex(a.publicKey);
    a.publicKey.fill(0);
    assert.equal(toHex(a.publicKey), before);
  });
});

describe('the worked example in docs/audit-log.md', () => {
  const VKEY = 'citytrust.example/audit+7732980f+ASm1Q5SrwwXZEQ1J94C3+Dr3nbHr2qxmgwd/Bcu/LscR';
  const NOTE =
    'citytrust.example/audit\n3\n1Pksj7uJcg6ztVZ3x9fvrd/rENEaGoSguo8aIzN/qpU=\n\n' +
    '— citytrust.example/audit dzKYDxRN92/1I7E5L4VYM6MKBOC6jvsaxrEW1uYcRiSSDPuQnjAaZTNr/OSGN+elsgFWNENyXHuz9d/qPKISFMmW5gc=\n';

  it('derives the documented key ID and verifies the documented checkpoint', () => {
    const key = parseVerifierKey(VKEY);
    assert.equal(toHex(key.publicKey), '29b54394abc305d9110d49f780b7f83af79db1ebdaac6683077f05cbbf2ec711');
    assert.equal(toHex(key.keyId), '7732980f');
    const cp = openCheckpoint(NOTE, key, { origin: 'citytrust.example/audit' });
    assert.equal(cp.size, 3);
    assert.equal(toHex(cp.rootHash), 'd4f92c8fbb89720eb3b55677c7d7efaddfeb10d11a1a84a0ba8f1a23337faa95');
  });
  it('has the documented root for the leaves "leaf 0", "leaf 1", "leaf 2"', () => {
    const [h0, h1, h2] = ['leaf 0', 'leaf 1', 'leaf 2'].map((s) => hashLeaf(new TextEncoder().encode(s))) as [Uint8Array, Uint8Array, Uint8Array];
    assert.equal(toHex(h0), '1bb97dcc21635d47e2663efdfd0a174686d98dd701352dd2cd06e8b43fd3d305');
    const h01 = hashChildren(h0, h1);
    assert.equal(toHex(h01), 'fc5f6b88ff8554f75bb2f9e6f39c31b1936d44b69276edf7b1205a955b9761e3');
    assert.equal(toHex(hashChildren(h01, h2)), 'd4f92c8fbb89720eb3b55677c7d7efaddfeb10d11a1a84a0ba8f1a23337faa95');
    verifyInclusion(h0, 0, 3, [h1, h2], hashChildren(h01, h2));
    verifyConsistency(2, 3, [h2], h01, hashChildren(h01, h2));
  });
});

describe('arguments of the wrong shape', () => {
  const signer = ed25519NoteSigner('citytrust.example/audit');
  it('get a specific code instead of a TypeError', async () => {
    const anyArg = (x: unknown) => x as never;
    await rejects(signCheckpoint(anyArg(null), signer), 'AUDIT_CHECKPOINT_INVALID');
    await rejects(signCheckpoint({ origin: 'o', size: 1, rootHash: ROOT }, anyArg(null)), 'AUDIT_SIGNER_FAILED');
    await rejects(signNote(anyArg(42), signer), 'AUDIT_CHECKPOINT_INVALID');
    assert.throws(() => openCheckpoint(anyArg(42), signer), INVALID);
    assert.throws(() => openCheckpoint('o\n1\n\n', anyArg(null)), code('AUDIT_KEY_INVALID'));
    assert.throws(() => parseVerifierKey(anyArg(undefined)), code('AUDIT_KEY_INVALID'));
  });
});
