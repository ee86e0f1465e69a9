/** Object identifiers the PKI uses, in one place (RFC 5280, RFC 5480, RFC 8410, RFC 6960). */

// Keys (RFC 5480 §2.1.1, RFC 8410 §3)
export const OID_EC_PUBLIC_KEY = '1.2.840.10045.2.1';
export const OID_P256 = '1.2.840.10045.3.1.7';
export const OID_P384 = '1.3.132.0.34';
export const OID_ED25519 = '1.3.101.112';

// Signatures (RFC 5758 §3.2, RFC 8410 §3)
export const OID_ECDSA_SHA256 = '1.2.840.10045.4.3.2';
export const OID_ECDSA_SHA384 = '1.2.840.10045.4.3.3';

// Hashes (CertID, RFC 6960 §4.1.1)
export const OID_SHA1 = '1.3.14.3.2.26';
export const OID_SHA256 = '2.16.840.1.101.3.4.2.1';

// Extended key usages (RFC 5280 §4.2.1.12, RFC 6960 §4.2.2.2)
export const EKU_SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
export const EKU_CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
export const EKU_CODE_SIGNING = '1.3.6.1.5.5.7.3.3';
export const EKU_OCSP_SIGNING = '1.3.6.1.5.5.7.3.9';
export const EKU_ANY = '2.5.29.37.0';

// Extensions
export const EXT_SUBJECT_KEY_ID = '2.5.29.14';
export const EXT_KEY_USAGE = '2.5.29.15';
export const EXT_SUBJECT_ALT_NAME = '2.5.29.17';
export const EXT_BASIC_CONSTRAINTS = '2.5.29.19';
export const EXT_CRL_NUMBER = '2.5.29.20';
export const EXT_CRL_REASON = '2.5.29.21';
export const EXT_NAME_CONSTRAINTS = '2.5.29.30';
export const EXT_CRL_DISTRIBUTION_POINTS = '2.5.29.31';
export const EXT_CERTIFICATE_POLICIES = '2.5.29.32';
export const EXT_AUTHORITY_KEY_ID = '2.5.29.35';
export const EXT_EXT_KEY_USAGE = '2.5.29.37';
export const EXT_AUTHORITY_INFO_ACCESS = '1.3.6.1.5.5.7.1.1';
export const EXT_OCSP_NOCHECK = '1.3.6.1.5.5.7.48.1.5';
export const EXT_OCSP_NONCE = '1.3.6.1.5.5.7.48.1.2';
export const AD_OCSP = '1.3.6.1.5.5.7.48.1';
export const AD_CA_ISSUERS = '1.3.6.1.5.5.7.48.2';
export const OCSP_BASIC = '1.3.6.1.5.5.7.48.1.1';

// PKCS#9 extensionRequest (RFC 2985 §5.4.2) carried in a CSR's attributes
export const PKCS9_EXTENSION_REQUEST = '1.2.840.113549.1.9.14';

// Names (RFC 4519)
export const AT_COMMON_NAME = '2.5.4.3';
export const AT_ORGANIZATION = '2.5.4.10';
export const AT_ORGANIZATIONAL_UNIT = '2.5.4.11';

/**
 * citytrust certificate policies: one per profile, so a relying party can ask "is this a
 * meter certificate?" without parsing names. The arc is a UUID OID (ITU-T X.667, 2.25.<uuid>):
 * unique without a registry, no private enterprise number needed.
 */
export const CITYTRUST_ARC = '2.25.139328801161224057556747018081459901511';
export const POLICY_ARC = `${CITYTRUST_ARC}.1`;
/**
 * citytrust extended key usages (`<arc>.2.<n>`) for purposes no IETF EKU names: a meter
 * accepts a head-end key only for the purpose it was certified for.
 */
export const EKU_ARC = `${CITYTRUST_ARC}.2`;
/** The metering head-end's ECDH key that meters agree session keys with. */
export const EKU_HEAD_END_KEY_AGREEMENT = `${EKU_ARC}.1`;
/** The metering head-end's key that signs commands to meters. */
export const EKU_HEAD_END_COMMAND = `${EKU_ARC}.2`;
