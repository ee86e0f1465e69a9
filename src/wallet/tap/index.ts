/**
 * The wallet's tap responder (device-side; docs/tap-protocol.md): answering readers over NFC, BLE
 * or TCP, deciding what to reveal, and authenticating readers by certificate chain or pinned key.
 */
export { WalletTapResponder, type WalletTapResponderOptions, type TapCredential, type TapCredentialSource } from './responder.ts';
export { walletCredentialSource } from './wallet-source.ts';
export { selectCredential, siteCheck, resourceSite, type RevealPolicy, type Candidate } from './select.ts';
export {
  X509ReaderAuthenticator,
  CityReaderAuthenticator,
  PinnedReaderAuthenticator,
  type ChainValidator,
  type X509ReaderAuthenticatorOptions,
  type CityReaderTrust,
  type PinnedReader,
} from './authenticators.ts';
export { readerCertificateFacts, certificateKey, siteUrn, DEVICE_URN_PREFIX, SITE_URN_PREFIX, type ReaderCertificateFacts } from './reader-cert.ts';
// The tap protocol as a wallet uses it (citytrust/wallet is the package entry point for wallets).
export { WalletSession, ApduCard, serveBle, serveTcp, serveWebSocket, packetPipePair, ReplayCache, TAP_AID, type TapResponder, type WalletOutcome, type ReaderIdentity, type ReaderAuthenticator, type PacketPipe } from '../../tap/index.ts';
