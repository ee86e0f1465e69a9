/**
 * The meter's PKCS#10 certification request (RFC 2986 §4) for a P-256 identity key, signed
 * ecdsa-with-SHA256 (RFC 5758 §3.2). The PKI decides everything a certificate says from its
 * profile; the request only proves possession of the key, so it names the meter in the CN and
 * asks for nothing else. Device-side: a few lines of DER instead of an X.509 library.
 */
import type { KeyObject } from 'node:crypto';
import { concatBytes, utf8 } from '../core/bytes.ts';
import { createSignature, exportSpkiPublicKey } from '../crypto/index.ts';

function tlv(tag: number, ...parts: Uint8Array[]): Uint8Array {
  const body = concatBytes(...parts);
  const n = body.length;
  // X.690 §8.1.3: short form below 128, else the minimal long form.
  const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
  return concatBytes(Uint8Array.of(tag, ...len), body);
}

const OID_COMMON_NAME = Uint8Array.of(0x06, 0x03, 0x55, 0x04, 0x03);
// AlgorithmIdentifier ecdsa-with-SHA256, parameters absent (RFC 5758 §3.2).
const ECDSA_SHA256 = Uint8Array.of(0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02);

/** DER of a CSR for `privateKey` with subject CN = `commonName`. */
export function createMeterCsr(privateKey: KeyObject, publicKey: KeyObject, commonName: string): Uint8Array {
  const name = tlv(0x30, tlv(0x31, tlv(0x30, OID_COMMON_NAME, tlv(0x0c, utf8.encode(commonName)))));
  const info = tlv(0x30, Uint8Array.of(0x02, 0x01, 0x00), name, exportSpkiPublicKey(publicKey), Uint8Array.of(0xa0, 0x00));
  const signature = createSignature('ES256', privateKey, info, 'der');
  return tlv(0x30, info, ECDSA_SHA256, tlv(0x03, Uint8Array.of(0), signature));
}
