/**
 * One error class for everything a caller can act on, with a stable string `code`.
 *
 * The code table is the public contract: codes are never renamed or reused. Each code
 * carries the HTTP status the server maps it to and a one-line remedy the CLI prints.
 * Messages are safe for clients; the `cause` is for logs only and never leaves the process.
 */

interface CodeInfo {
  readonly status: number;
  readonly remedy: string;
}

// Keep sections by domain; add new codes at the end of their section.
const CODES = {
  // core / config / input
  CONFIG_INVALID: { status: 500, remedy: 'Fix the named configuration key (citytrust.config.json or CITYTRUST_* variable).' },
  INPUT_INVALID: { status: 400, remedy: 'Correct the request: a field is missing, of the wrong type or out of range.' },
  INPUT_MALFORMED_JSON: { status: 400, remedy: 'Send a well-formed JSON body with Content-Type: application/json.' },
  INPUT_TOO_LARGE: { status: 413, remedy: 'Send a smaller body; see server.bodyLimit.' },
  INPUT_UNSUPPORTED_MEDIA: { status: 415, remedy: 'Send the content type this endpoint documents.' },
  NOT_FOUND: { status: 404, remedy: 'Check the path or identifier; see /docs for the API.' },
  METHOD_NOT_ALLOWED: { status: 405, remedy: 'Use a method this route documents.' },
  RATE_LIMITED: { status: 429, remedy: 'Slow down and retry after the Retry-After interval.' },
  CONFLICT: { status: 409, remedy: 'The object already exists or changed meanwhile; reload and retry.' },
  INTERNAL: { status: 500, remedy: 'An unexpected fault; the server log has the request id and cause.' },
  UNAVAILABLE: { status: 503, remedy: 'A dependency is not ready (database, vault); retry shortly.' },

  // auth / tenants
  AUTH_MISSING: { status: 401, remedy: 'Send Authorization: Bearer <token>.' },
  AUTH_INVALID_TOKEN: { status: 401, remedy: 'The token is unknown or malformed; create a new one with `citytrust token create`.' },
  AUTH_TOKEN_REVOKED: { status: 401, remedy: 'The token was revoked; ask an administrator for a new one.' },
  AUTH_TOKEN_EXPIRED: { status: 401, remedy: 'The token has expired; ask an administrator for a new one.' },
  AUTH_FORBIDDEN: { status: 403, remedy: 'Your token lacks the role this action needs.' },
  TENANT_FORBIDDEN: { status: 403, remedy: 'The object belongs to another tenant; use a token of that tenant.' },
  TENANT_NOT_FOUND: { status: 404, remedy: 'Create the tenant first (`citytrust tenant create`).' },
  TENANT_EXISTS: { status: 409, remedy: 'Pick another tenant id.' },

  // console (docs/console.md)
  CONSOLE_NOT_BUILT: { status: 503, remedy: 'Build the web console with `npm run build:console` (`npm start` does it for you), then restart the server.' },

  // store
  STORE_UNAVAILABLE: { status: 503, remedy: 'Check the database (DATABASE_URL or the data directory) and retry.' },
  STORE_MIGRATION_FAILED: { status: 500, remedy: 'A migration failed; the database was left at its previous version. See the log.' },
  STORE_NOT_INITIALISED: { status: 500, remedy: 'Run `citytrust init` first.' },

  // audit
  AUDIT_PROOF_INVALID: { status: 422, remedy: 'The proof does not match the given root; fetch a fresh proof.' },
  AUDIT_RANGE_INVALID: { status: 400, remedy: 'Ask for sizes and indices within the current tree size.' },
  AUDIT_LOG_CORRUPT: { status: 500, remedy: 'The stored log does not match its signed checkpoints: treat as an incident.' },
  AUDIT_CHECKPOINT_INVALID: { status: 422, remedy: 'The checkpoint is malformed or its signature does not verify with the log key.' },

  // crypto (device-side primitives; see docs/crypto.md)
  CRYPTO_ALG_NOT_ALLOWED: { status: 400, remedy: 'Use an algorithm on the allow-list in docs/crypto.md (ES256, ES384, EdDSA, A128GCM, A256GCM, HMAC-SHA256, HKDF-SHA256).' },
  CRYPTO_KEY_INVALID: { status: 400, remedy: 'The key is malformed or of the wrong type or curve for this operation; see docs/crypto.md.' },
  CRYPTO_KEY_SIZE_UNSUPPORTED: { status: 400, remedy: 'Use a supported key size: AES 128 or 256 bits, HMAC keys of at least 32 bytes.' },
  CRYPTO_POINT_INVALID: { status: 400, remedy: 'Send the EC public key as a SEC1 point (compressed or uncompressed) that lies on the named curve.' },
  CRYPTO_SIGNATURE_ENCODING: { status: 400, remedy: 'The signature is not strict DER or not r||s of the curve size; send it unaltered.' },
  CRYPTO_IV_LENGTH: { status: 400, remedy: 'AES-GCM takes a 12-byte IV; generate or derive exactly 12 bytes.' },
  CRYPTO_MAC_LENGTH: { status: 400, remedy: 'Send the MAC tag at the length the algorithm fixes (32 bytes for HMAC-SHA256).' },
  CRYPTO_AEAD_TRUNCATED: { status: 400, remedy: 'The sealed data is shorter than its 16-byte tag: it was cut in transit; send it whole.' },
  CRYPTO_AEAD_AUTH_FAILED: { status: 422, remedy: 'Authentication failed: wrong key, IV or additional data, or the data was altered.' },
  CRYPTO_HKDF_LENGTH: { status: 400, remedy: 'Ask HKDF-SHA256 for 1 to 8160 bytes of output (RFC 5869 §2.3).' },
  CRYPTO_INPUT_INVALID: { status: 400, remedy: 'Pass bytes as Uint8Array where the API expects bytes.' },

  // cbor (deterministic CBOR, RFC 8949)
  CBOR_TOO_LARGE: { status: 413, remedy: 'The CBOR data exceeds the size limit of this context; send a smaller item.' },
  CBOR_TOO_DEEP: { status: 400, remedy: 'The CBOR item nests deeper than this context allows; flatten it.' },
  CBOR_TOO_MANY_ITEMS: { status: 400, remedy: 'The CBOR item holds more data items than this context allows.' },
  CBOR_TRUNCATED: { status: 400, remedy: 'The CBOR data ends inside an item; send it whole.' },
  CBOR_TRAILING_BYTES: { status: 400, remedy: 'Bytes follow the CBOR item; send exactly one item.' },
  CBOR_MALFORMED: { status: 400, remedy: 'The bytes are not well-formed CBOR (RFC 8949 §3, Appendix F).' },
  CBOR_INDEFINITE_LENGTH: { status: 400, remedy: 'Encode arrays, maps and strings with definite lengths (RFC 8949 §4.2.1).' },
  CBOR_NON_SHORTEST: { status: 400, remedy: 'Encode integers, lengths, tags and floats in their shortest form (RFC 8949 §4.2.1).' },
  CBOR_MAP_KEY_ORDER: { status: 400, remedy: 'Sort map keys by the bytewise order of their encodings (RFC 8949 §4.2.1).' },
  CBOR_DUPLICATE_KEY: { status: 400, remedy: 'A map repeats a key; each key may appear once (RFC 8949 §5.6).' },
  CBOR_INVALID_UTF8: { status: 400, remedy: 'Text strings must be valid UTF-8 (RFC 8949 §5.3.1).' },
  CBOR_TAG_NOT_ALLOWED: { status: 400, remedy: 'The CBOR tag is not accepted in this context; see docs/cose.md for the tags we accept.' },
  CBOR_UNSUPPORTED_VALUE: { status: 400, remedy: 'The value has no place in our CBOR data model (see docs/cose.md): no floats on encode, no bignums, no class instances.' },

  // cose (RFC 9052 / 9053)
  COSE_MALFORMED: { status: 400, remedy: 'The COSE message does not have the structure RFC 9052 defines for its type.' },
  COSE_TAG_MISMATCH: { status: 400, remedy: 'The CBOR tag names another COSE message type than the one expected here.' },
  COSE_HEADER_INVALID: { status: 400, remedy: 'A header parameter has the wrong type, or a label appears in both buckets (RFC 9052 §3).' },
  COSE_ALG_MISSING: { status: 400, remedy: 'Put the alg header parameter (label 1) in the protected header.' },
  COSE_ALG_NOT_ALLOWED: { status: 400, remedy: 'The algorithm is unknown or not accepted by this verifier; see docs/cose.md.' },
  COSE_ALG_UNPROTECTED: { status: 400, remedy: 'Put alg in the protected header; this verifier does not accept it unprotected (RFC 9052 §3.1).' },
  COSE_ALG_KEY_MISMATCH: { status: 422, remedy: 'The message names an algorithm that the selected key is not bound to.' },
  COSE_CRIT_UNSUPPORTED: { status: 400, remedy: 'The message marks as critical a header parameter this verifier does not understand (RFC 9052 §3.1).' },
  COSE_KEY_INVALID: { status: 400, remedy: 'The COSE_Key is malformed or its parameters do not fit its kty and crv (RFC 9053 §7).' },
  COSE_KEY_UNSUPPORTED: { status: 400, remedy: 'Use a supported key: EC2 P-256 or P-384, OKP Ed25519, or Symmetric.' },
  COSE_KEY_NOT_FOUND: { status: 422, remedy: 'No trusted key matches this message (kid); check the trust configuration.' },
  COSE_SIGNATURE_INVALID: { status: 422, remedy: 'The signature does not verify: the message was altered or signed by another key.' },
  COSE_MAC_INVALID: { status: 422, remedy: 'The MAC does not verify: wrong key or altered message.' },
  COSE_DECRYPT_FAILED: { status: 422, remedy: 'Decryption failed: wrong key, IV or external AAD, or the message was altered.' },
  COSE_PAYLOAD_MISSING: { status: 400, remedy: 'The payload is detached; pass it to the verifier.' },
  COSE_RECIPIENT_UNSUPPORTED: { status: 400, remedy: 'Send a COSE_Encrypt with exactly one recipient using direct or ECDH-ES + HKDF-256.' },
  AUDIT_KEY_INVALID: { status: 400, remedy: 'Give the log key as <name>+<8 hex key id>+<base64(0x01 || 32-byte Ed25519 key)> (a C2SP vkey).' },
  AUDIT_SIGNER_FAILED: { status: 500, remedy: 'The checkpoint signer returned a bad signature: check that the vault key matches the published log key.' },

  // vault
  VAULT_NOT_INITIALISED: { status: 503, remedy: 'Initialise the vault first (`citytrust vault init --shares 5 --threshold 3`).' },
  VAULT_ALREADY_INITIALISED: { status: 409, remedy: 'The vault already has a master key; unseal it instead of initialising again.' },
  VAULT_SEALED: { status: 503, remedy: 'Unseal the vault with the threshold number of unseal shares (`citytrust vault unseal`).' },
  VAULT_ALREADY_UNSEALED: { status: 409, remedy: 'The vault is already unsealed; no share is needed.' },
  VAULT_ZEROIZED: { status: 503, remedy: 'The vault destroyed its keys after a tamper event: investigate, then re-initialise and restore from backup.' },
  VAULT_SHARE_MALFORMED: { status: 400, remedy: 'Enter the share exactly as printed (it starts with `cts1-`).' },
  VAULT_SHARE_CORRUPT: { status: 400, remedy: 'The share checksum does not match: a character was mistyped or the share was altered.' },
  VAULT_SHARE_MISMATCH: { status: 400, remedy: 'The share belongs to another vault, backup or threshold; use a share of this set.' },
  VAULT_SHARE_DUPLICATE: { status: 409, remedy: 'This share was already entered; the next custodian enters theirs.' },
  VAULT_UNSEAL_FAILED: { status: 401, remedy: 'The shares combine to a wrong key; start over with shares of this vault (repeated failures zeroize it).' },
  VAULT_KEY_NOT_FOUND: { status: 404, remedy: 'Check the key id and that it belongs to your tenant (`citytrust vault keys`).' },
  VAULT_KEY_DESTROYED: { status: 410, remedy: 'The key was destroyed and cannot be used; create or restore another.' },
  VAULT_KEY_EXISTS: { status: 409, remedy: 'A key with this id is already in the vault; restore skips nothing, remove the conflict first.' },
  VAULT_KEY_CORRUPT: { status: 500, remedy: 'The sealed key failed its integrity check; restore it from backup and treat the disk as suspect.' },
  VAULT_USAGE_DENIED: { status: 403, remedy: 'The key does not allow this operation (see its usages) or the version is retired.' },
  VAULT_USAGE_INVALID: { status: 400, remedy: 'Pick usages this key type supports (see docs/vault.md, key types).' },
  VAULT_KEY_NOT_EXTRACTABLE: { status: 403, remedy: 'The key was created with extractable: false and cannot be wrapped out.' },
  VAULT_CIPHERTEXT_MALFORMED: { status: 400, remedy: 'The ciphertext is truncated or not in the vault format; send it unchanged.' },
  VAULT_DECRYPT_FAILED: { status: 422, remedy: 'Authentication failed: wrong key, wrong additional data, or the ciphertext was altered.' },
  VAULT_PUBLIC_KEY_INVALID: { status: 400, remedy: 'Send the peer public key as SPKI DER or an uncompressed point on the key\'s curve.' },
  VAULT_KEYSTORE_CORRUPT: { status: 500, remedy: 'The keystore failed an integrity check; restore from backup and treat the disk as suspect.' },
  VAULT_BACKUP_INVALID: { status: 422, remedy: 'The backup archive is damaged or does not match the recovery shares given.' },
  VAULT_UNSUPPORTED: { status: 501, remedy: 'This backend does not offer the operation; use the software backend or the HSM\'s own tools.' },
  VAULT_BACKEND_ERROR: { status: 502, remedy: 'The HSM refused or failed the operation; check the token, PIN and the server log.' },

  // pki (docs/pki.md)
  PKI_NOT_INITIALISED: { status: 503, remedy: 'Create the CA hierarchy first (`citytrust ca init`).' },
  PKI_ALREADY_INITIALISED: { status: 409, remedy: 'The CA hierarchy exists; roll an issuing CA over with `citytrust ca rollover` instead.' },
  PKI_CA_NOT_FOUND: { status: 404, remedy: 'Check the CA id (`citytrust ca list`).' },
  PKI_CA_UNAVAILABLE: { status: 503, remedy: 'No active issuing CA serves this profile, or its certificate has expired; roll it over (`citytrust ca rollover`).' },
  PKI_PROFILE_UNKNOWN: { status: 400, remedy: 'Use a profile from docs/pki.md (reader, gate, vehicle, meter, tls-server, tls-client, code-signing; head-end and head-end-command for vault keys).' },
  PKI_PROFILE_MISMATCH: { status: 422, remedy: 'The profile does not fit this device type or subject; see the profiles table in docs/pki.md.' },
  PKI_NAME_INVALID: { status: 400, remedy: 'Give DNS names, IP addresses and subject names in the form docs/pki.md allows.' },
  PKI_CSR_MALFORMED: { status: 400, remedy: 'Send a PKCS#10 certification request (RFC 2986) in DER, PEM or base64 DER.' },
  PKI_CSR_TOO_LARGE: { status: 413, remedy: 'A CSR is at most 8 KiB; send a plain request with one key.' },
  PKI_CSR_SIGNATURE_INVALID: { status: 422, remedy: 'The CSR is not signed by the key it carries; sign it again with that private key.' },
  PKI_CSR_ALG_NOT_ALLOWED: { status: 400, remedy: 'Sign the CSR with ecdsa-with-SHA256, ecdsa-with-SHA384 or Ed25519.' },
  PKI_CSR_KEY_NOT_ALLOWED: { status: 400, remedy: 'Use a P-256, P-384 or Ed25519 key; RSA and other curves are refused.' },
  PKI_CSR_KEY_INVALID: { status: 400, remedy: 'The public key is malformed or not a point on its curve; generate a new key.' },
  PKI_CSR_KEY_COMPROMISED: { status: 422, remedy: 'This public key belongs to a CA or to a certificate revoked for key compromise; generate a new key.' },
  PKI_CSR_CA_REQUESTED: { status: 422, remedy: 'End-entity enrolment cannot ask for CA rights; remove basicConstraints cA=TRUE from the request.' },
  PKI_CSR_SAN_FOREIGN: { status: 422, remedy: 'Ask only for the names the profile assigns (the device URN, or the DNS names the operator approved), or ask for none.' },
  PKI_CERT_NOT_FOUND: { status: 404, remedy: 'Check the serial number (hex) and that the certificate belongs to your tenant.' },
  PKI_CERT_ALREADY_REVOKED: { status: 409, remedy: 'The certificate is already revoked; nothing to do.' },
  PKI_REVOCATION_REASON_INVALID: { status: 400, remedy: 'Use an RFC 5280 reason: unspecified, keyCompromise, affiliationChanged, superseded, cessationOfOperation, privilegeWithdrawn.' },
  PKI_SERIAL_INVALID: { status: 400, remedy: 'Give the serial number as 2–40 hex digits.' },
  PKI_DER_MALFORMED: { status: 400, remedy: 'The ASN.1 DER structure is malformed or of the wrong type; send it unaltered.' },
  PKI_OCSP_MALFORMED: { status: 400, remedy: 'Send an RFC 6960 OCSPRequest in DER (POST application/ocsp-request, or base64url in the GET path).' },
  PKI_OCSP_ISSUER_UNKNOWN: { status: 422, remedy: 'This responder answers only for citytrust issuing CAs; ask the responder of the certificate issuer.' },
  PKI_OCSP_UNSUPPORTED: { status: 400, remedy: 'Use SHA-1 or SHA-256 CertIDs and at most 10 requests per OCSPRequest.' },
  PKI_CLIENT_CERT_REQUIRED: { status: 401, remedy: 'Connect over TLS with your current citytrust device certificate.' },
  PKI_CLIENT_CERT_UNKNOWN: { status: 401, remedy: 'The client certificate was not issued by this citytrust CA; enrol first.' },
  PKI_CLIENT_CERT_REVOKED: { status: 401, remedy: 'The client certificate is revoked or on hold; enrol again with a new bootstrap token.' },
  PKI_CLIENT_CERT_EXPIRED: { status: 401, remedy: 'The client certificate has expired; enrol again with a new bootstrap token.' },
  PKI_EST_AUTH_REQUIRED: { status: 401, remedy: 'Authenticate with HTTP Basic (user = device id, password = bootstrap token) or a client certificate.' },
  PKI_EST_TLS_REQUIRED: { status: 403, remedy: 'EST runs over TLS only (RFC 7030 §3.2.2); use `citytrust serve --tls` and https://.' },
  PKI_CHAIN_MALFORMED: { status: 400, remedy: 'A certificate in the chain is not valid DER X.509; send the chain unaltered.' },
  PKI_CHAIN_NO_PATH: { status: 422, remedy: 'No path leads from the certificate to a trust anchor; add the intermediate CA or check the anchors.' },
  PKI_CHAIN_TOO_LONG: { status: 422, remedy: 'The path exceeds the validator\'s depth limit.' },
  PKI_CHAIN_SIGNATURE_INVALID: { status: 422, remedy: 'A certificate signature does not verify with its issuer\'s key: the chain is forged or altered.' },
  PKI_CHAIN_ALG_NOT_ALLOWED: { status: 422, remedy: 'A certificate uses a signature or key algorithm outside the allow-list (ECDSA P-256/P-384 with SHA-256/384, Ed25519).' },
  PKI_CHAIN_NOT_YET_VALID: { status: 422, remedy: 'A certificate is not valid yet at the validation time; check the device clock.' },
  PKI_CHAIN_EXPIRED: { status: 422, remedy: 'A certificate has expired at the validation time; renew it.' },
  PKI_CHAIN_NOT_CA: { status: 422, remedy: 'An issuing certificate lacks basicConstraints cA=TRUE or keyCertSign.' },
  PKI_CHAIN_PATH_LENGTH: { status: 422, remedy: 'A CA\'s pathLenConstraint forbids this many intermediates below it.' },
  PKI_CHAIN_KEY_USAGE: { status: 422, remedy: 'The certificate\'s key usage does not allow what it is used for.' },
  PKI_CHAIN_EKU: { status: 422, remedy: 'The certificate\'s extended key usage does not include the purpose asked for.' },
  PKI_CHAIN_PROFILE: { status: 422, remedy: 'The certificate was issued for another profile (certificate policy) than the one expected.' },
  PKI_CHAIN_NAME_CONSTRAINTS: { status: 422, remedy: 'A name in the certificate is outside a CA\'s name constraints.' },
  PKI_CHAIN_CRITICAL_EXTENSION: { status: 422, remedy: 'A certificate carries a critical extension this validator does not understand (RFC 5280 §4.2).' },
  PKI_CHAIN_REVOKED: { status: 422, remedy: 'A certificate in the path is revoked.' },
  PKI_CHAIN_REVOCATION_UNKNOWN: { status: 422, remedy: 'No fresh CRL or OCSP response covers a certificate in the path; fetch one and validate again.' },
  PKI_CHAIN_CRL_INVALID: { status: 422, remedy: 'The CRL is malformed, not signed by the issuing CA, or outside its validity.' },
  PKI_CHAIN_OCSP_INVALID: { status: 422, remedy: 'The OCSP response is malformed, not signed by the CA or its delegated responder, stale, or answers another certificate or nonce.' },

  // devices (docs/pki.md, device registry)
  DEVICE_NOT_FOUND: { status: 404, remedy: 'Check the device id and tenant (`citytrust device list`).' },
  DEVICE_EXISTS: { status: 409, remedy: 'A device with this id is already registered for the tenant; pick another id.' },
  DEVICE_TYPE_UNKNOWN: { status: 400, remedy: 'Use a device type from docs/pki.md: reader, gate, vehicle, meter, service, server.' },
  DEVICE_STATE_INVALID: { status: 409, remedy: 'This state change is not allowed (compromised and retired are final); see docs/pki.md, device lifecycle.' },
  DEVICE_NOT_ACTIVE: { status: 403, remedy: 'The device is suspended, compromised or retired; an operator must (re)activate or re-register it.' },
  DEVICE_BOOTSTRAP_INVALID: { status: 401, remedy: 'The bootstrap token is unknown, malformed or for another device; ask the operator for a new one.' },
  DEVICE_BOOTSTRAP_USED: { status: 401, remedy: 'The bootstrap token was already used once; ask the operator for a new one (`citytrust device bootstrap`).' },
  DEVICE_BOOTSTRAP_EXPIRED: { status: 401, remedy: 'The bootstrap token has expired; ask the operator for a new one (`citytrust device bootstrap`).' },

  // credentials (docs/credential-format.md, docs/status-list.md)
  CREDENTIAL_MALFORMED: { status: 400, remedy: 'The credential is not a COSE_Sign1 CWT with the claims docs/credential-format.md defines; send it unaltered.' },
  CREDENTIAL_TRUNCATED: { status: 400, remedy: 'The credential ends inside a CBOR item: it was cut in transit; send it whole.' },
  CREDENTIAL_TOO_LARGE: { status: 413, remedy: 'The credential exceeds the size or item limit for credentials (docs/credential-format.md).' },
  CREDENTIAL_TOO_DEEP: { status: 400, remedy: 'The credential nests CBOR deeper than a credential ever needs; it is not one we issued.' },
  CREDENTIAL_ALG_NOT_ALLOWED: { status: 400, remedy: 'The credential names no algorithm, or one off the allow-list (ES256, EdDSA); `none` is never accepted.' },
  CREDENTIAL_ALG_KEY_MISMATCH: { status: 422, remedy: 'The credential names an algorithm other than the one its issuer key is certified for (an algorithm swap).' },
  CREDENTIAL_ISSUER_UNTRUSTED: { status: 422, remedy: 'No issuer key certified by the city root matches the credential kid; refresh the trust list.' },
  CREDENTIAL_SIGNATURE_INVALID: { status: 422, remedy: 'The credential signature does not verify: it was altered or re-signed by another key.' },
  CREDENTIAL_ISSUER_MISMATCH: { status: 422, remedy: 'The iss claim is not the tenant the signing key is certified for.' },
  CREDENTIAL_KEY_RETIRED: { status: 422, remedy: 'The credential was signed after its issuer key was retired; the issuer must re-issue it with the current key.' },
  CREDENTIAL_EXPIRED: { status: 422, remedy: 'The credential is past its exp; the holder needs a new one.' },
  CREDENTIAL_NOT_YET_VALID: { status: 422, remedy: 'The credential is not valid before its nbf; check the reader clock or wait.' },
  CREDENTIAL_HOLDER_MISMATCH: { status: 422, remedy: 'The proof of possession was not made by the holder key in cnf; the credential is presented by someone else.' },
  CREDENTIAL_GRANTS_INVALID: { status: 400, remedy: 'Fix the grants: patterns, zones, schedule windows, time zone, class, uses or attributes (docs/credential-format.md).' },
  CREDENTIAL_NOT_FOUND: { status: 404, remedy: 'Check the credential id and that it belongs to your tenant (`citytrust credential list`).' },
  CREDENTIAL_STATE_INVALID: { status: 409, remedy: 'The credential is not in a state that allows this (e.g. resume needs suspended; revoked is final).' },
  CREDENTIAL_TEMPLATE_NOT_FOUND: { status: 404, remedy: 'Create the template first (`citytrust credential template create`).' },
  CREDENTIAL_TEMPLATE_EXISTS: { status: 409, remedy: 'A template with this id exists for the tenant; pick another id.' },
  CREDENTIAL_ISSUER_KEY_MISSING: { status: 409, remedy: 'The tenant has no issuer key; create one (`citytrust credential issuer-key rotate --tenant <t>`).' },
  CREDENTIAL_TRUST_LIST_INVALID: { status: 422, remedy: 'The trust list or issuer certificate is malformed, expired or not signed by the pinned city root.' },
  STATUS_LIST_NOT_FOUND: { status: 404, remedy: 'Check the status list id (the uri of the credential status claim).' },
  STATUS_LIST_INVALID: { status: 422, remedy: 'The status list token is malformed, expired, for another list, or not signed by the credential issuer.' },
  STATUS_LIST_INDEX_OUT_OF_RANGE: { status: 422, remedy: 'The status index lies outside the list; no statement can be made and the credential must be refused.' },
  STATUS_LIST_STALE: { status: 422, remedy: 'The cached status list is older than the reader freshness limit; fetch a fresh one.' },

  // wallets and provisioning (docs/wallet.md, docs/provisioning.md)
  WALLET_NOT_FOUND: { status: 404, remedy: 'Check the wallet id and that it is registered with your tenant.' },
  WALLET_KEY_INVALID: { status: 400, remedy: 'Send the secure-element key as a SEC 1 P-256 point (base64url) on the curve.' },
  WALLET_CHALLENGE_INVALID: { status: 422, remedy: 'The registration challenge is unknown, expired or already used; ask for a new one.' },
  WALLET_PROOF_INVALID: { status: 422, remedy: 'The signature over the challenge or nonce does not verify with the wallet secure-element key.' },
  WALLET_NONCE_INVALID: { status: 422, remedy: 'The sync nonce is unknown or expired; ask for a fresh one (POST /v1/wallets/{id}/nonce).' },
  WALLET_SYNC_REPLAYED: { status: 409, remedy: 'This nonce was already used: a sync signature is good for one request. Ask for a fresh nonce.' },
  WALLET_ACK_INVALID: { status: 422, remedy: 'The ack names a delivery sequence the server never sent; ack the highest sequence the wallet stored.' },
  WALLET_INACTIVE: { status: 409, remedy: 'The wallet was deactivated; register the device again.' },
  WALLET_ATTESTATION_INVALID: { status: 400, remedy: 'Give attestation as {format, data} with a known format (none, android-key, apple-app-attest); see docs/wallet.md.' },
  WALLET_USER_VERIFICATION_REQUIRED: { status: 403, remedy: 'The credential policy needs a fresh user verification (fingerprint, face or PIN) before its key signs.' },
  WALLET_KEY_NOT_FOUND: { status: 404, remedy: 'The secure element holds no key under this alias.' },
  WALLET_STORAGE_CORRUPT: { status: 500, remedy: 'The wallet storage failed its integrity check or was sealed under another storage key; restore or re-provision.' },
  PROVISIONING_ENVELOPE_INVALID: { status: 422, remedy: 'The provisioning envelope is malformed, not for this wallet key, or was altered in transit.' },

  // offers (context-aware offers over consented attributes)
  OFFER_RULE_INVALID: { status: 400, remedy: 'Fix the offer rule: conditions name known attributes, context fields and operators (docs/wallet.md, offers).' },
  OFFER_CONSENT_NOT_FOUND: { status: 404, remedy: 'The holder has given this tenant no consent for offers; nothing can be evaluated.' },
  OFFER_RULE_NOT_FOUND: { status: 404, remedy: 'Check the rule id and that it belongs to your tenant (`citytrust offers rule list`).' },

  // tap protocol (docs/tap-protocol.md): every failure of a tap, named by the party that detects it
  TAP_MESSAGE_MALFORMED: { status: 400, remedy: 'The tap message is not the CBOR structure docs/tap-protocol.md defines for this step; the peer is faulty or the frame was garbled.' },
  TAP_FRAME_TRUNCATED: { status: 400, remedy: 'The frame ended early (cut APDU chain, missing BLE fragment, short TCP frame); hold the phone or card still and tap again.' },
  TAP_FRAME_TOO_LARGE: { status: 413, remedy: 'The message exceeds the size limit of its protocol step (docs/tap-protocol.md, limits); the peer is faulty or hostile.' },
  TAP_UNEXPECTED_MESSAGE: { status: 409, remedy: 'The message is not the one this state expects (reordered, repeated or skipped); start a new tap.' },
  TAP_VERSION_UNSUPPORTED: { status: 400, remedy: 'The peer speaks another tap protocol version; update the reader or the wallet.' },
  TAP_KEY_INVALID: { status: 400, remedy: 'The ephemeral key is not an uncompressed P-256 point on the curve; the peer is faulty or hostile.' },
  TAP_REFLECTED: { status: 422, remedy: 'The peer returned our own ephemeral key: a reflection attack; the tap was refused.' },
  TAP_REPLAYED: { status: 422, remedy: 'This ephemeral key was already used in an earlier tap: a recorded session is being replayed.' },
  TAP_MESSAGE_AUTH_FAILED: { status: 422, remedy: 'An encrypted tap message did not authenticate: altered in transit, reordered, or from another session.' },
  TAP_TRANSCRIPT_MISMATCH: { status: 422, remedy: 'The peer signed another transcript than ours: a relay in the middle changed a message; the tap was refused.' },
  TAP_READER_UNTRUSTED: { status: 422, remedy: 'The reader certificate does not chain to the city root for the reader or gate profile; enrol the reader with the city PKI.' },
  TAP_READER_REVOKED: { status: 422, remedy: 'The reader certificate is revoked or on hold; re-enrol the reader (the wallet refreshes its revocation list when online).' },
  TAP_READER_SITE_MISMATCH: { status: 422, remedy: 'The reader is not certified for the tenant or site it asks about; the wallet revealed nothing. Check the reader configuration.' },
  TAP_READER_SIGNATURE_INVALID: { status: 422, remedy: 'The reader signature over the transcript does not verify with its certified key; the reader is spoofed or misconfigured.' },
  TAP_NO_MATCHING_CREDENTIAL: { status: 404, remedy: 'The wallet holds no credential for what this reader asks; provision one, or check the reader request.' },
  TAP_USER_VERIFICATION_REQUIRED: { status: 403, remedy: 'The credential needs a fresh user verification (fingerprint, face or PIN) before its key signs; verify on the phone and tap again.' },
  TAP_DECLINED: { status: 422, remedy: 'The wallet declined the tap; details.reason names why (docs/tap-protocol.md, wallet decisions).' },
  TAP_TIMEOUT: { status: 504, remedy: 'The peer did not answer within the tap deadline; hold the phone or card to the reader again.' },
  TAP_TRANSPORT_CLOSED: { status: 503, remedy: 'The link to the peer closed during the tap (card removed, BLE or TCP disconnected); tap again.' },
  TAP_APDU_MALFORMED: { status: 400, remedy: 'The APDU is not a valid ISO 7816-4 short APDU or breaks the command-chaining rules.' },
  TAP_APDU_STATUS: { status: 422, remedy: 'The card answered with a status word other than 9000; details.sw names it (e.g. 6A82: application not found).' },
  TAP_STATE_INVALID: { status: 409, remedy: 'The tap session was used out of order or after it ended; create a new session per tap.' },

  // reader SDK and reader API (docs/reader.md)
  READER_CONFIG_INVALID: { status: 400, remedy: 'Fix the reader configuration key named in the message (docs/reader.md, configuration).' },
  READER_NOT_ENROLLED: { status: 409, remedy: 'The reader has no certificate yet; enrol it with a bootstrap token (`citytrust reader enroll`).' },
  READER_TRUST_CACHE_MISSING: { status: 503, remedy: 'The reader has no trust cache yet (city root, trust list, status lists); refresh it while online (`citytrust reader refresh`).' },
  READER_TRUST_CACHE_INVALID: { status: 422, remedy: 'The trust data offered to the reader does not verify against its pinned city root or issuers; the cache kept its previous content.' },
  READER_QUEUE_CORRUPT: { status: 500, remedy: 'A queued reader event failed its integrity check; the file was set aside in events/corrupt for inspection.' },
  READER_UPLOAD_FAILED: { status: 502, remedy: 'The server did not accept the event upload; the events stay queued and are sent again on the next upload.' },
  READER_NOT_FOUND: { status: 404, remedy: 'No reader with this id has enrolled or uploaded for your tenant (`citytrust reader list`).' },
  READER_UPLOAD_INVALID: { status: 400, remedy: 'Send the events as a COSE_Sign1 signed by the reader key (docs/reader.md, upload format).' },
  READER_UPLOAD_UNAUTHENTICATED: { status: 401, remedy: 'The upload is not signed by a current reader certificate of this reader; enrol or renew the reader certificate.' },
  READER_UPLOAD_STALE: { status: 422, remedy: 'The signed upload is older or newer than the server accepts (clock skew); check the reader clock and upload again.' },
  // updates: TUF repositories, publishing, rollout, device updater (docs/updates.md)
  UPDATE_REPO_NOT_FOUND: { status: 404, remedy: 'Check the repository id and that it belongs to your tenant (`citytrust updates repo list`).' },
  UPDATE_REPO_EXISTS: { status: 409, remedy: 'A repository with this id exists; pick another id.' },
  UPDATE_REPO_NOT_READY: { status: 409, remedy: 'The first root is not signed by its threshold yet; collect the offline signatures (`citytrust updates sign-root`).' },
  UPDATE_KEY_TYPE_NOT_ALLOWED: { status: 400, remedy: 'Use an ed25519 or ecdsa-sha2-nistp256 key (TUF keytype and scheme); nothing else is accepted.' },
  UPDATE_KEY_INVALID: { status: 400, remedy: 'Give the public key as TUF does: 64 hex digits for ed25519, an SPKI PEM for ecdsa-sha2-nistp256.' },
  UPDATE_KEY_NOT_FOUND: { status: 404, remedy: 'No key with this keyid serves the repository (`citytrust updates repo show`).' },
  UPDATE_THRESHOLD_INVALID: { status: 400, remedy: 'A threshold is at least 1 and at most the number of distinct keys of the role.' },
  UPDATE_THRESHOLD_NOT_MET: { status: 422, remedy: 'Fewer valid signatures than the role threshold; collect more signatures from distinct keys of the role.' },
  UPDATE_SIGNATURE_INVALID: { status: 422, remedy: 'The signature does not verify with the named key over the canonical bytes; sign the exact bytes `updates root-draft` printed.' },
  UPDATE_ROLE_NOT_FOUND: { status: 404, remedy: 'Check the role name (root, targets, snapshot, timestamp or a delegation of the repository).' },
  UPDATE_ROLE_EXISTS: { status: 409, remedy: 'A role with this name exists in the repository; pick another name.' },
  UPDATE_DELEGATION_PATH_FORBIDDEN: { status: 403, remedy: 'The role is not delegated for this device class; publish with the manufacturer role delegated for the class.' },
  UPDATE_DEVICE_CLASS_UNKNOWN: { status: 400, remedy: 'Use a device class the repository serves (`citytrust updates repo show`).' },
  UPDATE_VERSION_INVALID: { status: 400, remedy: 'Give versions as 1 to 4 dot-separated numbers (e.g. 2.14.0).' },
  UPDATE_VERSION_NOT_NEWER: { status: 409, remedy: 'A release must be newer than the current one of its class and name; publish a higher version.' },
  UPDATE_TARGET_EXISTS: { status: 409, remedy: 'This version is already published; publish a new version instead of replacing bytes.' },
  UPDATE_HASH_MISMATCH: { status: 422, remedy: 'The uploaded bytes do not have the SHA-256 you declared; upload the file unaltered.' },
  UPDATE_RELEASE_NOT_FOUND: { status: 404, remedy: 'No release of this name for this device class; publish one first.' },
  UPDATE_ROLLOUT_INVALID: { status: 400, remedy: 'A rollout is a percentage 0..100 and/or a list of sites.' },
  UPDATE_ROOT_DRAFT_NOT_FOUND: { status: 404, remedy: 'No root draft awaits signatures; start a rotation first (`citytrust updates root-rotate`).' },
  UPDATE_METADATA_MALFORMED: { status: 400, remedy: 'The TUF metadata is not well-formed JSON of the role it claims to be (TUF specification §4).' },
  UPDATE_REPORT_INVALID: { status: 400, remedy: 'Send an install report as docs/updates.md defines it: {report, signature}.' },
  UPDATE_REPORT_SIGNATURE_INVALID: { status: 422, remedy: 'The report is not signed by a current certificate key of the device.' },
  UPDATE_REPORT_REPLAYED: { status: 409, remedy: 'The report sequence number is not above the last one accepted; a report counts once.' },
  UPDATE_METADATA_EXPIRED: { status: 422, remedy: 'Metadata served is past its expiry (freeze attack, or the repository stopped refreshing); check the server and the device clock.' },
  UPDATE_METADATA_ROLLBACK: { status: 422, remedy: 'Metadata served is older than what the device already trusts (rollback attack); check the mirror.' },
  UPDATE_METADATA_MISMATCH: { status: 422, remedy: 'Metadata files do not match the versions and hashes that reference them (mix-and-match attack); check the mirror.' },
  UPDATE_TARGET_UNKNOWN: { status: 422, remedy: 'The file is not in signed metadata (arbitrary software); only signed targets are installed.' },
  UPDATE_TARGET_NOT_DELEGATED: { status: 422, remedy: 'No role delegated for this device class signed the image; the manufacturer must sign within its delegation.' },
  UPDATE_TARGET_HASH_MISMATCH: { status: 422, remedy: 'The downloaded file does not match its signed length and hashes (tampered image); check the mirror.' },
  UPDATE_TARGET_TOO_LARGE: { status: 413, remedy: 'More bytes arrived than the signed length or the device limit allows (endless-data attack); check the mirror.' },
  UPDATE_TARGET_WRONG_CLASS: { status: 422, remedy: 'The signed image is for another device class; release the image built for this class.' },
  UPDATE_VERSION_ROLLBACK: { status: 422, remedy: 'The release is older than the installed version; devices never go back. Release a higher version.' },
  UPDATE_BOOTLOADER_TOO_OLD: { status: 422, remedy: 'The image needs a newer bootloader than the device has; release a bootloader update first.' },
  UPDATE_FETCH_FAILED: { status: 502, remedy: 'The repository could not be reached or answered an error; the device keeps its current software and retries later.' },
  UPDATE_NOT_ENROLLED: { status: 409, remedy: 'The device has no trusted root yet; ship root.json with the device at enrolment.' },

  // metering: meter frames, ingest, commands, blackout guard, meter SDK (docs/metering.md, docs/meter-frames.md)
  METER_FRAME_MALFORMED: { status: 400, remedy: 'The frame does not have the layout of docs/meter-frames.md (version, type, security control, lengths); send it unaltered.' },
  METER_FRAME_TRUNCATED: { status: 400, remedy: 'The frame ends before its declared length or signature: it was cut in transit; the meter sends it again.' },
  METER_FRAME_TOO_LARGE: { status: 413, remedy: 'The frame or its body exceeds the size its type allows (docs/meter-frames.md, limits).' },
  METER_SIGNATURE_INVALID: { status: 422, remedy: 'The frame is not signed by the certified key of the meter named by its topic: forged, altered or from another meter.' },
  METER_SYSTEM_TITLE_MISMATCH: { status: 422, remedy: 'The system title in the frame is not the one of the meter named by its topic (or of this meter for a command).' },
  METER_IDENTITY_INVALID: { status: 422, remedy: 'The meter certificate does not chain to the meter CA, is for another meter, expired or revoked; re-enrol the meter.' },
  METER_KEY_UNKNOWN: { status: 422, remedy: 'The frame uses a key that was never established for this meter; the meter must send a key establishment frame first.' },
  METER_COUNTER_REPLAY: { status: 409, remedy: 'The invocation counter is not above the last one stored for this meter: a replayed, cloned or rolled-back frame. Investigate the meter.' },
  METER_COUNTER_EXHAUSTED: { status: 409, remedy: 'The meter used its last invocation counter value; it must be re-keyed with a new identity (re-enrol).' },
  METER_DECRYPT_FAILED: { status: 422, remedy: 'The AES-GCM tag does not verify: wrong key epoch, altered ciphertext or header; the meter should re-establish its key.' },
  METER_NOT_FOUND: { status: 404, remedy: 'Check the meter id and tenant (`citytrust meter list`); register the meter first.' },
  METER_EXISTS: { status: 409, remedy: 'A meter with this id is already registered for the tenant; pick another id.' },
  METER_NOT_ACTIVE: { status: 403, remedy: 'The meter device is not active (pending, suspended, compromised or retired); enrol or re-activate it first.' },
  METER_CLASS_UNKNOWN: { status: 400, remedy: 'Use a meter class from docs/metering.md: residential, commercial, industrial.' },
  METER_COMMAND_INVALID: { status: 400, remedy: 'Use an action (disconnect, reconnect, tariff, time-sync) with the arguments docs/metering.md lists, and 1..10000 distinct meters.' },
  METER_COMMAND_IMPLAUSIBLE: { status: 409, remedy: 'The command does not fit the meter state (e.g. reconnecting a connected meter, or a command already pending for it).' },
  METER_COMMAND_GUARD: { status: 429, remedy: 'The blackout guard refused: too many disconnects in the district or city within the window. Wait, or split the command (docs/metering.md).' },
  METER_COMMAND_NOT_FOUND: { status: 404, remedy: 'Check the command id and tenant (`citytrust meter commands`).' },
  METER_COMMAND_STATE: { status: 409, remedy: 'The command is no longer awaiting approval (dispatched, refused, cancelled or expired).' },
  METER_APPROVAL_INVALID: { status: 403, remedy: 'A command is approved by operators other than its requester, each once.' },
  METER_COMMAND_EXPIRED: { status: 422, remedy: 'The command is past its expiry (or not valid yet) at the meter clock; request it again, or sync the meter time.' },
  METER_COMMAND_REPLAY: { status: 409, remedy: 'The command counter is not above the last one the meter accepted: a replayed or reordered command.' },
  METER_COMMAND_SIGNATURE_INVALID: { status: 422, remedy: 'The command is not signed by a head-end command key the meter trusts.' },
  METER_NOT_PROVISIONED: { status: 409, remedy: 'The meter has no certificate, head-end trust or session key yet; enrol it and establish a key first.' },
  METER_WIPED: { status: 410, remedy: 'The meter wiped its keys after a tamper event; it must be inspected and re-enrolled with a new identity.' },
  METER_ENROLMENT_FAILED: { status: 502, remedy: 'EST enrolment failed (server unreachable, token refused or an unusable answer); check the URL and bootstrap token.' },
  METER_TRANSPORT_UNAVAILABLE: { status: 503, remedy: 'No MQTT broker is connected for meter traffic; start the embedded broker (mqtt.embedded) or set mqtt.url.' },
  METER_SETUP_MISSING: { status: 409, remedy: 'The tenant has no metering keys yet; run `citytrust meter setup --tenant <t>`.' },
  METER_COMPROMISED: { status: 403, remedy: 'The meter reported tampering (or was marked compromised): its certificates are revoked and its frames refused; inspect it and re-enrol it with a new identity.' },
  METER_HEAD_END_UNTRUSTED: { status: 422, remedy: 'The head-end certificate does not validate on the meter (chain to the city root, head-end profile, tenant, validity); fetch the current one from /v1/metering/tenants/{tenant}/head-end.' },
} as const satisfies Record<string, CodeInfo>;

export type ErrorCode = keyof typeof CODES;

export class CityTrustError extends Error {
  readonly code: ErrorCode;
  /** Extra, client-safe facts (e.g. the bad config key). Never secrets. */
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CityTrustError';
    this.code = code;
    this.details = options?.details;
  }

  get status(): number {
    return CODES[this.code].status;
  }

  get remedy(): string {
    return CODES[this.code].remedy;
  }

  /** What a client may see: code and message, never the cause or a stack. */
  toJSON(): { code: ErrorCode; message: string; details?: Readonly<Record<string, unknown>> } {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }
}

export function isCityTrustError(e: unknown, code?: ErrorCode): e is CityTrustError {
  return e instanceof CityTrustError && (code === undefined || e.code === code);
}

export function errorInfo(code: ErrorCode): CodeInfo {
  return CODES[code];
}

export function allErrorCodes(): ErrorCode[] {
  return Object.keys(CODES) as ErrorCode[];
}

/** Shorthand used at validation boundaries. */
export function fail(code: ErrorCode, message: string, details?: Record<string, unknown>): never {
  throw new CityTrustError(code, message, details === undefined ? undefined : { details });
}
