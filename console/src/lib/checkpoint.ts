/**
 * C2SP signed-note checkpoints (https://c2sp.org/signed-note, https://c2sp.org/tlog-checkpoint)
 * verified in the browser with WebCrypto's Ed25519. Like the server's verifier, the note's
 * text is not read until a signature by the trusted key has verified, and the algorithm is
 * fixed to Ed25519 (signature type 0x01) whatever the note says.
 */
import { buf, bytesEqual, concatBytes, fromCanonicalBase64, toBase64, toHex, utf8Encode } from './bytes.ts';
import { HASH_SIZE, sha256 } from './merkle.ts';
import { VerifyError } from './verify-error.ts';

const ED25519_TYPE = 0x01;
const SIGNATURE_PREFIX = '\u2014 ';
const MAX_SIGNATURES = 100;
const MAX_NOTE_CHARS = 1024 * 1024;
const CONTROL_EXCEPT_NEWLINE = /[\u0000-\u0009\u000b-\u001f]/;
const CONTROL = /[\u0000-\u001f]/;
const DECIMAL = /^(0|[1-9][0-9]*)$/;

export interface VerifierKey {
  readonly name: string;
  /** Raw 32-byte Ed25519 public key (RFC 8032). */
  readonly publicKey: Uint8Array;
}

export interface VerifiedCheckpoint {
  readonly origin: string;
  readonly size: number;
  readonly rootHash: Uint8Array;
  readonly extensions: readonly string[];
  /** 4-byte key ID of the key whose signature verified. */
  readonly keyId: Uint8Array;
}

function invalid(message: string): VerifyError {
  return new VerifyError('AUDIT_CHECKPOINT_INVALID', message);
}

/** signed-note: key names are non-empty, without Unicode spaces, plus signs or control characters. */
export function isValidKeyName(name: string): boolean {
  return name.length > 0 && name.isWellFormed() && !/\p{White_Space}/u.test(name) && !CONTROL.test(name) && !name.includes('+');
}

/** signed-note §Ed25519: key ID = SHA-256(name || 0x0A || 0x01 || public key)[:4]. */
export async function keyIdOf(key: VerifierKey): Promise<Uint8Array> {
  checkKey(key);
  const h = await sha256(concatBytes(utf8Encode(key.name), Uint8Array.of(0x0a, ED25519_TYPE), key.publicKey));
  return h.slice(0, 4);
}

/** signed-note §Verifier keys: `<name>+<hex key ID>+<base64(0x01 || public key)>`, what an operator publishes. */
export async function encodeVerifierKey(key: VerifierKey): Promise<string> {
  const id = await keyIdOf(key);
  return `${key.name}+${toHex(id)}+${toBase64(concatBytes(Uint8Array.of(ED25519_TYPE), key.publicKey))}`;
}

function checkKey(key: VerifierKey): void {
  if (!isValidKeyName(key.name)) throw new VerifyError('AUDIT_KEY_INVALID', 'the key name is not a valid signed-note key name');
  if (!(key.publicKey instanceof Uint8Array) || key.publicKey.length !== 32) throw new VerifyError('AUDIT_KEY_INVALID', 'an Ed25519 public key is 32 bytes');
}

async function ed25519Verify(publicKey: Uint8Array, signature: Uint8Array, message: Uint8Array): Promise<boolean> {
  let key: CryptoKey;
  try {
    key = await crypto.subtle.importKey('raw', buf(publicKey), { name: 'Ed25519' }, false, ['verify']);
  } catch {
    throw new VerifyError('AUDIT_KEY_INVALID', 'this browser cannot import the Ed25519 key (WebCrypto Ed25519 is missing, or the key is not a valid point)');
  }
  return crypto.subtle.verify({ name: 'Ed25519' }, key, buf(signature), buf(message));
}

/**
 * Verifies a signed note against one trusted key and returns its text (signed-note §Signatures:
 * lines by other keys are ignored; every line by the trusted key must verify; at least one must).
 */
export async function openNote(note: string, key: VerifierKey): Promise<{ text: string; keyId: Uint8Array }> {
  const keyId = await keyIdOf(key);
  if (typeof note !== 'string' || note.length > MAX_NOTE_CHARS || !note.isWellFormed()) throw invalid('the note is too large or not well-formed text');
  if (CONTROL_EXCEPT_NEWLINE.test(note)) throw invalid('the note contains control characters');
  const split = note.lastIndexOf('\n\n');
  if (split < 0) throw invalid('the note has no signature block');
  const text = note.slice(0, split + 1);
  const block = note.slice(split + 2);
  if (block.length === 0 || !block.endsWith('\n')) throw invalid('the note must end with a signature line and a newline');
  const lines = block.slice(0, -1).split('\n');
  if (lines.length > MAX_SIGNATURES) throw invalid(`the note has more than ${MAX_SIGNATURES} signatures`);
  const message = utf8Encode(text);
  let trusted = 0;
  for (const line of lines) {
    if (!line.startsWith(SIGNATURE_PREFIX)) throw invalid('a signature line must start with an em dash and a space');
    const rest = line.slice(SIGNATURE_PREFIX.length);
    const space = rest.indexOf(' ');
    if (space < 0) throw invalid('a signature line must hold a key name and a signature');
    const name = rest.slice(0, space);
    if (!isValidKeyName(name)) throw invalid('a signature line has an invalid key name');
    const blob = fromCanonicalBase64(rest.slice(space + 1));
    if (blob === undefined || blob.length < 5) throw invalid('a signature is not canonical base64 of a key ID and a signature');
    if (name !== key.name || !bytesEqual(blob.subarray(0, 4), keyId)) continue;
    const signature = blob.slice(4);
    if (signature.length !== 64 || !(await ed25519Verify(key.publicKey, signature, message))) throw invalid('a signature by the trusted key does not verify');
    trusted++;
  }
  if (trusted === 0) throw invalid('the note carries no signature by the trusted key');
  return { text, keyId };
}

/**
 * Verifies a checkpoint note and then parses it strictly (tlog-checkpoint §Note text): origin,
 * canonical decimal size, canonical base64 of a 32-byte root, non-empty extension lines.
 * `origin`, when given, must match exactly.
 */
export async function openCheckpoint(note: string, key: VerifierKey, origin?: string): Promise<VerifiedCheckpoint> {
  const { text, keyId } = await openNote(note, key);
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) throw invalid('a checkpoint has at least three lines');
  const [o, sizeText, rootText, ...extensions] = lines as [string, string, string, ...string[]];
  if (!isValidKeyName(o)) throw invalid('the checkpoint origin is not valid');
  if (origin !== undefined && o !== origin) throw invalid(`the checkpoint is for log "${o}", not "${origin}"`);
  if (!DECIMAL.test(sizeText) || !Number.isSafeInteger(Number(sizeText))) throw invalid('the tree size is not a canonical decimal below 2^53');
  const rootHash = fromCanonicalBase64(rootText);
  if (rootHash === undefined || rootHash.length !== HASH_SIZE) throw invalid('the root hash is not canonical base64 of 32 bytes');
  for (const e of extensions) if (e.length === 0) throw invalid('an extension line is empty');
  return { origin: o, size: Number(sizeText), rootHash, extensions, keyId };
}
