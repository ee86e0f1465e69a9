/**
 * citytrust/wallet: the holder SDK. A software secure element with a user-verification gate, a
 * multi-application credential store, the sync client and encrypted persistence. Device-side:
 * imports only crypto, core and the device-side credentials entry point.
 */
export { Wallet, httpTransport, type SyncTransport, type Registration, type StoredCredential } from './wallet.ts';
export { SoftwareSecureElement, type UserVerifier, type SignPolicy } from './secure-element.ts';
export { MemoryStorage, FileStorage, SealedRecords, type WalletStorage } from './storage.ts';
export * from './tap/index.ts';
