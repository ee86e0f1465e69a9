/**
 * citytrust credentials: device-side format, trust, evaluation and status (./device.ts), and the
 * server-side issuer, wallet registry, provisioning queue and status list publisher.
 */
export * from './device.ts';
export { DEFAULT_CREDENTIAL_SETTINGS, credentialSettingsFromConfig, type CredentialSettings, type CredentialDeps, type CityRootAnchor } from './settings.ts';
export { SealPool } from './seal-pool.ts';
export { StatusSlots } from './status-slots.ts';
export { CityRoot, ROOT_CALLER, cityRootFromPki, type CityRootKey, type RootCertificate, type CaSource } from './root.ts';
export { IssuerKeys, ROTATION_GRACE_SECONDS, issuerCaller, type IssuerKeyInfo, type CurrentIssuerKey } from './issuer-keys.ts';
export { Templates, TEMPLATE_ID, type Template } from './templates.ts';
export { StatusLists, STATUS_BITS, type StatusChange, type PublishedStatusList } from './status-service.ts';
export { Wallets, WALLET_ID, ATTESTATION_FORMATS, SYNC_PAGE, registrationToBeSigned, syncToBeSigned, type Wallet, type SyncResult, type AttestationFormat } from './wallets.ts';
export { PersonalData, validateHolder, type HolderData } from './personal-data.ts';
export { CredentialIssuer, type IssueInput, type CredentialInfo, type CredentialState, type ListFilter } from './issuer.ts';
export { GroupCommit } from './group-commit.ts';
export { vaultCoseSigner } from './vault-signer.ts';
export { createCredentialServices, TrustLists, type CredentialServices, type PublishedTrustList } from './service.ts';
