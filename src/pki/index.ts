/**
 * The city's PKI (docs/pki.md): CA hierarchy in the vault, profiles, issuance, enrolment,
 * revocation, CRLs and the OCSP responder. Device-side chain validation is in ./validate.ts
 * (exported on its own so that devices never load this server-side module).
 */
export { Pki, type PkiDeps, type IssueRequest, type VaultKeyIssueRequest, type ClientIdentity, type ServerTlsCredentials } from './pki.ts';
export { DEFAULT_PKI_SETTINGS, type PkiSettings } from './settings.ts';
export { caInfo, type CaInfo, type CaRecord } from './cas.ts';
export { OPERATOR_REASONS, type CertificateInfo, type IssuedCertificate, type CertStatus } from './certificates.ts';
export { OCSP_STATUS, parseOcspRequest, type OcspAnswer } from './ocsp.ts';
export { PROFILES, PROFILE_TABLE, DEVICE_PROFILE, CA_PURPOSES, ISSUING_PURPOSES, DEVICE_TYPES, deviceUrn, headEndUrn, VAULT_KEY_PROFILES, OPERATOR_PROFILES, profileByName, profileForPolicy, type ProfileName, type CaPurpose, type DeviceType, type Profile } from './profiles.ts';
export { checkCsr, CSR_MAX_BYTES, type CheckedCsr } from './x509/csr.ts';
export { toPem, fromPemOrDer } from './x509/der.ts';
export { CRL_REASONS, type RevocationReason } from './x509/extensions.ts';
export type { PkiKeyType } from './x509/keys.ts';
export { validateChain, type ValidationOptions, type ValidatedPath } from './validate.ts';
