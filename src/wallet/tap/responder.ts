/**
 * The wallet's tap responder: answers a reader over any transport, one WalletSession per tap.
 * A ReaderHello always starts a new tap (the previous one, finished or not, is dropped); any other
 * frame goes to the tap in progress, or is answered TAP_UNEXPECTED_MESSAGE when there is none.
 */
import type { Clock } from '../../core/clock.ts';
import { CityTrustError, isCityTrustError } from '../../core/errors.ts';
import type { CredentialClaims } from '../../credentials/device.ts';
import { MSG } from '../../tap/constants.ts';
import { decodeFrame, encodeErrorFrame } from '../../tap/messages.ts';
import type { TapRandomness } from '../../tap/random.ts';
import { ReplayCache } from '../../tap/replay-cache.ts';
import type { TapResponder } from '../../tap/link.ts';
import type { AuthenticatedReader, PresentationInput, Presenter, ReaderAuthenticator } from '../../tap/types.ts';
import { WalletSession, type WalletOutcome } from '../../tap/wallet-session.ts';
import type { UserVerification } from '../../tap/messages.ts';
import { selectCredential, type RevealPolicy } from './select.ts';

/** One credential the wallet can present, with its secure-element signer. */
export interface TapCredential {
  /** The credential exactly as provisioned (CWT in COSE_Sign1). */
  readonly bytes: Uint8Array;
  readonly claims: CredentialClaims;
  /**
   * Signs with the holder key in the secure element (ES256, raw r ‖ s). Throws
   * WALLET_USER_VERIFICATION_REQUIRED when the credential's policy wants a fresher verification.
   */
  sign(data: Uint8Array): Promise<Uint8Array>;
  /** Seconds since the user last verified on this device, as the secure element knows it; null if never. */
  userVerification(): UserVerification;
}

/** Where the responder finds credentials: the wallet's multi-application store. */
export interface TapCredentialSource {
  credentials(): Iterable<TapCredential> | Promise<Iterable<TapCredential>>;
}

export interface WalletTapResponderOptions {
  readonly authenticator: ReaderAuthenticator;
  readonly credentials: TapCredentialSource;
  readonly clock: Clock;
  readonly policy?: RevealPolicy;
  /** Called once per tap with what happened (for the wallet's history and the holder's screen). */
  readonly onOutcome?: (outcome: WalletOutcome) => void;
  /** Only the test-vector test passes another source. */
  readonly random?: TapRandomness;
  readonly replayCache?: ReplayCache;
}

export class WalletTapResponder implements TapResponder {
  readonly #opts: WalletTapResponderOptions;
  readonly #replay: ReplayCache;
  readonly #presenter: Presenter;
  #session: WalletSession | undefined;

  constructor(opts: WalletTapResponderOptions) {
    this.#opts = opts;
    this.#replay = opts.replayCache ?? new ReplayCache();
    this.#presenter = { present: (reader) => this.#present(reader) };
  }

  async handle(message: Uint8Array): Promise<Uint8Array> {
    // A ReaderHello is a CBOR array whose second byte is type 1 (docs/tap-protocol.md §2).
    if (message.length >= 2 && ((message[0] as number) & 0xe0) === 0x80 && message[1] === MSG.readerHello) {
      this.#finish();
      this.#session = new WalletSession({
        authenticator: this.#opts.authenticator,
        presenter: this.#presenter,
        now: () => this.#opts.clock.now(),
        replayCache: this.#replay,
        ...(this.#opts.random !== undefined && { random: this.#opts.random }),
      });
    }
    const s = this.#session;
    if (s === undefined) return this.#stray(message);
    const answer = await s.handle(message);
    if (s.state === 'done' || s.state === 'failed') this.#finish();
    return answer;
  }

  /** A frame with no tap in progress: name its fault as precisely as a session would, and report it. */
  #stray(message: Uint8Array): Uint8Array {
    let code = 'TAP_UNEXPECTED_MESSAGE';
    try {
      decodeFrame(message);
    } catch (e) {
      if (isCityTrustError(e)) code = e.code;
    }
    this.#opts.onOutcome?.({ state: 'failed', code });
    return encodeErrorFrame(code);
  }

  #finish(): void {
    const s = this.#session;
    this.#session = undefined;
    if (s !== undefined && s.state !== 'new') this.#opts.onOutcome?.(s.outcome);
  }

  async #present(reader: AuthenticatedReader): Promise<PresentationInput | { readonly decline: string }> {
    const all = [...(await this.#opts.credentials.credentials())];
    const choice = selectCredential(all, reader, this.#opts.clock.now(), this.#opts.policy);
    if ('decline' in choice) return choice;
    return {
      credential: choice.bytes,
      userVerification: choice.userVerification(),
      sign: async (data) => {
        try {
          return await choice.sign(data);
        } catch (e) {
          if (isCityTrustError(e, 'WALLET_USER_VERIFICATION_REQUIRED')) throw new CityTrustError('TAP_USER_VERIFICATION_REQUIRED', 'the credential needs a fresh user verification', { cause: e });
          throw e;
        }
      },
    };
  }
}
