/**
 * The frames of the tap protocol and their plaintext bodies (docs/tap-protocol.md §2, CDDL).
 * Encoding is deterministic CBOR; decoding is strict (deterministic, no tags, small limits) and every
 * shape error has a code: a frame is either exactly what the CDDL says or it is refused.
 */
import { isResource } from '../credentials/device.ts';
import { decodeCbor, encodeCbor, type CborLimits } from '../crypto/index.ts';
import { EPHEMERAL_KEY_LENGTH, FRAME_LIMIT, MAX_FRAME, MSG, NONCE_LENGTH, REPLY, SIGNATURE_LENGTH, TAP_VERSION, TH_LENGTH, type MessageType } from './constants.ts';
import { frameError, PEER_CODE, tapError } from './errors.ts';

/** What the reader asks for (sent inside its signed ReaderAuth). */
export interface TapRequest {
  /** A concrete resource (`door:hq/floor3/d12`); its first segment is the site. */
  readonly resource?: string;
  /** Transit zones the journey touches. */
  readonly zones?: readonly string[];
  /** Class of service asked for (1 = first). */
  readonly class?: number;
  /** The holder needs one of these attested attributes. */
  readonly attributes?: readonly string[];
  /** The reader requires a user verification (fingerprint, face, PIN) on the phone. */
  readonly userVerification?: boolean;
}

export const REQUEST_KEY = { resource: 1, zones: 2, class: 3, attributes: 4, userVerification: 5 } as const;

const NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;
const REASON = /^[A-Z][A-Z0-9_]{1,47}$/;
const LIST_MAX = 16;

const FRAME_DECODE: CborLimits = { maxBytes: MAX_FRAME, maxDepth: 2, maxItems: 8 };
const BODY_DECODE: CborLimits = { maxBytes: MAX_FRAME, maxDepth: 4, maxItems: 64 };

function malformed(message: string): never {
  throw tapError('TAP_MESSAGE_MALFORMED', message);
}

function bstr(v: unknown, length: number | [number, number], what: string): Uint8Array {
  const [min, max] = typeof length === 'number' ? [length, length] : length;
  if (!(v instanceof Uint8Array) || v.length < min || v.length > max) malformed(`${what} must be a byte string of ${min === max ? min : `${min}..${max}`} bytes`);
  return v;
}

function names(v: unknown, what: string): readonly string[] {
  if (!Array.isArray(v) || v.length === 0 || v.length > LIST_MAX || !v.every((s) => typeof s === 'string' && NAME.test(s))) malformed(`${what} is a list of 1..${LIST_MAX} names`);
  if (new Set(v).size !== v.length) malformed(`${what} repeats a name`);
  return Object.freeze([...(v as string[])]);
}

// ---- request ----

/** Checks a request (reader configuration or received) and returns a frozen copy. */
export function validateRequest(r: unknown): TapRequest {
  if (r === null || typeof r !== 'object' || Array.isArray(r)) malformed('the request is an object');
  const q = r as Record<string, unknown>;
  for (const k of Object.keys(q)) if (!(k in REQUEST_KEY)) malformed(`unknown request field ${k}`);
  const out: { -readonly [K in keyof TapRequest]: TapRequest[K] } = {};
  if (q.resource !== undefined) {
    if (typeof q.resource !== 'string' || !isResource(q.resource)) malformed('resource must be a concrete resource name (kind:site/...)');
    out.resource = q.resource;
  }
  if (q.zones !== undefined) out.zones = names(q.zones, 'zones');
  if (out.resource === undefined && out.zones === undefined) malformed('a request names a resource or zones');
  if (q.class !== undefined) {
    if (typeof q.class !== 'number' || !Number.isInteger(q.class) || q.class < 1 || q.class > 9) malformed('class is 1..9');
    out.class = q.class;
  }
  if (q.attributes !== undefined) out.attributes = names(q.attributes, 'attributes');
  if (q.userVerification !== undefined) {
    if (q.userVerification !== true) malformed('userVerification is true or absent');
    out.userVerification = true;
  }
  return Object.freeze(out);
}

export function requestToCbor(r: TapRequest): Map<number, unknown> {
  const m = new Map<number, unknown>();
  if (r.resource !== undefined) m.set(REQUEST_KEY.resource, r.resource);
  if (r.zones !== undefined) m.set(REQUEST_KEY.zones, [...r.zones]);
  if (r.class !== undefined) m.set(REQUEST_KEY.class, r.class);
  if (r.attributes !== undefined) m.set(REQUEST_KEY.attributes, [...r.attributes]);
  if (r.userVerification === true) m.set(REQUEST_KEY.userVerification, true);
  return m;
}

const NAME_BY_KEY = new Map<unknown, string>(Object.entries(REQUEST_KEY).map(([k, v]) => [v, k]));

export function requestFromCbor(m: unknown): TapRequest {
  if (!(m instanceof Map)) malformed('the request is a map');
  const obj: Record<string, unknown> = {};
  for (const [k, v] of m) {
    const name = NAME_BY_KEY.get(k);
    if (name === undefined) malformed(`unknown request key ${String(k)}`);
    obj[name] = v;
  }
  return validateRequest(obj);
}

// ---- frames ----

export interface ReaderHello {
  readonly version: number;
  readonly key: Uint8Array;
  readonly nonce: Uint8Array;
}

export interface WalletHello {
  readonly key: Uint8Array;
  readonly nonce: Uint8Array;
}

/** A decoded frame: its type and elements after the type. */
export interface Frame {
  readonly type: MessageType;
  readonly items: readonly unknown[];
}

export function encodeReaderHello(h: ReaderHello): Uint8Array {
  return encodeCbor([MSG.readerHello, h.version, h.key, h.nonce]);
}

export function encodeWalletHello(h: WalletHello): Uint8Array {
  return encodeCbor([MSG.walletHello, h.key, h.nonce]);
}

export function encodeSealed(type: typeof MSG.readerAuth | typeof MSG.walletReply | typeof MSG.readerResult, sealed: Uint8Array): Uint8Array {
  return encodeCbor([type, sealed]);
}

/** A plaintext error frame: what a peer says when it cannot (or may not yet) encrypt. */
export function encodeErrorFrame(code: string): Uint8Array {
  return encodeCbor([MSG.error, PEER_CODE.test(code) ? code : 'TAP_MESSAGE_MALFORMED']);
}

/**
 * Decodes any frame: size first (nothing larger than MAX_FRAME is parsed), then strict CBOR, then
 * the frame's own limit. Throws TAP_FRAME_TOO_LARGE, TAP_FRAME_TRUNCATED or TAP_MESSAGE_MALFORMED.
 */
export function decodeFrame(bytes: Uint8Array): Frame {
  if (!(bytes instanceof Uint8Array)) malformed('a frame is bytes');
  if (bytes.length > MAX_FRAME) throw tapError('TAP_FRAME_TOO_LARGE', `a tap frame is at most ${MAX_FRAME} bytes`);
  if (bytes.length === 0) throw tapError('TAP_FRAME_TRUNCATED', 'the frame is empty');
  // The type is the second byte of every frame (array header, then a one-byte uint): the frame's
  // own limit applies before a single item is decoded.
  const peeked = bytes.length >= 2 && (bytes[0] as number) >= 0x81 && (bytes[0] as number) <= 0x85 ? (bytes[1] as MessageType) : undefined;
  if (peeked !== undefined && peeked in FRAME_LIMIT && bytes.length > FRAME_LIMIT[peeked]) {
    throw tapError('TAP_FRAME_TOO_LARGE', `frame type ${peeked} is at most ${FRAME_LIMIT[peeked]} bytes`);
  }
  let v: unknown;
  try {
    v = decodeCbor(bytes, { ...FRAME_DECODE, deterministic: true, allowedTags: [] });
  } catch (e) {
    throw frameError(e, 'the frame');
  }
  if (!Array.isArray(v) || v.length < 1) malformed('a frame is an array starting with its type');
  const type = v[0] as MessageType;
  if (typeof type !== 'number' || !(type in FRAME_LIMIT)) malformed('unknown frame type');
  if (bytes.length > FRAME_LIMIT[type]) throw tapError('TAP_FRAME_TOO_LARGE', `frame type ${type} is at most ${FRAME_LIMIT[type]} bytes`);
  return { type, items: v.slice(1) };
}

/** Throws the code a frame of the wrong type deserves: a peer's error, or a reordered message. */
export function expectType(f: Frame, type: MessageType): readonly unknown[] {
  if (f.type === type) return f.items;
  if (f.type === MSG.error) {
    const code = f.items[0];
    const peer = typeof code === 'string' && PEER_CODE.test(code) && f.items.length === 1 ? code : 'TAP_MESSAGE_MALFORMED';
    throw tapError('TAP_DECLINED', `the peer aborted the tap: ${peer}`, undefined, { reason: peer, by: 'peer' });
  }
  throw tapError('TAP_UNEXPECTED_MESSAGE', `expected message type ${type}, got ${f.type}`);
}

function point(v: unknown, what: string): Uint8Array {
  if (!(v instanceof Uint8Array) || v.length !== EPHEMERAL_KEY_LENGTH || v[0] !== 0x04) {
    throw tapError('TAP_KEY_INVALID', `${what} must be an uncompressed P-256 point (65 bytes, 0x04 ‖ x ‖ y)`);
  }
  return v;
}

export function decodeReaderHello(bytes: Uint8Array): ReaderHello {
  const items = expectType(decodeFrame(bytes), MSG.readerHello);
  // The version comes first so a newer reader gets a precise answer, whatever else it sends.
  if (items[0] !== TAP_VERSION) throw tapError('TAP_VERSION_UNSUPPORTED', `tap protocol version ${String(items[0])} is not supported (this side speaks ${TAP_VERSION})`);
  if (items.length !== 3) malformed('ReaderHello is [1, version, eReaderKey, readerNonce]');
  return { version: TAP_VERSION, key: point(items[1], 'eReaderKey'), nonce: bstr(items[2], NONCE_LENGTH, 'readerNonce') };
}

export function decodeWalletHello(bytes: Uint8Array): WalletHello {
  const items = expectType(decodeFrame(bytes), MSG.walletHello);
  if (items.length !== 2) malformed('WalletHello is [2, eWalletKey, walletNonce]');
  return { key: point(items[0], 'eWalletKey'), nonce: bstr(items[1], NONCE_LENGTH, 'walletNonce') };
}

/** The ciphertext ‖ tag of a sealed frame (ReaderAuth, WalletReply, ReaderResult). */
export function decodeSealed(bytes: Uint8Array, type: typeof MSG.readerAuth | typeof MSG.walletReply | typeof MSG.readerResult): Uint8Array {
  const items = expectType(decodeFrame(bytes), type);
  if (items.length !== 1) malformed('a sealed frame is [type, ciphertext]');
  const c = items[0];
  if (!(c instanceof Uint8Array)) malformed('the ciphertext is a byte string');
  if (c.length < 16) throw tapError('TAP_FRAME_TRUNCATED', 'the ciphertext is shorter than its tag');
  return c;
}

// ---- plaintext bodies ----

function decodeBody(bytes: Uint8Array, what: string): unknown[] {
  let v: unknown;
  try {
    v = decodeCbor(bytes, { ...BODY_DECODE, deterministic: true, allowedTags: [] });
  } catch (e) {
    // A body that decrypted but does not parse was made by a faulty peer, never cut in transit.
    throw tapError('TAP_MESSAGE_MALFORMED', `${what} is not well-formed`, e);
  }
  if (!Array.isArray(v)) malformed(`${what} is an array`);
  return v;
}

/** Payload of the reader's COSE_Sign1: [th2, request]. */
export function encodeReaderAuthPayload(th2: Uint8Array, request: TapRequest): Uint8Array {
  return encodeCbor([th2, requestToCbor(request)]);
}

export function decodeReaderAuthPayload(bytes: Uint8Array): { th2: Uint8Array; request: TapRequest } {
  const v = decodeBody(bytes, 'the ReaderAuthentication payload');
  if (v.length !== 2) malformed('the ReaderAuthentication payload is [th2, request]');
  return { th2: bstr(v[0], TH_LENGTH, 'th2'), request: requestFromCbor(v[1]) };
}

/** Seconds since the holder's last user verification, as the secure element states it; null when none. */
export type UserVerification = number | null;

export interface Presentation {
  readonly kind: 'presentation';
  readonly credential: Uint8Array;
  readonly proof: Uint8Array;
  readonly th3: Uint8Array;
  readonly userVerification: UserVerification;
}

export interface Decline {
  readonly kind: 'decline';
  readonly reason: string;
}

export type WalletReply = Presentation | Decline;

export function encodeWalletReply(r: WalletReply): Uint8Array {
  if (r.kind === 'decline') return encodeCbor([REPLY.decline, PEER_CODE.test(r.reason) ? r.reason : 'TAP_DECLINED']);
  return encodeCbor([REPLY.presentation, r.credential, r.proof, r.th3, r.userVerification]);
}

export function decodeWalletReply(bytes: Uint8Array): WalletReply {
  const v = decodeBody(bytes, 'the WalletReply');
  if (v[0] === REPLY.decline) {
    if (v.length !== 2 || typeof v[1] !== 'string' || !PEER_CODE.test(v[1])) malformed('a Decline is [2, tap code]');
    return { kind: 'decline', reason: v[1] };
  }
  if (v[0] !== REPLY.presentation || v.length !== 5) malformed('a Presentation is [1, credential, proof, th3, uv]');
  const uv = v[4];
  if (uv !== null && (typeof uv !== 'number' || !Number.isSafeInteger(uv) || uv < 0)) malformed('uv is seconds since user verification, or null');
  return {
    kind: 'presentation',
    credential: bstr(v[1], [1, FRAME_LIMIT[MSG.walletReply]], 'credential'),
    proof: bstr(v[2], SIGNATURE_LENGTH, 'proof'),
    th3: bstr(v[3], TH_LENGTH, 'th3'),
    userVerification: uv as UserVerification,
  };
}

/** The reader's answer: decision, reason and what the holder's phone may show. */
export interface TapResult {
  readonly allow: boolean;
  readonly reason: string;
  /** Uses left on the credential after this one, when it is counted. */
  readonly usesLeft?: number;
}

export function encodeResult(r: TapResult): Uint8Array {
  const info = new Map<number, unknown>();
  if (r.usesLeft !== undefined) info.set(1, r.usesLeft);
  return encodeCbor([r.allow, r.reason, info]);
}

export function decodeResult(bytes: Uint8Array): TapResult {
  const v = decodeBody(bytes, 'the ReaderResult');
  if (v.length !== 3 || typeof v[0] !== 'boolean' || typeof v[1] !== 'string' || !REASON.test(v[1]) || !(v[2] instanceof Map)) malformed('a ReaderResult is [allow, reason, info]');
  const uses = (v[2] as Map<unknown, unknown>).get(1);
  if (uses !== undefined && (typeof uses !== 'number' || !Number.isSafeInteger(uses) || uses < 0)) malformed('usesLeft is an unsigned integer');
  return { allow: v[0], reason: v[1], ...(uses !== undefined && { usesLeft: uses as number }) };
}

/** Exactly what the holder's secure element signs (docs/tap-protocol.md §4, HolderAuthentication). */
export function holderSignedData(context: string, th3: Uint8Array, credentialHash: Uint8Array, uv: UserVerification): Uint8Array {
  return encodeCbor([context, th3, credentialHash, uv]);
}
