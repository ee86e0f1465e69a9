/**
 * The console's signed-note checkpoint verifier (WebCrypto Ed25519) against notes signed by
 * the server's own code (src/audit): the two independent implementations must agree on what
 * verifies, and the browser side must refuse every edit a hostile server could make.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { signCheckpoint, encodeVerifierKey as serverVkey } from '../../src/audit/index.ts';
import { ed25519NoteSigner } from '../../src/audit/note-signer.ts';
import { toBase64 } from '../../console/src/lib/bytes.ts';
import { encodeVerifierKey, keyIdOf, openCheckpoint, openNote } from '../../console/src/lib/checkpoint.ts';
import { isVerifyError } from '../../console/src/lib/verify-error.ts';

const ORIGIN = 'citytrust.test/audit';
const root = new Uint8Array(32).map((_, i) => i * 7);

async function signed(size = 42, name = ORIGIN) {
  const signer = ed25519NoteSigner(name);
  const note = await signCheckpoint({ origin: ORIGIN, size, rootHash: root }, signer);
  return { note, key: { name: signer.name, publicKey: signer.publicKey } };
}

const rejectsWith = (code: string) => (e: unknown) => isVerifyError(e) && e.code === code;

describe('the console opens checkpoints signed by the server code', () => {
  it('verifies a signed checkpoint and reads its origin, size and root', async () => {
    const { note, key } = await signed();
    const cp = await openCheckpoint(note, key, ORIGIN);
    assert.equal(cp.origin, ORIGIN);
    assert.equal(cp.size, 42);
    assert.deepEqual(cp.rootHash, root);
    assert.deepEqual(cp.keyId, await keyIdOf(key));
  });

  it('encodes the verifier key exactly as the server and the CLI print it', async () => {
    const { key } = await signed();
    assert.equal(await encodeVerifierKey(key), serverVkey(key));
  });

  it('refuses a note whose size was edited after signing', async () => {
    const { note, key } = await signed(42);
    await assert.rejects(openCheckpoint(note.replace('\n42\n', '\n43\n'), key), rejectsWith('AUDIT_CHECKPOINT_INVALID'));
  });

  it('refuses a note whose root was edited after signing', async () => {
    const { note, key } = await signed();
    const other = toBase64(new Uint8Array(32).fill(9));
    await assert.rejects(openCheckpoint(note.replace(toBase64(root), other), key), rejectsWith('AUDIT_CHECKPOINT_INVALID'));
  });

  it('refuses a note signed by another key under the same name', async () => {
    const { note } = await signed();
    const { key: stranger } = await signed(42, ORIGIN);
    await assert.rejects(openCheckpoint(note, stranger), rejectsWith('AUDIT_CHECKPOINT_INVALID'));
  });

  it('refuses a checkpoint for another log than the one asked for', async () => {
    const { note, key } = await signed();
    await assert.rejects(openCheckpoint(note, key, 'other.example/log'), rejectsWith('AUDIT_CHECKPOINT_INVALID'));
  });

  it('ignores signatures by unknown keys but needs one by the trusted key', async () => {
    const { note, key } = await signed();
    const foreign = `— someone.else AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n`;
    const opened = await openNote(note + foreign, key);
    assert.ok(opened.text.startsWith(ORIGIN));
    const unsigned = note.slice(0, note.lastIndexOf('\n\n') + 2) + foreign;
    await assert.rejects(openNote(unsigned, key), rejectsWith('AUDIT_CHECKPOINT_INVALID'));
  });

  it('refuses notes with control characters, no signature block or a bad key', async () => {
    const { note, key } = await signed();
    await assert.rejects(openNote(note.replace(ORIGIN, `${ORIGIN}\u0007`), key), rejectsWith('AUDIT_CHECKPOINT_INVALID'));
    await assert.rejects(openNote(`${ORIGIN}\n1\n${toBase64(root)}\n`, key), rejectsWith('AUDIT_CHECKPOINT_INVALID'));
    await assert.rejects(openNote(note, { name: key.name, publicKey: new Uint8Array(31) }), rejectsWith('AUDIT_KEY_INVALID'));
    await assert.rejects(openNote(note, { name: 'has space', publicKey: key.publicKey }), rejectsWith('AUDIT_KEY_INVALID'));
  });
});
