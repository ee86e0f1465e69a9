/**
 * The device-side entry point of credentials: what a reader or wallet needs with no database —
 * format decode/verify, trust (city root → issuer certificates), grants evaluation, status lists
 * and provisioning envelopes. test/architecture/import-rule.test.ts keeps it free of server code.
 */
export { CLAIM, CNF_COSE_KEY, CTI_LENGTH, CREDENTIAL_LIMITS, STATUS_URI, claimsToCbor, encodeClaims, decodeClaims, credentialId, type CredentialClaims, type StatusReference } from './claims.ts';
export { GRANT_KEY, validateGrants, grantsToCbor, grantsFromCbor, type Grants } from './grants.ts';
export { isResource, isResourcePattern, matchResource, MAX_RESOURCE_LENGTH } from './patterns.ts';
export { isTimeZone, localTime, inWindow, inSchedule, isScheduleWindow, type ScheduleWindow, type LocalTime } from './schedule.ts';
export { evaluate, DECISION_REASONS, type Decision, type DecisionReason, type EvaluationContext } from './evaluate.ts';
export { verifyCredential, verifyHolderSignature, checkTime, type VerifiedCredential, type VerifyCredentialOptions } from './verify.ts';
export {
  CredentialTrust,
  createIssuerCertificate,
  verifyIssuerCertificate,
  createTrustList,
  createRootCertificate,
  verifyRootCertificate,
  pinnedRootKey,
  keyIdOf,
  ROOT_ALGORITHMS,
  ROOT_CERTIFICATE_HEADER,
  CREDENTIAL_ROOT_SUBJECT,
  TYP,
  TYP_HEADER,
  TRUST_CLAIM,
  CITY_ISSUER,
  KID_LENGTH,
  ISSUER_ALGORITHMS,
  type IssuerAlgorithm,
  type IssuerKeyStatement,
  type TrustedIssuerKey,
} from './trust.ts';
export {
  StatusList,
  STATUS,
  STATUS_CLAIM,
  MAX_STATUS_LIST_BYTES,
  createStatusListToken,
  verifyStatusListToken,
  credentialStatus,
  statusUri,
  type StatusBits,
  type CredentialStatus,
  type VerifiedStatusList,
  type VerifyStatusListOptions,
  type StatusListTokenInput,
} from './status-list.ts';
export {
  sealEnvelope,
  sealTarget,
  sealTo,
  openEnvelope,
  encodeProvisioningMessage,
  decodeProvisioningMessage,
  ENVELOPE_LIMITS,
  type SealOptions,
  type SealTarget,
  type ProvisioningMessage,
} from './envelope.ts';
export { createCredential, type CreateCredentialInput } from './sign.ts';
