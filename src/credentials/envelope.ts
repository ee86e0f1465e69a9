/**
 * Provisioning envelopes (device-side to open, server-side to seal): a COSE_Encrypt0 (RFC 9052
 * §5.2) sealed to the wallet's secure-element key with ECDH-ES + HKDF-SHA256 and AES-256-GCM.
 *
 *   COSE_Encrypt0 = [ h'a10103' ({1: 3}, A256GCM),
 *                     {-1: ephemeral COSE_Key (P-256, compressed), 4: wallet kid, 5: IV},
 *                     ciphertext ‖ tag ]
 *   Z   = ECDH(ephemeral, wallet SE key)                                   (SEC 1 §3.3.1)
 *   CEK = HKDF-SHA256(salt = h'', IKM = Z, info = COSE_KDF_Context, L = 32) (RFC 9053 §5.1, §6.3.1)
 *   COSE_KDF_Context = [3, [nil, nil, nil], [nil, nil, nil], [256, h'a10103']] (RFC 9053 §5.2)
 *   external_aad = ["citytrust/provisioning/v1", wallet id]
 *
 * The ephemeral key sits in the unprotected bucket under label -1 as in RFC 9053 §6.3.1, here on
 * the Encrypt0 itself rather than in a recipient; this is the layout of COSE-HPKE's integrated
 * encryption and of ISO 18013-5 session establishment. docs/provisioning.md says why.
 */
import { CityTrustError, isCityTrustError } from '../core/errors.ts';
import { concatBytes, wipe } from '../core/bytes.ts';
import { bytesCbor, textCbor } from './cbor-write.ts';
import {
  CborTag,
  coseContentKey,
  coseKdfContext,
  createCoseEncrypt0,
  decodeCbor,
  decryptCoseEncrypt0,
  ecdhSharedSecret,
  encodeCbor,
  fromCoseKey,
  generateEphemeralKeyPair,
  hkdfSha256,
  secretKey,
  toCoseKey,
  type CoseKeyAgreement,
} from '../crypto/index.ts';
import type { KeyObject } from 'node:crypto';

const A256GCM = 3;
const PROTECTED = encodeCbor(new Map([[1, A256GCM]]));
const EMPTY = new Uint8Array(0);
export const ENVELOPE_LIMITS = Object.freeze({ maxBytes: 16 * 1024, maxDepth: 6, maxItems: 256 });

function kdfContext(protectedBytes: Uint8Array): Uint8Array {
  return coseKdfContext({ algorithmId: A256GCM, keyDataLength: 256, protected: protectedBytes });
}

// The sender's context never changes (its protected bucket is fixed), so it is encoded once.
const SEND_CONTEXT = kdfContext(PROTECTED);

function externalAad(walletId: string): Uint8Array {
  return encodeCbor(['citytrust/provisioning/v1', walletId]);
}

export interface SealOptions {
  readonly plaintext: Uint8Array;
  readonly walletId: string;
  /** The wallet's secure-element key (P-256 public). */
  readonly walletKey: KeyObject;
  readonly walletKid?: Uint8Array;
}

/**
 * Everything about one wallet that every envelope to it repeats: its key (imported and checked
 * once), kid and external_aad. Build it once per wallet and seal many envelopes with it.
 */
export interface SealTarget {
  readonly walletId: string;
  readonly walletKey: KeyObject;
  readonly walletKid: Uint8Array | undefined;
  readonly externalAad: Uint8Array;
}

export function sealTarget(walletId: string, walletKey: KeyObject, walletKid?: Uint8Array): SealTarget {
  if (typeof walletId !== 'string' || walletId.length === 0) throw new CityTrustError('INPUT_INVALID', 'a wallet id is required');
  return Object.freeze({ walletId, walletKey, walletKid, externalAad: externalAad(walletId) });
}

/** Seals `plaintext` to one wallet; a fresh ephemeral key and IV per envelope. */
export function sealEnvelope(o: SealOptions): Uint8Array {
  return sealTo(sealTarget(o.walletId, o.walletKey, o.walletKid), o.plaintext);
}

/**
 * Seals to a prepared target. The ephemeral key pair is generated here for this one envelope and
 * dropped when it returns (ECDH-ES, RFC 9053 §6.3.1); Z and the CEK bytes are wiped.
 */
export function sealTo(t: SealTarget, plaintext: Uint8Array): Uint8Array {
  const eph = generateEphemeralKeyPair();
  const z = ecdhSharedSecret(eph.privateKey, t.walletKey);
  let cek: Uint8Array;
  try {
    // HKDF over a secret KeyObject: node would wrap raw bytes in one anyway, at twice the cost.
    cek = hkdfSha256(secretKey(z), EMPTY, SEND_CONTEXT, 32);
  } finally {
    wipe(z);
  }
  try {
    const unprotected = new Map<number, unknown>([[-1, toCoseKey(eph.publicKey, { compressed: true })]]);
    if (t.walletKid !== undefined) unprotected.set(4, t.walletKid);
    return createCoseEncrypt0({ plaintext, key: coseContentKey('A256GCM', cek), unprotectedHeaders: unprotected, externalAad: t.externalAad });
  } finally {
    wipe(cek);
  }
}

function invalid(message: string, cause?: unknown): never {
  throw new CityTrustError('PROVISIONING_ENVELOPE_INVALID', message, cause === undefined ? undefined : { cause });
}

/** Opens an envelope with the wallet's key agreement (the secure element never hands out d). */
export async function openEnvelope(bytes: Uint8Array, o: { walletId: string; agreement: CoseKeyAgreement }): Promise<Uint8Array> {
  let msg: unknown;
  try {
    msg = decodeCbor(bytes, { ...ENVELOPE_LIMITS, allowedTags: [16] });
  } catch (e) {
    invalid('the envelope is not CBOR within the limits', e);
  }
  if (!(msg instanceof CborTag) || msg.tag !== 16 || !Array.isArray(msg.value) || msg.value.length !== 3) invalid('the envelope is a tagged COSE_Encrypt0');
  const [prot, unprot] = msg.value as unknown[];
  if (!(prot instanceof Uint8Array) || !(unprot instanceof Map)) invalid('the envelope headers are malformed');
  const eph = unprot.get(-1);
  if (!(eph instanceof Map)) invalid('the envelope carries no ephemeral key (-1)');
  let z: Uint8Array;
  try {
    const k = fromCoseKey(eph as Map<unknown, unknown>);
    if (k.kind !== 'P-256' || k.privateKey !== undefined || k.publicKey === undefined) return invalid('the ephemeral key is a P-256 public key');
    z = await o.agreement.deriveSecret(k.publicKey);
  } catch (e) {
    if (isCityTrustError(e, 'PROVISIONING_ENVELOPE_INVALID')) throw e;
    return invalid('the ephemeral key is not a valid P-256 point', e);
  }
  // The context is built over the protected bucket as received, so a changed bucket changes the CEK.
  let cek: Uint8Array;
  try {
    cek = hkdfSha256(z, EMPTY, kdfContext(prot), 32);
  } finally {
    wipe(z);
  }
  try {
    return decryptCoseEncrypt0(bytes, { key: coseContentKey('A256GCM', cek), algorithms: ['A256GCM'], requireTag: true, externalAad: externalAad(o.walletId), limits: ENVELOPE_LIMITS }).plaintext;
  } catch (e) {
    return invalid('the envelope does not open with this wallet key', e);
  } finally {
    wipe(cek);
  }
}

/** What travels inside an envelope. */
export type ProvisioningMessage =
  | { readonly kind: 'credential'; readonly deliveryId: string; readonly tenant: string; readonly credential: Uint8Array; readonly replaces?: string }
  | { readonly kind: 'status'; readonly deliveryId: string; readonly tenant: string; readonly credentialId: string; readonly status: 'valid' | 'revoked' | 'suspended' };

const STATUS_CODE = { valid: 0, revoked: 1, suspended: 2 } as const;
const STATUS_NAME = ['valid', 'revoked', 'suspended'] as const;
const ID = /^[0-9a-f]{16,32}$/;

/**
 * Deterministic CBOR: keys 1..7 ascending. A credential delivery (one per issued credential) is
 * written directly; test/credentials/envelope.test.ts holds it equal to the generic encoding.
 */
export function encodeProvisioningMessage(m: ProvisioningMessage): Uint8Array {
  if (m.kind === 'credential') {
    const parts = [Uint8Array.of(m.replaces === undefined ? 0xa4 : 0xa5, 0x01, 0x01, 0x02), textCbor(m.deliveryId), Uint8Array.of(0x03), textCbor(m.tenant), Uint8Array.of(0x04), bytesCbor(m.credential)];
    if (m.replaces !== undefined) parts.push(Uint8Array.of(0x05), textCbor(m.replaces));
    return concatBytes(...parts);
  }
  const out = new Map<number, unknown>([[1, 2], [2, m.deliveryId], [3, m.tenant]]);
  out.set(6, m.credentialId);
  out.set(7, STATUS_CODE[m.status]);
  return encodeCbor(out);
}

export function decodeProvisioningMessage(bytes: Uint8Array): ProvisioningMessage {
  let m: unknown;
  try {
    m = decodeCbor(bytes, { ...ENVELOPE_LIMITS, deterministic: true, allowedTags: [] });
  } catch (e) {
    invalid('the provisioning message is not CBOR', e);
  }
  if (!(m instanceof Map)) invalid('the provisioning message is a map');
  const kind = m.get(1);
  const deliveryId = m.get(2);
  const tenant = m.get(3);
  if (typeof deliveryId !== 'string' || !ID.test(deliveryId) || typeof tenant !== 'string' || tenant.length === 0) invalid('delivery id and tenant are required');
  if (kind === 1) {
    const credential = m.get(4);
    const replaces = m.get(5);
    if (!(credential instanceof Uint8Array)) invalid('a credential delivery carries the credential');
    if (replaces !== undefined && (typeof replaces !== 'string' || !ID.test(replaces))) invalid('replaces is a credential id');
    return { kind: 'credential', deliveryId, tenant, credential, ...(replaces !== undefined && { replaces: replaces as string }) };
  }
  if (kind === 2) {
    const credentialId = m.get(6);
    const status = STATUS_NAME[m.get(7) as number];
    if (typeof credentialId !== 'string' || !ID.test(credentialId) || status === undefined) invalid('a status delivery names a credential and a status');
    return { kind: 'status', deliveryId, tenant, credentialId, status };
  }
  return invalid('unknown delivery kind');
}
