/**
 * The small interfaces the protocol core is written against. The reader SDK, the wallet and the
 * PKI plug their implementations in; the core never sees a store, a certificate parser or a
 * credential format.
 */
import type { KeyObject } from 'node:crypto';
import type { CoseSigner } from '../crypto/index.ts';
import type { TapRequest, UserVerification } from './messages.ts';

/** What a reader proves itself with: its certificate chain and a signer for the leaf key. */
export interface ReaderKeyMaterial {
  /** DER certificates, leaf first (RFC 9360 x5chain order); the city root is pinned by wallets and never sent. */
  readonly chain: readonly Uint8Array[];
  /** ES256 signer of the leaf key: a software key in tests, the reader's secure element in the field. */
  readonly signer: CoseSigner;
}

/** Who a reader is, as its validated certificate states it. */
export interface ReaderIdentity {
  readonly tenant: string;
  readonly readerId: string;
  readonly profile: 'reader' | 'gate';
  /** The site the certificate binds the reader to; absent when the certificate names none. */
  readonly site?: string;
  /** The leaf key (P-256): the reader's signature over the transcript must verify with it. */
  readonly publicKey: KeyObject;
}

/**
 * Validates a reader's chain for the wallet (city root, reader/gate profile, validity, revocation)
 * and returns the identity it certifies. Throws TAP_READER_UNTRUSTED or TAP_READER_REVOKED.
 * `now` is milliseconds since the epoch from the wallet's clock.
 */
export interface ReaderAuthenticator {
  authenticate(chain: readonly Uint8Array[], now: number): ReaderIdentity | Promise<ReaderIdentity>;
}

/** A reader the wallet has authenticated in this session, with what it asks. */
export interface AuthenticatedReader {
  readonly identity: ReaderIdentity;
  readonly request: TapRequest;
  /** TH3: what the holder's proof will be bound to. */
  readonly th3: Uint8Array;
  readonly sessionId: string;
}

/** What the wallet shows: one credential and the secure-element signer of its holder key. */
export interface PresentationInput {
  readonly credential: Uint8Array;
  /** Seconds since the user last verified (as the secure element states it), null when unknown. */
  readonly userVerification: UserVerification;
  /** Signs HolderAuthentication with the credential's holder key (ES256, raw r ‖ s). */
  sign(data: Uint8Array): Promise<Uint8Array>;
}

/**
 * The wallet's side of the decision: given an authenticated reader, present one credential or
 * decline with a tap code (TAP_READER_SITE_MISMATCH, TAP_NO_MATCHING_CREDENTIAL, …). The
 * protocol core calls it only after the reader proved its identity over this transcript.
 */
export interface Presenter {
  present(reader: AuthenticatedReader): Promise<PresentationInput | { readonly decline: string }>;
}
