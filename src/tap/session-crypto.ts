/**
 * Transcript, key schedule and the record layer of a tap (docs/tap-protocol.md §3).
 *
 *   TH_n   = SHA-256(M1 ‖ … ‖ M_n)        over the frames exactly as sent
 *   Z      = ECDH(e_R, E_W) = ECDH(e_W, E_R)                      (SEC 1 §3.3.1)
 *   SKR    = HKDF-SHA256(IKM = Z, salt = TH2, info = "citytrust-tap/1 SKReader", L = 32)
 *   SKW    = HKDF-SHA256(IKM = Z, salt = TH2, info = "citytrust-tap/1 SKWallet", L = 32)
 *   IV     = direction (8 bytes) ‖ counter (4 bytes BE, from 1)       (ISO 18013-5 §9.1.1.5)
 *   AAD    = TH of every frame before this one
 *
 * Salting with TH2 makes the keys a function of both hellos: change a byte of either and the two
 * sides hold different keys, so nothing encrypted afterwards authenticates. The AAD binds each
 * sealed message to the whole transcript before it, and the implicit counters make a reordered,
 * repeated or skipped message fail authentication.
 */
import { createHash, type Hash, type KeyObject } from 'node:crypto';
import { wipe } from '../core/bytes.ts';
import { aesGcmOpen, aesGcmSeal, ecdhSharedSecret, hkdfSha256, secretKey } from '../crypto/index.ts';
import { DIRECTION, INFO_READER_TO_WALLET, INFO_WALLET_TO_READER, type Direction } from './constants.ts';
import { tapError } from './errors.ts';

const ENCODER = new TextEncoder();
const INFO_RW = ENCODER.encode(INFO_READER_TO_WALLET);
const INFO_WR = ENCODER.encode(INFO_WALLET_TO_READER);

/** The running transcript hash: both sides feed it the same frames in the same order. */
export class Transcript {
  readonly #hash: Hash = createHash('sha256');

  add(frame: Uint8Array): void {
    this.#hash.update(frame);
  }

  /** TH over everything added so far (the running hash continues). */
  current(): Uint8Array {
    return new Uint8Array(this.#hash.copy().digest());
  }
}

export interface DirectionKeys {
  readonly readerToWallet: KeyObject;
  readonly walletToReader: KeyObject;
}

/**
 * The two session keys from the ECDH secret and TH2. The JS bytes of Z and of the raw keys are wiped
 * before returning; Z's KeyObject (like the session keys' own) lives in native memory, unreachable
 * once this returns, until the collector frees it — JS cannot wipe a KeyObject.
 */
export function deriveSessionKeys(ephemeralPrivate: KeyObject, peerEphemeral: KeyObject, th2: Uint8Array): DirectionKeys {
  const z = ecdhSharedSecret(ephemeralPrivate, peerEphemeral);
  let rw: Uint8Array | undefined;
  let wr: Uint8Array | undefined;
  try {
    // Z as a secret KeyObject: node's hkdfSync tells bytes from a KeyObject by throwing and catching
    // internally, and that throw's stack trace at a tap's call depth costs more than the HKDF.
    const ikm = secretKey(z);
    rw = hkdfSha256(ikm, th2, INFO_RW, 32);
    wr = hkdfSha256(ikm, th2, INFO_WR, 32);
    return { readerToWallet: secretKey(rw), walletToReader: secretKey(wr) };
  } finally {
    wipe(z);
    wipe(rw);
    wipe(wr);
  }
}

/** IV = direction identifier (8 bytes BE) ‖ counter (4 bytes BE). */
export function sessionIv(direction: Direction, counter: number): Uint8Array {
  const iv = new Uint8Array(12);
  const view = new DataView(iv.buffer);
  view.setUint32(4, direction);
  view.setUint32(8, counter);
  return iv;
}

/**
 * One side's record layer: seals with its own direction and counter, opens the peer's with the
 * peer's. Counters are implicit (never on the wire) and only advance; a counter is never reused
 * under one key because a session is a one-shot object and each value is taken once.
 */
export class SessionCipher {
  readonly #sendKey: KeyObject;
  readonly #recvKey: KeyObject;
  readonly #sendDir: Direction;
  readonly #recvDir: Direction;
  #sent = 0;
  #received = 0;

  constructor(keys: DirectionKeys, role: 'reader' | 'wallet') {
    const reader = role === 'reader';
    this.#sendKey = reader ? keys.readerToWallet : keys.walletToReader;
    this.#recvKey = reader ? keys.walletToReader : keys.readerToWallet;
    this.#sendDir = reader ? DIRECTION.readerToWallet : DIRECTION.walletToReader;
    this.#recvDir = reader ? DIRECTION.walletToReader : DIRECTION.readerToWallet;
  }

  seal(plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
    this.#sent += 1;
    return aesGcmSeal(this.#sendKey, sessionIv(this.#sendDir, this.#sent), plaintext, aad);
  }

  open(sealed: Uint8Array, aad: Uint8Array): Uint8Array {
    // The counter is consumed even when opening fails: the session is over then anyway.
    this.#received += 1;
    try {
      return aesGcmOpen(this.#recvKey, sessionIv(this.#recvDir, this.#received), sealed, aad);
    } catch (e) {
      throw tapError('TAP_MESSAGE_AUTH_FAILED', 'the message did not authenticate under this session', e);
    }
  }
}
