/**
 * The meter's check of the head-end's keys (device-side): each key comes with a certificate from
 * the meters CA, which the meter validates offline with the PKI's device-side validator against
 * the city root it was provisioned with — the path to the root, the profile (`head-end` for the
 * key-agreement key: keyAgreement KU and the head-end key-agreement EKU; `head-end-command` for
 * the command key), the tenant's head-end URN in the SAN, and validity at the meter's clock.
 * Only then does the meter agree a session key with the key or accept commands signed by it.
 */
import { CityTrustError, isCityTrustError } from '../core/errors.ts';
import { fromBase64, toHex } from '../core/bytes.ts';
import { headEndUrn } from '../pki/profiles.ts';
import { validateChain } from '../pki/validate.ts';
import { publicKeyId } from './suite.ts';

/** One head-end key as the meter keeps it: id, SPKI and the certificate that vouches for it. */
export interface TrustedHeadEndKey {
  /** 8-byte key id (hex) = the first bytes of SHA-256 over the SPKI. */
  readonly keyId: string;
  /** SubjectPublicKeyInfo DER, base64, taken from the validated certificate. */
  readonly spki: string;
  /** Certificate DER, base64. */
  readonly certificate: string;
  readonly notAfter: number;
}

export interface HeadEndCertificates {
  readonly tenant: string;
  readonly keyAgreement: { readonly keyId: string; readonly certificate?: string };
  readonly commandKeys: readonly { readonly keyId: string; readonly certificate?: string }[];
  /** CA certificates above the head-end certificates (DER, base64), issuing CA first. */
  readonly chain?: readonly string[];
}

/**
 * Validates one head-end certificate for `profile` at `now` and returns the key it certifies.
 * Every failure is METER_HEAD_END_UNTRUSTED with the validator's code as the reason.
 */
export function validateHeadEndKey(
  tenant: string,
  profile: 'head-end' | 'head-end-command',
  certificateB64: string | undefined,
  claimedKeyId: string,
  o: { readonly roots: readonly Uint8Array[]; readonly chain: readonly Uint8Array[]; readonly now: number },
): TrustedHeadEndKey {
  if (typeof certificateB64 !== 'string' || certificateB64.length === 0) throw new CityTrustError('METER_HEAD_END_UNTRUSTED', `the head-end ${profile} key comes without a certificate`, { details: { reason: 'no-certificate' } });
  if (o.roots.length === 0) throw new CityTrustError('METER_NOT_PROVISIONED', 'the meter has no city root to validate the head-end with');
  const der = fromBase64(certificateB64);
  let path;
  try {
    path = validateChain(der, { anchors: o.roots, intermediates: o.chain, time: o.now, profile });
  } catch (e) {
    throw new CityTrustError('METER_HEAD_END_UNTRUSTED', `the head-end ${profile} certificate does not validate`, { cause: e, details: { reason: isCityTrustError(e) ? e.code : 'INTERNAL' } });
  }
  if (!path.names.includes(`uri:${headEndUrn(tenant)}`)) throw new CityTrustError('METER_HEAD_END_UNTRUSTED', `the ${profile} certificate is for another tenant's head-end`, { details: { reason: 'foreign-certificate' } });
  const keyId = toHex(publicKeyId(path.spki));
  if (keyId !== claimedKeyId) throw new CityTrustError('METER_HEAD_END_UNTRUSTED', 'the key id is not the one of the certified key', { details: { reason: 'key-id' } });
  return { keyId, spki: Buffer.from(path.spki).toString('base64'), certificate: certificateB64, notAfter: path.notAfter };
}
