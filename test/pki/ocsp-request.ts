/** Builds OCSP requests (RFC 6960 §4.1.1) for tests, the way openssl does: SHA-1 CertID, optional nonce. */
import { createHash } from 'node:crypto';
import { explicit, extensionDer, octets, oid, seq, uint, NULL } from '../../src/pki/x509/asn1.ts';
import { certFields } from '../../src/pki/x509/cert-fields.ts';

export function ocspRequest(cert: Uint8Array, issuer: Uint8Array, o: { nonce?: Uint8Array; hash?: 'sha1' | 'sha256'; serial?: Uint8Array; extra?: number } = {}): Uint8Array {
  const c = certFields(cert);
  const i = certFields(issuer);
  const h = o.hash ?? 'sha1';
  const algOid = h === 'sha1' ? '1.3.14.3.2.26' : '2.16.840.1.101.3.4.2.1';
  const certId = seq(seq(oid(algOid), NULL), octets(createHash(h).update(c.issuer).digest()), octets(createHash(h).update(i.publicKey).digest()), uint(o.serial ?? Buffer.from(c.serial, 'hex')));
  const list = Array.from({ length: 1 + (o.extra ?? 0) }, () => seq(certId));
  const exts = o.nonce ? [explicit(2, seq(extensionDer('1.3.6.1.5.5.7.48.1.2', false, octets(o.nonce))))] : [];
  return seq(seq(seq(...list), ...exts));
}
