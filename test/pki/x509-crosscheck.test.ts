/**
 * src/pki/x509 writes and reads DER by hand (see the note in src/pki/x509/asn1.ts); these
 * tests hold it to independent readers: @peculiar/x509 for certificates, CRLs and CSRs,
 * @peculiar/asn1-ocsp for OCSP responses, and OpenSSL (node:crypto) for signatures.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate as NodeX509, createPublicKey, verify as nodeVerify, webcrypto } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { BasicOCSPResponse, OCSPResponse } from '@peculiar/asn1-ocsp';
import { NameConstraints } from '@peculiar/asn1-x509';
import { checkCsr } from '../../src/pki/index.ts';
import { fromPemOrDer } from '../../src/pki/x509/der.ts';
import { x509 } from './peculiar.ts';
import { keyPair, makeCsr, openPki } from './helpers.ts';
import { ocspRequest } from './ocsp-request.ts';

const pem = (s: string) => fromPemOrDer(s, ['CERTIFICATE'], 'PKI_DER_MALFORMED', 'cert');
const ab = (u: Uint8Array) => new Uint8Array(u);

describe('our DER against independent readers', () => {
  it('issues certificates that @peculiar/x509 reads field for field and whose signatures verify', async (t) => {
    const p = await openPki(t, { baseUrl: 'https://pki.citytrust.local' });
    await p.devices.register({ tenant: 'transit', id: 'gate-1', type: 'gate', site: 'north' }, 'test');
    const issued = await p.pki.issue(null, { csr: makeCsr(keyPair()), tenant: 'transit', deviceId: 'gate-1' }, 'test');
    const leaf = new x509.X509Certificate(ab(issued.der));
    const issuing = new x509.X509Certificate(ab(pem(issued.chainPem[0]!)));
    const root = new x509.X509Certificate(ab(pem(issued.chainPem[1]!)));
    assert.equal(leaf.serialNumber.toLowerCase(), issued.serial);
    assert.equal(leaf.subject, 'O=transit, OU=gate, CN=gate-1');
    assert.equal(leaf.issuer, issuing.subject);
    assert.equal(leaf.notAfter.getTime(), issued.notAfter);
    assert.equal(leaf.notBefore.getTime(), issued.notBefore);
    const bc = leaf.getExtension(x509.BasicConstraintsExtension)!;
    assert.equal(bc.ca, false);
    assert.ok(bc.critical);
    assert.equal(leaf.getExtension(x509.KeyUsagesExtension)!.usages, x509.KeyUsageFlags.digitalSignature);
    const san = leaf.getExtension(x509.SubjectAlternativeNameExtension)!;
    assert.deepEqual(san.names.items.map((n) => `${n.type}:${n.value}`), ['url:urn:citytrust:device:transit:gate-1', 'url:urn:citytrust:site:transit:north']);
    const cdp = leaf.getExtension(x509.CRLDistributionPointsExtension)!;
    assert.equal(cdp.distributionPoints[0]!.distributionPoint!.fullName![0]!.uniformResourceIdentifier, 'https://pki.citytrust.local/pki/crl/readers-1.crl');
    const aia = leaf.getExtension(x509.AuthorityInfoAccessExtension)!;
    assert.deepEqual(aia.ocsp.map((g) => g.value), ['https://pki.citytrust.local/pki/ocsp']);
    assert.deepEqual(aia.caIssuers.map((g) => g.value), ['https://pki.citytrust.local/pki/ca/readers-1.crt']);
    assert.equal(leaf.getExtension(x509.AuthorityKeyIdentifierExtension)!.keyId, issuing.getExtension(x509.SubjectKeyIdentifierExtension)!.keyId);
    // Issuing CA: a CA with pathLen 0 under a root with pathLen 1.
    assert.equal(issuing.getExtension(x509.BasicConstraintsExtension)!.pathLength, 0);
    assert.equal(root.getExtension(x509.BasicConstraintsExtension)!.pathLength, 1);
    assert.equal(issuing.getExtension(x509.KeyUsagesExtension)!.usages, x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign);
    // Signatures: WebCrypto through @peculiar/x509, and OpenSSL through node:crypto.
    assert.ok(await leaf.verify({ publicKey: issuing, signatureOnly: true }, webcrypto as Crypto));
    assert.ok(await issuing.verify({ publicKey: root, signatureOnly: true }, webcrypto as Crypto));
    assert.ok(new NodeX509(Buffer.from(issued.der)).verify(new NodeX509(Buffer.from(pem(issued.chainPem[0]!))).publicKey));
    assert.ok(new NodeX509(Buffer.from(issued.der)).checkIssued(new NodeX509(Buffer.from(pem(issued.chainPem[0]!)))));
  });

  it('writes the services CA name constraints as a critical extension that @peculiar/asn1-x509 decodes', async (t) => {
    const p = await openPki(t, { serviceDomains: ['citytrust.local'] });
    const services = await p.pki.caCertificate('services-1');
    assert.match(new NodeX509(Buffer.from(services)).subject, /Services CA 1/);
    const nc = new x509.X509Certificate(ab(services)).extensions.find((e) => e.type === '2.5.29.30')!;
    assert.ok(nc.critical);
    const decoded = AsnConvert.parse(nc.value, NameConstraints);
    assert.deepEqual([...decoded.permittedSubtrees!].map((st) => st.base.dNSName), ['citytrust.local']);
    assert.equal(decoded.excludedSubtrees, undefined);
  });

  it('publishes CRLs that @peculiar/x509 reads (entries, reasons, number) and whose signature verifies', async (t) => {
    const p = await openPki(t);
    await p.devices.register({ tenant: 'transit', id: 'gate-1', type: 'gate', site: 'north' }, 'test');
    const a = await p.pki.issue(null, { csr: makeCsr(keyPair()), tenant: 'transit', deviceId: 'gate-1' }, 'test');
    const b = await p.pki.issue(null, { csr: makeCsr(keyPair()), tenant: 'transit', deviceId: 'gate-1' }, 'test');
    await p.pki.revoke(null, a.serial, 'keyCompromise', 'test');
    await p.pki.revoke(null, b.serial, 'unspecified', 'test');
    const crl = await p.pki.crl('readers-1');
    const parsed = new x509.X509Crl(ab(crl.der));
    const issuing = new x509.X509Certificate(ab(pem(a.chainPem[0]!)));
    assert.equal(parsed.issuer, issuing.subject);
    const entries = new Map(parsed.entries.map((e) => [e.serialNumber.toLowerCase(), e.reason]));
    assert.equal(entries.size, 2);
    assert.equal(entries.get(a.serial), x509.X509CrlReason.keyCompromise);
    assert.equal(entries.get(b.serial), undefined, 'unspecified is written as no reasonCode (RFC 5280 §5.3.1)');
    assert.equal(parsed.nextUpdate!.getTime(), crl.nextUpdate - (crl.nextUpdate % 1000));
    assert.ok(parsed.extensions.some((e) => e.type === '2.5.29.20'), 'a CRL number');
    assert.ok(await parsed.verify({ publicKey: await issuing.publicKey.export(webcrypto as Crypto) }, webcrypto as Crypto));
  });

  it('signs OCSP responses that @peculiar/asn1-ocsp reads and OpenSSL verifies with the delegated responder key', async (t) => {
    const p = await openPki(t);
    await p.devices.register({ tenant: 'transit', id: 'gate-1', type: 'gate', site: 'north' }, 'test');
    const a = await p.pki.issue(null, { csr: makeCsr(keyPair()), tenant: 'transit', deviceId: 'gate-1' }, 'test');
    const issuerDer = pem(a.chainPem[0]!);
    const answer = await p.pki.ocspRespond(ocspRequest(a.der, issuerDer, { nonce: new Uint8Array(12).fill(3) }));
    const r = AsnConvert.parse(answer.der, OCSPResponse);
    assert.equal(r.responseStatus, 0);
    const basic = AsnConvert.parse(r.responseBytes!.response, BasicOCSPResponse);
    const single = basic.tbsResponseData.responses[0]!;
    assert.equal(Buffer.from(single.certID.serialNumber).toString('hex').replace(/^00/, ''), a.serial);
    assert.ok(single.certStatus.good !== undefined);
    const responder = new NodeX509(Buffer.from(AsnConvert.serialize(basic.certs![0]!)));
    assert.ok(responder.checkIssued(new NodeX509(Buffer.from(issuerDer))));
    assert.deepEqual(responder.keyUsage, ['1.3.6.1.5.5.7.3.9']);
    const tbs = new Uint8Array(AsnConvert.serialize(basic.tbsResponseData));
    assert.ok(nodeVerify('sha256', tbs, { key: createPublicKey(responder.publicKey.export({ type: 'spki', format: 'pem' })), dsaEncoding: 'der' }, new Uint8Array(basic.signature)));
  });

  it('reads a CSR written by @peculiar/x509 exactly as that library does', async () => {
    const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
    const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair;
    const req = await x509.Pkcs10CertificateRequestGenerator.create(
      { name: 'CN=meter-1', keys, signingAlgorithm: alg, extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'url', value: 'urn:citytrust:device:utility:meter-1' }, { type: 'dns', value: 'meter-1.example' }])] },
      webcrypto as Crypto,
    );
    const ours = checkCsr(new Uint8Array(req.rawData));
    assert.ok(await req.verify(webcrypto as Crypto));
    assert.deepEqual(ours.spki, new Uint8Array(req.publicKey.rawData));
    assert.deepEqual(ours.requestedNames, ['uri:urn:citytrust:device:utility:meter-1', 'dns:meter-1.example']);
    assert.equal(ours.keyType, 'ec-p256');
    assert.equal(ours.requestsCa, false);
    // A CSR whose signature @peculiar/x509 rejects is rejected here too.
    const tampered = new Uint8Array(req.rawData);
    tampered[tampered.length - 5] ^= 0x01;
    assert.throws(() => checkCsr(tampered), (e: { code?: string }) => e.code === 'PKI_CSR_SIGNATURE_INVALID' || e.code === 'PKI_CSR_MALFORMED');
  });
});
