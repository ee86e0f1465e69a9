/**
 * The reader's state machine for one tap (docs/tap-protocol.md §5.1):
 *
 *   new ──hello()──▶ hello-sent ──authenticate(M2)──▶ auth-sent ──reply(M4)──▶ replied ──finish()──▶ done
 *     any error ─────────────────────────────────────────────────────────────────────────▶ failed
 *
 * A session is used for one tap and thrown away; every step taken out of order, or after a
 * failure, throws TAP_STATE_INVALID. Nothing here decides about credentials: reply() hands the
 * presentation and the exact bytes the holder must have signed to the reader SDK.
 */
import type { KeyObject } from 'node:crypto';
import { bytesEqual } from '../core/bytes.ts';
import { isCityTrustError } from '../core/errors.ts';
import { createCoseSign1, exportRawPublicKey, importRawPublicKey, sha256, type KeyPair } from '../crypto/index.ts';
import { HOLDER_AUTH_CONTEXT, MSG, NONCE_LENGTH, READER_AUTH_CONTEXT, TAP_VERSION, X5CHAIN } from './constants.ts';
import { tapError } from './errors.ts';
import {
  decodeSealed,
  decodeWalletHello,
  decodeWalletReply,
  encodeReaderAuthPayload,
  encodeReaderHello,
  encodeResult,
  encodeSealed,
  holderSignedData,
  type Decline,
  type Presentation,
  type TapRequest,
  type TapResult,
} from './messages.ts';
import { systemRandomness, type TapRandomness } from './random.ts';
import type { ReplayCache } from './replay-cache.ts';
import { deriveSessionKeys, SessionCipher, Transcript } from './session-crypto.ts';
import type { ReaderKeyMaterial } from './types.ts';

const ENCODER = new TextEncoder();
const READER_AAD = ENCODER.encode(READER_AUTH_CONTEXT);

export interface ReaderSessionOptions {
  readonly identity: ReaderKeyMaterial;
  readonly request: TapRequest;
  /** Only the test-vector test passes another source. */
  readonly random?: TapRandomness;
  /** Wallet ephemeral keys seen before (TAP_REPLAYED); share one per reader. */
  readonly replayCache?: ReplayCache;
}

/** A presentation whose transcript echo matched, with the bytes its proof must sign. */
export interface ReceivedPresentation extends Presentation {
  /** HolderAuthentication: verify `proof` over exactly these bytes with the credential's holder key. */
  readonly signedData: Uint8Array;
}

export type ReceivedReply = ReceivedPresentation | Decline;

type State = 'new' | 'hello-sent' | 'auth-sent' | 'replied' | 'done' | 'failed';

export class ReaderSession {
  readonly #opts: ReaderSessionOptions;
  readonly #transcript = new Transcript();
  #state: State = 'new';
  #ephemeral: KeyPair | undefined;
  #ephemeralRaw: Uint8Array | undefined;
  #cipher: SessionCipher | undefined;
  #sessionId = '';

  constructor(opts: ReaderSessionOptions) {
    this.#opts = opts;
  }

  get state(): State {
    return this.#state;
  }

  /** First 8 bytes of TH2 in hex, once known: the same on both sides, for correlating logs. */
  get sessionId(): string {
    return this.#sessionId;
  }

  /** M1: ReaderHello. */
  hello(): Uint8Array {
    return this.#step('new', () => {
      const random = this.#opts.random ?? systemRandomness;
      this.#ephemeral = random.ephemeralKeyPair();
      this.#ephemeralRaw = exportRawPublicKey(this.#ephemeral.publicKey);
      const m1 = encodeReaderHello({ version: TAP_VERSION, key: this.#ephemeralRaw, nonce: random.nonce(NONCE_LENGTH) });
      this.#transcript.add(m1);
      this.#state = 'hello-sent';
      return m1;
    });
  }

  /** M2 → M3: derive the session keys, then prove the reader's identity over TH2 inside the channel. */
  authenticate(m2: Uint8Array): Promise<Uint8Array> {
    return this.#stepAsync('hello-sent', async () => {
      const hello = decodeWalletHello(m2);
      // A peer sending our own key back is reflecting (only an attacker does); refuse before any work.
      if (bytesEqual(hello.key, this.#ephemeralRaw as Uint8Array)) throw tapError('TAP_REFLECTED', 'the wallet hello carries our own ephemeral key');
      if (this.#opts.replayCache && !this.#opts.replayCache.remember(hello.key)) throw tapError('TAP_REPLAYED', 'this wallet ephemeral key was used in an earlier tap');
      const peer = importEphemeral(hello.key);
      this.#transcript.add(m2);
      const th2 = this.#transcript.current();
      this.#sessionId = Buffer.from(th2.subarray(0, 8)).toString('hex');
      this.#cipher = new SessionCipher(deriveSessionKeys((this.#ephemeral as KeyPair).privateKey, peer, th2), 'reader');
      this.#ephemeral = undefined;
      const { chain, signer } = this.#opts.identity;
      const readerAuth = await createCoseSign1({
        payload: encodeReaderAuthPayload(th2, this.#opts.request),
        signer,
        // RFC 9360 §2: one certificate as a bstr, several as an array, leaf first; protected, so the
        // signature binds the chain as TLS 1.3's CertificateVerify binds the Certificate message.
        protectedHeaders: new Map([[X5CHAIN, chain.length === 1 ? chain[0] : [...chain]]]),
        externalAad: READER_AAD,
      });
      const m3 = encodeSealed(MSG.readerAuth, this.#cipher.seal(readerAuth, th2));
      this.#transcript.add(m3);
      this.#state = 'auth-sent';
      return m3;
    });
  }

  /** M4: the wallet's presentation (with its transcript echo checked) or its decline. */
  reply(m4: Uint8Array): ReceivedReply {
    return this.#step('auth-sent', () => {
      const th3 = this.#transcript.current();
      const body = (this.#cipher as SessionCipher).open(decodeSealed(m4, MSG.walletReply), th3);
      this.#transcript.add(m4);
      const reply = decodeWalletReply(body);
      this.#state = 'replied';
      if (reply.kind === 'decline') return reply;
      // The AEAD already proved both sides hold TH3 unless someone re-encrypts in the middle; the
      // echo names that case precisely before the proof is checked (a forged proof fails anyway).
      if (!bytesEqual(reply.th3, th3)) throw tapError('TAP_TRANSCRIPT_MISMATCH', 'the wallet bound its proof to another transcript');
      return { ...reply, signedData: holderSignedData(HOLDER_AUTH_CONTEXT, th3, sha256(reply.credential), reply.userVerification) };
    });
  }

  /** M5: the decision, inside the channel. */
  finish(result: TapResult): Uint8Array {
    return this.#step('replied', () => {
      const th4 = this.#transcript.current();
      const m5 = encodeSealed(MSG.readerResult, (this.#cipher as SessionCipher).seal(encodeResult(result), th4));
      this.#state = 'done';
      return m5;
    });
  }

  /** Ends the session early (e.g. after a decline); later calls throw TAP_STATE_INVALID. */
  abort(): void {
    this.#state = 'failed';
    this.#ephemeral = undefined;
  }

  #step<T>(expected: State, fn: () => T): T {
    if (this.#state !== expected) {
      // Misuse ends the session: a half-used session is never trusted again.
      const was = this.#state;
      this.abort();
      throw tapError('TAP_STATE_INVALID', `the reader session is ${was}, not ${expected}`);
    }
    try {
      return fn();
    } catch (e) {
      this.abort();
      throw e;
    }
  }

  async #stepAsync<T>(expected: State, fn: () => Promise<T>): Promise<T> {
    if (this.#state !== expected) {
      // Misuse ends the session: a half-used session is never trusted again.
      const was = this.#state;
      this.abort();
      throw tapError('TAP_STATE_INVALID', `the reader session is ${was}, not ${expected}`);
    }
    try {
      return await fn();
    } catch (e) {
      this.abort();
      throw e;
    }
  }
}

/** Imports a peer's ephemeral point; a point off the curve is TAP_KEY_INVALID (invalid-curve attacks stop here). */
export function importEphemeral(raw: Uint8Array): KeyObject {
  try {
    return importRawPublicKey('P-256', raw);
  } catch (e) {
    throw tapError('TAP_KEY_INVALID', 'the ephemeral key is not a point of P-256', isCityTrustError(e) ? e : undefined);
  }
}
