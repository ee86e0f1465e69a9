/**
 * What a reader sends to the server (docs/reader.md §7): COSE_Sign1 messages signed with its
 * certified key (the same key that authenticates it to wallets), the certificate chain in the
 * protected x5chain header (RFC 9360), and a typ that keeps each kind apart from every other
 * signature the key makes (a tap's ReaderAuthentication has its own external AAD).
 *
 *   ReaderEvents  = COSE_Sign1(typ "application/ct-reader-events+cwt",
 *                              {1: readerId, 2: tenant, 3: iat, 4: [+ ReaderEvent], 6: queue instance})
 *   TrustRequest  = COSE_Sign1(typ "application/ct-reader-trust+cwt",
 *                              {1: readerId, 2: tenant, 3: iat, 5: [+ tenant]})
 */
import { CityTrustError } from '../core/errors.ts';
import { createCoseSign1, decodeCbor, encodeCbor, verifyCoseSign1, type CoseVerifierKey } from '../crypto/index.ts';
import { X5CHAIN } from '../tap/constants.ts';
import type { ReaderKeyMaterial } from '../tap/types.ts';
import { eventFromCbor, eventToCbor, type ReaderEvent } from './events.ts';

export const TYP_HEADER = 16;
export const EVENTS_TYP = 'application/ct-reader-events+cwt';
export const TRUST_TYP = 'application/ct-reader-trust+cwt';
export const MAX_BATCH = 1000;
export const UPLOAD_LIMITS = { maxBytes: 1 << 20, maxDepth: 6, maxItems: 64 * MAX_BATCH };

const K = { readerId: 1, tenant: 2, iat: 3, events: 4, tenants: 5, instance: 6 } as const;
const INSTANCE = /^[0-9a-f]{16}$/;

function sign(identity: ReaderKeyMaterial, typ: string, claims: Map<number, unknown>): Promise<Uint8Array> {
  const { chain } = identity;
  return createCoseSign1({
    payload: encodeCbor(claims),
    signer: identity.signer,
    protectedHeaders: new Map<number, unknown>([
      [TYP_HEADER, typ],
      [X5CHAIN, chain.length === 1 ? chain[0] : [...chain]],
    ]),
  });
}

export interface SignedBy {
  readonly identity: ReaderKeyMaterial;
  readonly readerId: string;
  readonly tenant: string;
  /** Seconds (the reader clock at signing). */
  readonly iat: number;
}

/** `instance` is the queue's random id (EventQueue.instance). */
export function signEventBatch(by: SignedBy, instance: string, events: readonly ReaderEvent[]): Promise<Uint8Array> {
  if (events.length === 0 || events.length > MAX_BATCH) throw new CityTrustError('INPUT_INVALID', `a batch holds 1..${MAX_BATCH} events`);
  if (!INSTANCE.test(instance)) throw new CityTrustError('INPUT_INVALID', 'the queue instance is 16 hex digits');
  return sign(by.identity, EVENTS_TYP, new Map<number, unknown>([[K.readerId, by.readerId], [K.tenant, by.tenant], [K.iat, by.iat], [K.events, events.map(eventToCbor)], [K.instance, instance]]));
}

export function signTrustRequest(by: SignedBy, tenants: readonly string[]): Promise<Uint8Array> {
  return sign(by.identity, TRUST_TYP, new Map<number, unknown>([[K.readerId, by.readerId], [K.tenant, by.tenant], [K.iat, by.iat], [K.tenants, [...tenants]]]));
}

function invalid(message: string, cause?: unknown): never {
  throw new CityTrustError('READER_UPLOAD_INVALID', message, cause === undefined ? undefined : { cause });
}

/** The x5chain of a reader message, read before its signature is checked (to find the key). */
export function readerChainOf(bytes: Uint8Array): Uint8Array[] {
  let prot: unknown;
  try {
    const env = decodeCbor(bytes, { ...UPLOAD_LIMITS, allowedTags: [18] });
    const arr = env !== null && typeof env === 'object' && 'value' in env ? (env as { value: unknown }).value : undefined;
    const p = Array.isArray(arr) ? arr[0] : undefined;
    prot = p instanceof Uint8Array ? decodeCbor(p, { maxBytes: 16384, maxDepth: 4, maxItems: 32, allowedTags: [] }) : undefined;
  } catch (e) {
    invalid('not a COSE_Sign1 within the upload limits', e);
  }
  const x5 = prot instanceof Map ? prot.get(X5CHAIN) : undefined;
  const chain = x5 instanceof Uint8Array ? [x5] : Array.isArray(x5) && x5.length >= 2 && x5.length <= 4 && x5.every((c) => c instanceof Uint8Array) ? (x5 as Uint8Array[]) : undefined;
  if (chain === undefined) invalid('the message carries no x5chain in its protected header');
  return chain;
}

export interface ReaderMessage {
  readonly readerId: string;
  readonly tenant: string;
  readonly iat: number;
  readonly events?: ReaderEvent[];
  readonly instance?: string;
  readonly tenants?: string[];
}

/**
 * Verifies a reader message under `key` (the leaf key the caller authenticated) with ES256 only,
 * checks its typ and parses the claims. Signature failures are READER_UPLOAD_UNAUTHENTICATED.
 */
export function openReaderMessage(bytes: Uint8Array, key: CoseVerifierKey, typ: typeof EVENTS_TYP | typeof TRUST_TYP): ReaderMessage {
  let payload: Uint8Array;
  let prot: ReadonlyMap<unknown, unknown>;
  try {
    ({ payload, protectedHeaders: prot } = verifyCoseSign1(bytes, { key, algorithms: ['ES256'], requireTag: true, limits: UPLOAD_LIMITS }));
  } catch (e) {
    throw new CityTrustError('READER_UPLOAD_UNAUTHENTICATED', 'the message is not signed by the key of the reader certificate', { cause: e });
  }
  if (prot.get(TYP_HEADER) !== typ) invalid(`typ must be ${typ}`);
  let m: unknown;
  try {
    m = decodeCbor(payload, { ...UPLOAD_LIMITS, deterministic: true, allowedTags: [] });
  } catch (e) {
    invalid('the claims are not deterministic CBOR', e);
  }
  if (!(m instanceof Map)) return invalid('the claims are a map');
  const readerId = m.get(K.readerId);
  const tenant = m.get(K.tenant);
  const iat = m.get(K.iat);
  if (typeof readerId !== 'string' || typeof tenant !== 'string' || typeof iat !== 'number' || !Number.isSafeInteger(iat)) invalid('readerId, tenant and iat are required');
  if (typ === EVENTS_TYP) {
    const list = m.get(K.events);
    if (!Array.isArray(list) || list.length === 0 || list.length > MAX_BATCH) invalid(`events is a list of 1..${MAX_BATCH}`);
    const events = list.map((e) => {
      try {
        return eventFromCbor(e);
      } catch (err) {
        return invalid('an event is malformed', err);
      }
    });
    const instance = m.get(K.instance);
    if (typeof instance !== 'string' || !INSTANCE.test(instance)) invalid('instance is the queue id (16 hex digits)');
    return { readerId, tenant, iat, events, instance };
  }
  const tenants = m.get(K.tenants);
  if (!Array.isArray(tenants) || tenants.length > 32 || !tenants.every((t) => typeof t === 'string' && /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(t))) invalid('tenants is a list of up to 32 tenant ids');
  return { readerId, tenant, iat, tenants: tenants as string[] };
}
