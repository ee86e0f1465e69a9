/**
 * COSE_Encrypt (RFC 9052 §5.1) with exactly one recipient, in one of the two direct modes:
 *   - ECDH-ES + HKDF-256 (RFC 9053 §6.3.1): the sender's ephemeral P-256 key travels in the
 *     recipient's unprotected header (-1); the content key is HKDF(Z, salt, COSE_KDF_Context).
 *     This is the provisioning envelope sealed to a wallet's secure-element key: whoever relays
 *     it cannot read it.
 *   - direct (RFC 9053 §6.1): a pre-shared content key, for interop and tests.
 * We send only ECDH-ES. Several recipients, nested recipients and key wrap are refused with
 * COSE_RECIPIENT_UNSUPPORTED; see docs/cose.md for why the single-recipient form is enough.
 */
import type { KeyObject } from 'node:crypto';
import { CityTrustError } from '../../core/errors.ts';
import { wipe } from '../../core/bytes.ts';
import { randomBytes } from '../aead.ts';
import { ecdhSharedSecret, generateEphemeralKeyPair } from '../ecdh.ts';
import { assertKey, type KeyPair } from '../keys.ts';
import { assertBytes } from '../internal.ts';
import { encodeCbor } from '../cbor/codec.ts';
import { CONTENT_ALG_PARAMS, COSE_ALGORITHM_IDS, COSE_CONTENT_ALGORITHMS, COSE_RECIPIENT_ALGORITHMS, type CoseContentAlgorithm } from './algorithms.ts';
import {
  chooseAlgorithm,
  decodeHeaders,
  header,
  HEADER,
  kidOf,
  requireAlgorithm,
  senderHeaders,
  type DecodedHeaders,
  type HeaderMap,
} from './headers.ts';
import { COSE_TAG, decodeEnvelope, encodeEnvelope } from './message.ts';
import { encStructure } from './structures.ts';
import { resolveKey, type KeyResolver } from './resolve.ts';
import { openContent, receivedIv, sealContent, type CoseContentKey } from './content.ts';
import { coseKdfContext, deriveKeyHkdf256, partiesFromHeaders } from './kdf.ts';
import { fromCoseKey, toCoseKey } from './key.ts';
import type { DecryptedCose, DecryptEncrypt0Options } from './encrypt0.ts';

const EMPTY = new Uint8Array(0);

/** The recipient's side of ECDH: a software key or a secure element / vault that never hands out d. */
export interface CoseKeyAgreement {
  readonly curve: 'P-256';
  deriveSecret(peerPublicKey: KeyObject): Uint8Array | Promise<Uint8Array>;
}

export function keyObjectAgreement(privateKey: KeyObject): CoseKeyAgreement {
  assertKey(privateKey, 'P-256', 'private');
  return { curve: 'P-256', deriveSecret: (peer) => ecdhSharedSecret(privateKey, peer) };
}

export interface CreateEncryptEcdhEsOptions {
  readonly plaintext: Uint8Array;
  /** The recipient's static P-256 public key (e.g. the wallet's secure-element key). */
  readonly recipientKey: KeyObject;
  readonly recipientKid?: Uint8Array;
  readonly alg: 'A128GCM' | 'A256GCM';
  readonly protectedHeaders?: HeaderMap;
  readonly unprotectedHeaders?: HeaderMap;
  readonly externalAad?: Uint8Array;
  /** Identities bound into the KDF context and sent in the recipient header (-21, -24). */
  readonly partyUIdentity?: Uint8Array;
  readonly partyVIdentity?: Uint8Array;
  /** Send the ephemeral key's y as its sign bit (RFC 9053 §7.1.1). Default false, for interop. */
  readonly compressEphemeralKey?: boolean;
  readonly tagged?: boolean;
}

/** Seal `plaintext` to one P-256 recipient with ECDH-ES + HKDF-256 and AES-GCM. */
export function createCoseEncryptEcdhEs(opts: CreateEncryptEcdhEsOptions): Uint8Array {
  const iv = randomBytes(CONTENT_ALG_PARAMS[opts.alg]?.nonceLength ?? 12);
  return createCoseEncryptEcdhEsWith(opts, generateEphemeralKeyPair(), iv);
}

/**
 * The same with the ephemeral key and IV given. Internal: exists so tests can reproduce the
 * COSE WG vectors; it is not exported from the package, because a reused ephemeral key or IV
 * would break the scheme.
 */
export function createCoseEncryptEcdhEsWith(opts: CreateEncryptEcdhEsOptions, ephemeral: KeyPair, iv: Uint8Array): Uint8Array {
  const alg = requireAlgorithm(opts.alg, COSE_CONTENT_ALGORITHMS, ['A128GCM', 'A256GCM']);
  assertKey(opts.recipientKey, 'P-256', 'public');
  assertBytes('plaintext', opts.plaintext);
  const aad = opts.externalAad ?? EMPTY;
  assertBytes('externalAad', aad);

  const recipientProtected = encodeCbor(new Map([[HEADER.alg, COSE_ALGORITHM_IDS['ECDH-ES+HKDF-256']]]));
  const recipientUnprotected = new Map<number, unknown>([[HEADER.ephemeralKey, toCoseKey(ephemeral.publicKey, { compressed: opts.compressEphemeralKey === true })]]);
  if (opts.recipientKid !== undefined) recipientUnprotected.set(HEADER.kid, opts.recipientKid);
  if (opts.partyUIdentity !== undefined) recipientUnprotected.set(HEADER.partyUIdentity, opts.partyUIdentity);
  if (opts.partyVIdentity !== undefined) recipientUnprotected.set(HEADER.partyVIdentity, opts.partyVIdentity);

  const { keyLength } = CONTENT_ALG_PARAMS[alg];
  const context = coseKdfContext({
    algorithmId: COSE_ALGORITHM_IDS[alg],
    keyDataLength: keyLength * 8,
    protected: recipientProtected,
    partyU: { identity: opts.partyUIdentity ?? null },
    partyV: { identity: opts.partyVIdentity ?? null },
  });
  const cek = deriveKeyHkdf256(ecdhSharedSecret(ephemeral.privateKey, opts.recipientKey), EMPTY, context, keyLength);

  const unprotected = new Map(opts.unprotectedHeaders ?? []);
  if (unprotected.has(HEADER.iv) || unprotected.has(HEADER.partialIv)) throw new CityTrustError('COSE_HEADER_INVALID', 'the IV is chosen here');
  unprotected.set(HEADER.iv, iv);
  const { protectedMap, unprotectedMap } = senderHeaders(COSE_ALGORITHM_IDS[alg], opts.protectedHeaders, unprotected, {});
  const protectedBytes = encodeCbor(protectedMap);
  let ciphertext: Uint8Array;
  try {
    ciphertext = sealContent(alg, cek, iv, opts.plaintext, encStructure('Encrypt', protectedBytes, aad));
  } finally {
    wipe(cek);
  }
  const recipient = [recipientProtected, recipientUnprotected, EMPTY];
  return encodeEnvelope(COSE_TAG.Encrypt, [protectedBytes, unprotectedMap, ciphertext, [recipient]], opts.tagged !== false);
}

export type CoseRecipientOption =
  | { readonly mode: 'ECDH-ES+HKDF-256'; readonly agreement: CoseKeyAgreement | KeyResolver<CoseKeyAgreement> }
  | { readonly mode: 'direct'; readonly key: CoseContentKey | KeyResolver<CoseContentKey> };

export interface DecryptEncryptOptions extends Omit<DecryptEncrypt0Options, 'key'> {
  readonly recipient: CoseRecipientOption;
}

/** Open a single-recipient COSE_Encrypt. Async because the key agreement may run in a secure element. */
export async function decryptCoseEncrypt(bytes: Uint8Array, opts: DecryptEncryptOptions): Promise<DecryptedCose> {
  const [prot, unprot, ciphertext, recipients] = decodeEnvelope(bytes, COSE_TAG.Encrypt, 4, opts);
  const h = decodeHeaders(prot, unprot, opts);
  if (!(ciphertext instanceof Uint8Array)) throw new CityTrustError('COSE_MALFORMED', 'ciphertext must be a byte string');
  if (!Array.isArray(recipients) || recipients.length === 0) throw new CityTrustError('COSE_MALFORMED', 'recipients is a non-empty array');
  if (recipients.length !== 1) throw new CityTrustError('COSE_RECIPIENT_UNSUPPORTED', 'exactly one recipient is supported');
  const r: unknown = recipients[0];
  if (!Array.isArray(r) || r.length < 3 || r.length > 4) throw new CityTrustError('COSE_MALFORMED', 'a COSE_recipient is an array of 3 or 4');
  if (r.length === 4) throw new CityTrustError('COSE_RECIPIENT_UNSUPPORTED', 'nested recipients are not supported');
  const rh = decodeHeaders(r[0], r[1], opts);
  if (!(r[2] instanceof Uint8Array) || r[2].length !== 0) {
    throw new CityTrustError('COSE_RECIPIENT_UNSUPPORTED', 'only direct modes (empty recipient ciphertext) are supported');
  }

  const alg = requireAlgorithm(chooseAlgorithm(h, opts.allowUnprotectedAlg === true).name, COSE_CONTENT_ALGORITHMS, opts.algorithms);
  // The recipient's alg is authenticated through the KDF context (ECDH-ES) or has nothing to
  // protect (direct, whose protected bucket must be empty), so it may sit in either bucket.
  const recipientChoice = chooseAlgorithm(rh, true);
  const mode = requireAlgorithm(recipientChoice.name, COSE_RECIPIENT_ALGORITHMS, [opts.recipient.mode]);
  const kid = kidOf(rh);
  const hints = { alg: mode, kid, protectedHeaders: rh.protected, unprotectedHeaders: rh.unprotected };

  let cek: CoseContentKey | Uint8Array;
  if (opts.recipient.mode === 'direct') {
    if (rh.protected.size !== 0) throw new CityTrustError('COSE_HEADER_INVALID', 'a direct recipient has no protected header (RFC 9053 §6.1)');
    const key = resolveKey(opts.recipient.key, { ...hints, alg });
    if (key.alg !== alg) throw new CityTrustError('COSE_ALG_KEY_MISMATCH', 'the message algorithm is not the one the key is bound to');
    cek = key;
  } else {
    const agreement = resolveKey(opts.recipient.agreement, hints);
    const kdf = kdfInputs(rh, alg);
    cek = deriveKeyHkdf256(await agreement.deriveSecret(ephemeralKeyOf(rh)), kdf.salt, kdf.context, kdf.keyLength);
  }
  const key = cek instanceof Uint8Array ? cek : cek.key;
  const iv = receivedIv(h, alg, opts.baseIv ?? (cek instanceof Uint8Array ? undefined : cek.baseIv));
  try {
    const plaintext = openContent(alg, key, iv, ciphertext, encStructure('Encrypt', h.protectedBytes, opts.externalAad ?? EMPTY));
    return { plaintext, alg, kid, protectedHeaders: h.protected, unprotectedHeaders: h.unprotected };
  } finally {
    if (cek instanceof Uint8Array) wipe(cek);
  }
}

/** The sender's ephemeral key (header -1): a P-256 EC2 public key, nothing else. */
function ephemeralKeyOf(rh: DecodedHeaders): KeyObject {
  const raw = header(rh, HEADER.ephemeralKey);
  if (!(raw instanceof Map)) throw new CityTrustError('COSE_HEADER_INVALID', 'ECDH-ES needs an ephemeral key (header -1)');
  const k = fromCoseKey(raw);
  if (k.kind !== 'P-256') throw new CityTrustError('COSE_KEY_UNSUPPORTED', 'ECDH-ES is supported on P-256 only');
  if (k.privateKey !== undefined) throw new CityTrustError('COSE_KEY_INVALID', 'an ephemeral key header must not carry d');
  return k.publicKey as KeyObject;
}

/** Salt (-20) and COSE_KDF_Context for the recipient, read before any secret exists. */
function kdfInputs(rh: DecodedHeaders, alg: CoseContentAlgorithm): { salt: Uint8Array; context: Uint8Array; keyLength: number } {
  const salt = header(rh, HEADER.salt) ?? EMPTY;
  if (!(salt instanceof Uint8Array)) throw new CityTrustError('COSE_HEADER_INVALID', 'salt is a byte string');
  const { keyLength } = CONTENT_ALG_PARAMS[alg];
  const { partyU, partyV } = partiesFromHeaders(rh);
  const context = coseKdfContext({ algorithmId: COSE_ALGORITHM_IDS[alg], keyDataLength: keyLength * 8, protected: rh.protectedBytes, partyU, partyV });
  return { salt, context, keyLength };
}
