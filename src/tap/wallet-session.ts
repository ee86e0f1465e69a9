/**
 * The wallet's state machine for one tap (docs/tap-protocol.md §5.2):
 *
 *   new ──M1──▶ hello-sent ──M3──▶ replied ──M5──▶ done
 *     any error ──▶ failed (answered with an error frame or an encrypted decline)
 *
 * handle() never throws for what a peer sends: every frame gets an answer (the next message, an
 * encrypted Decline, or a plaintext error frame) and `outcome` records what happened and why. The
 * wallet reveals nothing before the reader has proven its identity over this very transcript, and
 * then only what the Presenter chooses to.
 */
import { bytesEqual } from '../core/bytes.ts';
import { isCityTrustError, type ErrorCode } from '../core/errors.ts';
import { coseVerifierKey, decodeCbor, exportRawPublicKey, sha256, verifyCoseSign1, CborTag } from '../crypto/index.ts';
import { HOLDER_AUTH_CONTEXT, MAX_CHAIN, MSG, NONCE_LENGTH, READER_AUTH_CONTEXT, SIGNATURE_LENGTH, X5CHAIN } from './constants.ts';
import { tapError } from './errors.ts';
import {
  decodeReaderAuthPayload,
  decodeReaderHello,
  decodeResult,
  decodeSealed,
  encodeErrorFrame,
  encodeSealed,
  encodeWalletHello,
  encodeWalletReply,
  holderSignedData,
  type TapRequest,
  type TapResult,
} from './messages.ts';
import { importEphemeral } from './reader-session.ts';
import { systemRandomness, type TapRandomness } from './random.ts';
import type { ReplayCache } from './replay-cache.ts';
import { deriveSessionKeys, SessionCipher, Transcript } from './session-crypto.ts';
import type { AuthenticatedReader, Presenter, ReaderAuthenticator, ReaderIdentity } from './types.ts';

const ENCODER = new TextEncoder();
const READER_AAD = ENCODER.encode(READER_AUTH_CONTEXT);
const EMPTY = new Uint8Array(0);
const READER_AUTH_LIMITS = { maxBytes: 4096, maxDepth: 4, maxItems: 32 };

export interface WalletSessionOptions {
  readonly authenticator: ReaderAuthenticator;
  readonly presenter: Presenter;
  /** Milliseconds since the epoch (the wallet's clock), for validating the reader's certificate. */
  readonly now: () => number;
  readonly random?: TapRandomness;
  /** Reader ephemeral keys seen before (TAP_REPLAYED); share one per wallet. */
  readonly replayCache?: ReplayCache;
}

export type WalletState = 'new' | 'hello-sent' | 'replied' | 'done' | 'failed';

/** What the wallet knows about a tap once it is over (for its own log and the holder's screen). */
export interface WalletOutcome {
  readonly state: WalletState;
  /** Why the tap failed or was declined (a TAP_* code). */
  readonly code?: ErrorCode | string;
  readonly reader?: ReaderIdentity;
  readonly request?: TapRequest;
  /** SHA-256 of the credential presented, if one was. */
  readonly presented?: Uint8Array;
  /** The reader's decision, received inside the channel. */
  readonly result?: TapResult;
  readonly sessionId?: string;
}

export class WalletSession {
  readonly #opts: WalletSessionOptions;
  readonly #transcript = new Transcript();
  #state: WalletState = 'new';
  #cipher: SessionCipher | undefined;
  #outcome: { -readonly [K in keyof WalletOutcome]: WalletOutcome[K] } = { state: 'new' };

  constructor(opts: WalletSessionOptions) {
    this.#opts = opts;
  }

  get state(): WalletState {
    return this.#state;
  }

  get outcome(): WalletOutcome {
    return { ...this.#outcome, state: this.#state };
  }

  /** Answers one frame from the reader. Never throws for peer input; see `outcome`. */
  async handle(frame: Uint8Array): Promise<Uint8Array> {
    try {
      switch (this.#state) {
        case 'new':
          return this.#hello(frame);
        case 'hello-sent':
          return await this.#readerAuth(frame);
        case 'replied':
          return this.#result(frame);
        default:
          throw tapError('TAP_UNEXPECTED_MESSAGE', `the tap is over (${this.#state}); start a new one with a ReaderHello`);
      }
    } catch (e) {
      const code = isCityTrustError(e) && e.code.startsWith('TAP_') ? (e.code === 'TAP_DECLINED' ? String(e.details?.reason ?? e.code) : e.code) : 'TAP_MESSAGE_MALFORMED';
      this.#fail(code);
      return encodeErrorFrame(code);
    }
  }

  #fail(code: string): void {
    this.#state = 'failed';
    this.#outcome.code ??= code;
  }

  #hello(m1: Uint8Array): Uint8Array {
    const hello = decodeReaderHello(m1);
    if (this.#opts.replayCache && !this.#opts.replayCache.remember(hello.key)) throw tapError('TAP_REPLAYED', 'this reader ephemeral key was used in an earlier tap');
    const peer = importEphemeral(hello.key);
    const random = this.#opts.random ?? systemRandomness;
    const eph = random.ephemeralKeyPair();
    const raw = exportRawPublicKey(eph.publicKey);
    if (bytesEqual(raw, hello.key)) throw tapError('TAP_REFLECTED', 'the reader hello carries our own ephemeral key');
    const m2 = encodeWalletHello({ key: raw, nonce: random.nonce(NONCE_LENGTH) });
    this.#transcript.add(m1);
    this.#transcript.add(m2);
    const th2 = this.#transcript.current();
    this.#outcome.sessionId = Buffer.from(th2.subarray(0, 8)).toString('hex');
    this.#cipher = new SessionCipher(deriveSessionKeys(eph.privateKey, peer, th2), 'wallet');
    this.#state = 'hello-sent';
    return m2;
  }

  async #readerAuth(m3: Uint8Array): Promise<Uint8Array> {
    const cipher = this.#cipher as SessionCipher;
    const th2 = this.#transcript.current();
    const cose = cipher.open(decodeSealed(m3, MSG.readerAuth), th2);
    this.#transcript.add(m3);
    const th3 = this.#transcript.current();
    const sealReply = (body: Uint8Array): Uint8Array => {
      const m4 = encodeSealed(MSG.walletReply, cipher.seal(body, th3));
      this.#transcript.add(m4);
      return m4;
    };

    try {
      const reader = await this.#authenticateReader(cose, th2, th3);
      this.#outcome.reader = reader.identity;
      this.#outcome.request = reader.request;
      const choice = await this.#opts.presenter.present(reader);
      if ('decline' in choice) throw tapError('TAP_DECLINED', 'the wallet presents nothing to this reader', undefined, { reason: choice.decline });
      const credentialHash = sha256(choice.credential);
      const proof = await choice.sign(holderSignedData(HOLDER_AUTH_CONTEXT, th3, credentialHash, choice.userVerification));
      if (!(proof instanceof Uint8Array) || proof.length !== SIGNATURE_LENGTH) throw tapError('TAP_STATE_INVALID', 'the secure element returned no raw ES256 signature');
      this.#outcome.presented = credentialHash;
      this.#state = 'replied';
      return sealReply(encodeWalletReply({ kind: 'presentation', credential: choice.credential, proof, th3, userVerification: choice.userVerification }));
    } catch (e) {
      // The channel works, so the reader hears why inside it. A decline tells it nothing about the holder.
      const code = !isCityTrustError(e) ? 'TAP_DECLINED' : e.code === 'TAP_DECLINED' ? String(e.details?.reason ?? e.code) : e.code.startsWith('TAP_') ? e.code : 'TAP_DECLINED';
      this.#fail(code);
      return sealReply(encodeWalletReply({ kind: 'decline', reason: code }));
    }
  }

  /**
   * ReaderAuthentication: chain → identity (the authenticator), then the COSE_Sign1 under the
   * certified key with ES256 only, then the echoed TH2. The key comes from the validated chain,
   * never from the message, and the algorithm from our allow-list, never from the header.
   */
  async #authenticateReader(cose: Uint8Array, th2: Uint8Array, th3: Uint8Array): Promise<AuthenticatedReader> {
    const chain = x5chainOf(cose);
    const identity = await this.#opts.authenticator.authenticate(chain, this.#opts.now());
    let payload: Uint8Array;
    try {
      ({ payload } = verifyCoseSign1(cose, {
        key: coseVerifierKey('ES256', identity.publicKey),
        algorithms: ['ES256'],
        externalAad: READER_AAD,
        requireTag: true,
        limits: READER_AUTH_LIMITS,
      }));
    } catch (e) {
      const code = isCityTrustError(e) && (e.code === 'COSE_MALFORMED' || e.code.startsWith('CBOR_')) ? 'TAP_MESSAGE_MALFORMED' : 'TAP_READER_SIGNATURE_INVALID';
      throw tapError(code, 'the reader signature over the transcript does not verify with its certified key', e);
    }
    const { th2: signedTh2, request } = decodeReaderAuthPayload(payload);
    if (!bytesEqual(signedTh2, th2)) throw tapError('TAP_TRANSCRIPT_MISMATCH', 'the reader signed another transcript than ours');
    return { identity, request, th3, sessionId: this.#outcome.sessionId as string };
  }

  #result(m5: Uint8Array): Uint8Array {
    const th4 = this.#transcript.current();
    const body = (this.#cipher as SessionCipher).open(decodeSealed(m5, MSG.readerResult), th4);
    this.#outcome.result = decodeResult(body);
    this.#state = 'done';
    return EMPTY;
  }
}

/** The reader's chain from the protected header (RFC 9360 x5chain: one bstr, or an array of 2+). */
function x5chainOf(cose: Uint8Array): Uint8Array[] {
  let env: unknown;
  let prot: unknown;
  try {
    env = decodeCbor(cose, { ...READER_AUTH_LIMITS, allowedTags: [18] });
    const bytes = env instanceof CborTag && Array.isArray(env.value) ? env.value[0] : undefined;
    prot = bytes instanceof Uint8Array ? decodeCbor(bytes, { ...READER_AUTH_LIMITS, allowedTags: [] }) : undefined;
  } catch (e) {
    throw tapError('TAP_MESSAGE_MALFORMED', 'ReaderAuth is not a COSE_Sign1', e);
  }
  const x5 = prot instanceof Map ? prot.get(X5CHAIN) : undefined;
  const chain = x5 instanceof Uint8Array ? [x5] : Array.isArray(x5) && x5.length >= 2 && x5.length <= MAX_CHAIN && x5.every((c) => c instanceof Uint8Array) ? (x5 as Uint8Array[]) : undefined;
  if (chain === undefined) throw tapError('TAP_MESSAGE_MALFORMED', `ReaderAuth carries no x5chain of 1..${MAX_CHAIN} certificates in its protected header`);
  return chain;
}

