/**
 * Constants of the tap protocol (docs/tap-protocol.md). Everything a peer must agree on byte for
 * byte lives here: message types, labels, sizes and limits.
 */

/** Protocol version carried in ReaderHello; a wallet refuses any other (TAP_VERSION_UNSUPPORTED). */
export const TAP_VERSION = 1;

/** Message types: the first element of every frame. */
export const MSG = {
  error: 0,
  readerHello: 1,
  walletHello: 2,
  readerAuth: 3,
  walletReply: 4,
  readerResult: 5,
} as const;
export type MessageType = (typeof MSG)[keyof typeof MSG];

/** Inner kinds of a WalletReply plaintext. */
export const REPLY = { presentation: 1, decline: 2 } as const;

/** Uncompressed SEC 1 P-256 point: 0x04 ‖ x ‖ y. Decoding it costs less CPU than the compressed form. */
export const EPHEMERAL_KEY_LENGTH = 65;
export const NONCE_LENGTH = 16;
export const TH_LENGTH = 32;
export const SIGNATURE_LENGTH = 64;

/**
 * Largest frame accepted at each step. A frame over its limit is refused before it is parsed
 * (TAP_FRAME_TOO_LARGE); transports refuse to buffer more than MAX_FRAME at all.
 * M3 carries the reader's chain (two P-256 certificates ≈ 1.2 KB); M4 a credential (≤ 2048, see
 * CREDENTIAL_LIMITS) plus proof, echo and framing.
 */
export const FRAME_LIMIT: Readonly<Record<MessageType, number>> = {
  [MSG.error]: 64,
  [MSG.readerHello]: 96,
  [MSG.walletHello]: 96,
  [MSG.readerAuth]: 4096,
  [MSG.walletReply]: 2304,
  [MSG.readerResult]: 256,
};
export const MAX_FRAME = 4096;

/** HKDF info strings for the two direction keys (after ISO 18013-5 §9.1.1.5 "SKReader"/"SKDevice"). */
export const INFO_READER_TO_WALLET = 'citytrust-tap/1 SKReader';
export const INFO_WALLET_TO_READER = 'citytrust-tap/1 SKWallet';

/**
 * AES-GCM IV = direction identifier (8 bytes) ‖ message counter (4 bytes, big-endian, from 1), as in
 * ISO 18013-5 §9.1.1.5. The keys already differ per direction; the identifier keeps the nonces apart
 * even if they did not, so a reflected message never authenticates.
 */
export const DIRECTION = { readerToWallet: 0, walletToReader: 1 } as const;
export type Direction = (typeof DIRECTION)[keyof typeof DIRECTION];

/** External AAD of the reader's COSE_Sign1 and context label of the holder's proof (domain separation). */
export const READER_AUTH_CONTEXT = 'citytrust-tap/1 ReaderAuthentication';
export const HOLDER_AUTH_CONTEXT = 'citytrust-tap/1 HolderAuthentication';

/** COSE header label of an X.509 chain (RFC 9360 §2: x5chain). */
export const X5CHAIN = 33;
/** At most this many certificates in the reader's chain (leaf and intermediates; the root is pinned). */
export const MAX_CHAIN = 3;

/** ISO 7816-4 application identifier of the citytrust tap applet (proprietary RID F0, ISO 7816-5 §5.2). */
export const TAP_AID = Uint8Array.of(0xf0, 0x63, 0x74, 0x74, 0x61, 0x70, 0x01); // F0 'c' 't' 't' 'a' 'p' 01
