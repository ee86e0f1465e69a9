/**
 * C2SP signed notes (https://c2sp.org/signed-note) and the checkpoints inside them
 * (https://c2sp.org/tlog-checkpoint):
 *
 *   <origin>\n<tree size>\n<base64 root hash>\n[<extension line>\n...]
 *   \n
 *   — <key name> <base64(4-byte key ID || 64-byte Ed25519 signature)>\n   (one or more)
 *
 * Parsing is strict and every failure is AUDIT_CHECKPOINT_INVALID. The text of a note is
 * not looked at until a signature by the trusted key has verified (signed-note: "The text
 * MUST be ignored unless the note is signed by a trusted key").
 */
import { CityTrustError, isCityTrustError } from '../core/errors.ts';
import { bytesEqual, toBase64 } from '../core/bytes.ts';
import { HASH_SIZE, isSafeIndex } from './merkle.ts';
import { ED25519_SIGNATURE_SIZE, decodeCanonicalBase64, isValidKeyName, prepareVerifier, type NoteVerifierKey } from './note-signer.ts';
import type { NoteSigner } from './types.ts';

export interface Checkpoint {
  /** Unique identity of the log, e.g. `citytrust.example/audit`. */
  readonly origin: string;
  /** Number of leaves in the tree. */
  readonly size: number;
  /** RFC 9162 root hash of the tree of that size (32 bytes). */
  readonly rootHash: Uint8Array;
  /** Opaque extension lines (tlog-checkpoint: optional, not recommended). */
  readonly extensions: readonly string[];
}

export interface CheckpointInput {
  readonly origin: string;
  readonly size: number;
  readonly rootHash: Uint8Array;
  readonly extensions?: readonly string[];
}

export interface OpenCheckpointOptions {
  /** When given, the checkpoint must name exactly this origin (guards against a note from another log signed by a shared key). */
  readonly origin?: string;
}

/** signed-note §Format: the em dash (U+2014) and a space start every signature line. */
const SIGNATURE_PREFIX = '\u2014 ';
/** signed-note: verifiers must accept at least 16 signatures; Go's reference stops at 100. */
const MAX_SIGNATURES = 100;
/** Room for 100 post-quantum cosignatures (~5 KB each in base64) and a modest text. */
const MAX_NOTE_BYTES = 1024 * 1024;
const CONTROL_EXCEPT_NEWLINE = /[\u0000-\u0009\u000b-\u001f]/;
const CONTROL = /[\u0000-\u001f]/;
const DECIMAL = /^(0|[1-9][0-9]*)$/;

const encoder = new TextEncoder();
// ignoreBOM keeps a leading U+FEFF in the text, so what we verify is exactly what was sent.
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function invalid(message: string, cause?: unknown): CityTrustError {
  return new CityTrustError('AUDIT_CHECKPOINT_INVALID', message, cause === undefined ? undefined : { cause });
}

// ---- signed notes -----------------------------------------------------------------------

/**
 * Signs note text with one key: text || "\n" || "— <name> <base64(key ID || signature)>\n".
 * The signature is verified with the signer's public key before the note is returned, so a
 * vault key that does not match the published key never yields a checkpoint (AUDIT_SIGNER_FAILED).
 */
export async function signNote(text: string, signer: NoteSigner): Promise<string> {
  if (typeof text !== 'string' || !text.endsWith('\n') || !text.isWellFormed() || CONTROL_EXCEPT_NEWLINE.test(text)) {
    throw invalid('note text must be well-formed text ending in a newline, without control characters');
  }
  if (typeof signer !== 'object' || signer === null || typeof signer.sign !== 'function') {
    throw new CityTrustError('AUDIT_SIGNER_FAILED', 'the note signer is not a NoteSigner');
  }
  let verifier;
  try {
    verifier = prepareVerifier({ name: signer.name, publicKey: signer.publicKey });
  } catch (e) {
    throw new CityTrustError('AUDIT_SIGNER_FAILED', 'the note signer has an invalid name or public key', { cause: e });
  }
  const message = encoder.encode(text);
  let signature: Uint8Array;
  try {
    signature = await signer.sign(message);
  } catch (e) {
    // A vault refusal (sealed, policy) keeps its own code; anything else is the signer's fault.
    if (isCityTrustError(e)) throw e;
    throw new CityTrustError('AUDIT_SIGNER_FAILED', 'the note signer failed', { cause: e });
  }
  if (!(signature instanceof Uint8Array) || signature.length !== ED25519_SIGNATURE_SIZE || !verifier.verify(message, signature)) {
    throw new CityTrustError('AUDIT_SIGNER_FAILED', 'the note signer returned a signature that does not verify with its public key');
  }
  const blob = new Uint8Array(4 + ED25519_SIGNATURE_SIZE);
  blob.set(verifier.keyId, 0);
  blob.set(signature, 4);
  return `${text}\n${SIGNATURE_PREFIX}${signer.name} ${toBase64(blob)}\n`;
}

/**
 * Verifies a signed note against one trusted key and returns its text.
 *
 * signed-note §Signatures: signatures whose (name, key ID) pair is not the trusted key's are
 * ignored; every signature that does match must verify, or the whole note is refused; at
 * least one must match.
 */
export function openNote(note: string | Uint8Array, verifier: NoteVerifierKey): string {
  let pv;
  try {
    pv = prepareVerifier(verifier);
  } catch (e) {
    throw isCityTrustError(e) ? e : invalid('verifier key is unusable', e);
  }
  const text = decodeNote(note);
  if (CONTROL_EXCEPT_NEWLINE.test(text)) throw invalid('note contains control characters');

  // signed-note §Format: the text is separated from the signatures by the last empty line.
  const split = text.lastIndexOf('\n\n');
  if (split < 0) throw invalid('note has no signature block');
  const body = text.slice(0, split + 1);
  const block = text.slice(split + 2);
  if (block.length === 0 || !block.endsWith('\n')) throw invalid('note must end with a signature line and a newline');
  const lines = block.slice(0, -1).split('\n');
  if (lines.length > MAX_SIGNATURES) throw invalid(`note has more than ${MAX_SIGNATURES} signatures`);

  // Well-formed text and UTF-8 round-trip exactly, so these are the bytes that were signed.
  const message = encoder.encode(body);
  let trusted = 0;
  for (const line of lines) {
    const sig = parseSignatureLine(line);
    if (sig.name !== pv.name || !bytesEqual(sig.keyId, pv.keyId)) continue;
    if (!pv.verify(message, sig.signature)) throw invalid('a signature by the trusted key does not verify');
    trusted++;
  }
  if (trusted === 0) throw invalid('note carries no signature by the trusted key');
  return body;
}

function decodeNote(note: string | Uint8Array): string {
  if (note instanceof Uint8Array) {
    if (note.length > MAX_NOTE_BYTES) throw invalid('note is too large');
    try {
      return decoder.decode(note);
    } catch (e) {
      throw invalid('note is not valid UTF-8', e);
    }
  }
  if (typeof note !== 'string') throw invalid('note must be a string or bytes');
  // Lone surrogates have no UTF-8 form; encoding would silently replace them.
  if (note.length > MAX_NOTE_BYTES || !note.isWellFormed()) throw invalid('note is too large or not well-formed text');
  if (encoder.encode(note).length > MAX_NOTE_BYTES) throw invalid('note is too large');
  return note;
}

function parseSignatureLine(line: string): { name: string; keyId: Uint8Array; signature: Uint8Array } {
  if (!line.startsWith(SIGNATURE_PREFIX)) throw invalid('signature line must start with an em dash and a space');
  const rest = line.slice(SIGNATURE_PREFIX.length);
  const space = rest.indexOf(' ');
  if (space < 0) throw invalid('signature line must hold a key name and a signature');
  const name = rest.slice(0, space);
  if (!isValidKeyName(name)) throw invalid('signature line has an invalid key name');
  const blob = decodeCanonicalBase64(rest.slice(space + 1));
  // At least the 4-byte key ID and one byte of signature.
  if (blob === undefined || blob.length < 5) throw invalid('signature is not canonical base64 of a key ID and signature');
  return { name, keyId: blob.subarray(0, 4), signature: blob.subarray(4) };
}

// ---- checkpoints --------------------------------------------------------------------------

/**
 * The checkpoint note text (tlog-checkpoint §Note text). For our own logs the origin follows
 * the spec's SHOULD as a MUST (no spaces, no plus), so it can also serve as the key name.
 */
export function formatCheckpoint(cp: CheckpointInput): string {
  if (typeof cp !== 'object' || cp === null) throw invalid('checkpoint must be an object');
  if (!isValidKeyName(cp.origin)) throw invalid('origin must be non-empty, without spaces, plus signs or control characters');
  if (!isSafeIndex(cp.size)) throw invalid('tree size must be a non-negative safe integer');
  if (!(cp.rootHash instanceof Uint8Array) || cp.rootHash.length !== HASH_SIZE) throw invalid(`root hash must be ${HASH_SIZE} bytes`);
  const extensions = cp.extensions ?? [];
  if (!Array.isArray(extensions)) throw invalid('extensions must be an array of lines');
  for (const line of extensions) {
    if (typeof line !== 'string' || line.length === 0 || !line.isWellFormed() || CONTROL.test(line)) {
      throw invalid('extension lines must be non-empty single lines without control characters');
    }
  }
  return [cp.origin, String(cp.size), toBase64(cp.rootHash), ...extensions].map((l) => `${l}\n`).join('');
}

/** Formats and signs a checkpoint; resolves to the signed note text. */
export async function signCheckpoint(cp: CheckpointInput, signer: NoteSigner): Promise<string> {
  return signNote(formatCheckpoint(cp), signer);
}

/**
 * Verifies a signed checkpoint against the log's key, then parses it strictly: at least three
 * non-empty lines, a canonical decimal size (no leading zeros, at most 2^53 − 1), a root hash
 * in canonical base64 of exactly 32 bytes, non-empty extension lines, nothing after the
 * signatures.
 */
export function openCheckpoint(note: string | Uint8Array, verifier: NoteVerifierKey, options: OpenCheckpointOptions = {}): Checkpoint {
  const text = openNote(note, verifier);
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) throw invalid('checkpoint needs an origin, a tree size and a root hash');
  if (lines.some((l) => l.length === 0)) throw invalid('checkpoint lines must be non-empty');
  const [origin, sizeLine, rootLine, ...extensions] = lines as [string, string, string, ...string[]];
  if (options?.origin !== undefined && origin !== options.origin) throw invalid('checkpoint is for another origin');
  if (!DECIMAL.test(sizeLine)) throw invalid('tree size must be a decimal number without leading zeros');
  const size = Number(sizeLine);
  if (!Number.isSafeInteger(size)) throw invalid('tree size is beyond 2^53 - 1');
  const rootHash = decodeCanonicalBase64(rootLine);
  if (rootHash === undefined || rootHash.length !== HASH_SIZE) throw invalid(`root hash must be canonical base64 of ${HASH_SIZE} bytes`);
  return Object.freeze({ origin, size, rootHash, extensions: Object.freeze(extensions) });
}
