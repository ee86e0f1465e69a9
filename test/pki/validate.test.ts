/** Device-side path validation (RFC 5280 §6.1): one code per failure. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign as nodeSign } from 'node:crypto';
import { validateChain, type ValidationOptions } from '../../src/pki/index.ts';
import { buildCertificate, nameDer, type DerSigner } from '../../src/pki/x509/build.ts';
import { extensionDer, NULL } from '../../src/pki/x509/asn1.ts';
import { fromPemOrDer } from '../../src/pki/x509/der.ts';
import { basicConstraints, certificatePolicies, extKeyUsage, keyIdentifier, keyUsage, subjectAltName, subjectKeyIdentifier, authorityKeyIdentifier } from '../../src/pki/x509/extensions.ts';
import { EKU_SERVER_AUTH } from '../../src/pki/x509/oids.ts';
import { spkiPublicKey } from '../../src/pki/x509/cert-fields.ts';
import { PROFILE_TABLE } from '../../src/pki/profiles.ts';
import { keyPair, makeCsr, openPki, type TestPki } from './helpers.ts';

const pem = (s: string) => fromPemOrDer(s, ['CERTIFICATE'], 'PKI_DER_MALFORMED', 'cert');
const DAY = 86_400_000;

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
  return 'OK';
}

function localSigner(): { signer: DerSigner; spki: Uint8Array } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { signer: { keyType: 'ec-p256', sign: async (d) => new Uint8Array(nodeSign('sha256', d, { key: privateKey, dsaEncoding: 'der' })) }, spki: new Uint8Array(publicKey.export({ type: 'spki', format: 'der' })) };
}

/** A certificate signed by one of the PKI's CAs (through the vault) with whatever extensions a test needs. */
async function craft(p: TestPki, caId: string, o: { spki?: Uint8Array; exts: Uint8Array[]; cn?: string; notBefore?: number; notAfter?: number }): Promise<Uint8Array> {
  const ca = await p.pki.cas.get(caId);
  const spki = o.spki ?? new Uint8Array(keyPair().publicKey.export({ type: 'spki', format: 'der' }));
  return buildCertificate(
    { serial: Uint8Array.of(0x42, 1, 2, 3), issuer: ca.subjectDer, subject: nameDer([['CN', o.cn ?? 'crafted']]), notBefore: o.notBefore ?? p.clock.now() - DAY, notAfter: o.notAfter ?? p.clock.now() + DAY, spki, extensions: [...o.exts, authorityKeyIdentifier(ca.keyIdentifier)] },
    p.pki.cas.signer(ca, 'test'),
  );
}

interface Fixture {
  p: TestPki;
  leaf: Uint8Array;
  issuer: Uint8Array;
  root: Uint8Array;
  opts: ValidationOptions;
}

async function fixture(t: Parameters<typeof openPki>[0]): Promise<Fixture> {
  const p = await openPki(t);
  await p.devices.register({ tenant: 'transit', id: 'gate-1', type: 'gate', site: 'x' }, 'test');
  const issued = await p.pki.issue(null, { csr: makeCsr(keyPair()), tenant: 'transit', deviceId: 'gate-1' }, 'test');
  const leaf = issued.der;
  const issuer = pem(issued.chainPem[0]!);
  const root = pem(issued.chainPem[1]!);
  return { p, leaf, issuer, root, opts: { anchors: [root], intermediates: [issuer], time: p.clock.now(), profile: 'gate' } };
}

describe('validating a certificate path', () => {
  it('accepts a device certificate through its issuing CA to the root, and names one code for each defect', async (t) => {
    const f = await fixture(t);
    const { p, leaf, opts } = f;
    assert.equal(code(() => validateChain(leaf, opts)), 'OK');
    // time
    assert.equal(code(() => validateChain(leaf, { ...opts, time: p.clock.now() - 2 * DAY })), 'PKI_CHAIN_NOT_YET_VALID');
    assert.equal(code(() => validateChain(leaf, { ...opts, time: p.clock.now() + 400 * DAY })), 'PKI_CHAIN_EXPIRED');
    // anchors and structure
    const other = await fixture(t);
    assert.equal(code(() => validateChain(leaf, { ...opts, anchors: [other.root] })), 'PKI_CHAIN_NO_PATH');
    assert.equal(code(() => validateChain(leaf, { ...opts, intermediates: [] })), 'PKI_CHAIN_NO_PATH');
    assert.equal(code(() => validateChain(new Uint8Array([0x30, 0x03, 1, 2, 3]), opts)), 'PKI_CHAIN_MALFORMED');
    assert.equal(code(() => validateChain(leaf, { ...opts, maxDepth: 2 })), 'PKI_CHAIN_TOO_LONG');
    const forged = new Uint8Array(leaf);
    forged[forged.length - 5] ^= 0x01;
    assert.equal(code(() => validateChain(forged, opts)), 'PKI_CHAIN_SIGNATURE_INVALID');
    // purpose
    assert.equal(code(() => validateChain(leaf, { ...opts, profile: 'tls-server' })), 'PKI_CHAIN_EKU');
    assert.equal(code(() => validateChain(leaf, { ...opts, profile: 'reader' })), 'PKI_CHAIN_PROFILE');
    assert.equal(code(() => validateChain(leaf, { ...opts, profile: undefined, keyUsage: ['keyAgreement'] })), 'PKI_CHAIN_KEY_USAGE');
    // revocation
    const crls = [(await p.pki.crl('readers-1')).der, (await p.pki.crl('root-1')).der];
    assert.equal(code(() => validateChain(leaf, { ...opts, revocation: { crls } })), 'OK');
    assert.equal(code(() => validateChain(leaf, { ...opts, revocation: { crls: [crls[0]!] } })), 'PKI_CHAIN_REVOCATION_UNKNOWN');
    assert.equal(code(() => validateChain(leaf, { ...opts, revocation: { crls: [crls[0]!], required: false } })), 'OK');
    assert.equal(code(() => validateChain(leaf, { ...opts, time: p.clock.now() + 2 * DAY, revocation: { crls } })), 'PKI_CHAIN_CRL_INVALID');
    const otherCrl = (await other.p.pki.crl('readers-1')).der;
    assert.equal(code(() => validateChain(leaf, { ...opts, revocation: { crls: [otherCrl, crls[1]!] } })), 'PKI_CHAIN_CRL_INVALID');
    const serial = (await p.pki.listCertificates(null, { deviceId: 'gate-1' }))[0]!.serial;
    await p.pki.revoke(null, serial, 'keyCompromise', 'test');
    const crls2 = [(await p.pki.crl('readers-1')).der, crls[1]!];
    assert.equal(code(() => validateChain(leaf, { ...opts, revocation: { crls: crls2 } })), 'PKI_CHAIN_REVOKED');
  });

  it('refuses a path through a certificate that is not a CA, or that exceeds a pathLenConstraint', async (t) => {
    const { p, issuer, opts } = await fixture(t);
    // An end entity of the readers CA used as an issuer: not a CA.
    const local = localSigner();
    const fakeCa = await craft(p, 'readers-1', { spki: local.spki, cn: 'fake CA', exts: [basicConstraints(false), keyUsage(['keyCertSign']), subjectKeyIdentifier(keyIdentifier(spkiPublicKey(local.spki)))] });
    const below = await buildCertificate(
      { serial: Uint8Array.of(9), issuer: nameDer([['CN', 'fake CA']]), subject: nameDer([['CN', 'victim']]), notBefore: p.clock.now() - DAY, notAfter: p.clock.now() + DAY, spki: new Uint8Array(keyPair().publicKey.export({ type: 'spki', format: 'der' })), extensions: [basicConstraints(false), keyUsage(['digitalSignature'])] },
      local.signer,
    );
    assert.equal(code(() => validateChain(below, { ...opts, profile: undefined, intermediates: [issuer, fakeCa] })), 'PKI_CHAIN_NOT_CA');
    // A CA below the issuing CA (pathLen 0): the path is one CA too long.
    const subCa = await craft(p, 'readers-1', { spki: local.spki, cn: 'fake CA', exts: [basicConstraints(true), keyUsage(['keyCertSign', 'cRLSign']), subjectKeyIdentifier(keyIdentifier(spkiPublicKey(local.spki)))] });
    assert.equal(code(() => validateChain(below, { ...opts, profile: undefined, intermediates: [issuer, subCa] })), 'PKI_CHAIN_PATH_LENGTH');
  });

  it('enforces the services CA name constraints, unknown critical extensions and the key allow-list', async (t) => {
    const { p, root } = await fixture(t);
    const services = (await p.pki.cas.get('services-1')).certDer;
    const tls = PROFILE_TABLE['tls-server'];
    const base = [basicConstraints(false), keyUsage(['digitalSignature']), extKeyUsage([EKU_SERVER_AUTH]), certificatePolicies([tls.policy])];
    const o: ValidationOptions = { anchors: [root], intermediates: [services], time: p.clock.now(), profile: 'tls-server' };
    const inside = await craft(p, 'services-1', { exts: [...base, subjectAltName({ dns: ['api.citytrust.local'] })] });
    assert.equal(code(() => validateChain(inside, o)), 'OK');
    const outside = await craft(p, 'services-1', { exts: [...base, subjectAltName({ dns: ['bank.example'] })] });
    assert.equal(code(() => validateChain(outside, o)), 'PKI_CHAIN_NAME_CONSTRAINTS');
    const critical = await craft(p, 'services-1', { exts: [...base, subjectAltName({ dns: ['api.citytrust.local'] }), extensionDer('1.2.3.4.5', true, NULL)] });
    assert.equal(code(() => validateChain(critical, o)), 'PKI_CHAIN_CRITICAL_EXTENSION');
    const rsa = await craft(p, 'services-1', { spki: new Uint8Array(keyPair('rsa').publicKey.export({ type: 'spki', format: 'der' })), exts: [...base, subjectAltName({ dns: ['api.citytrust.local'] })] });
    assert.equal(code(() => validateChain(rsa, o)), 'PKI_CHAIN_ALG_NOT_ALLOWED');
  });

  it('keeps old chains valid after an issuing CA rollover while new certificates chain through the new CA', async (t) => {
    const { p, leaf, issuer, root, opts } = await fixture(t);
    const next = await p.pki.rollover('readers', 'test');
    assert.equal(next.id, 'readers-2');
    assert.equal((await p.pki.cas.get('readers-1')).state, 'retired');
    const newer = await p.pki.issue(null, { csr: makeCsr(keyPair()), tenant: 'transit', deviceId: 'gate-1' }, 'test');
    assert.equal(newer.caId, 'readers-2');
    const both = [issuer, pem(newer.chainPem[0]!)];
    assert.equal(code(() => validateChain(leaf, { ...opts, intermediates: both })), 'OK');
    assert.equal(code(() => validateChain(newer.der, { ...opts, intermediates: both })), 'OK');
    // The retired CA still publishes its CRL, and OCSP still answers for it.
    assert.ok((await p.pki.crl('readers-1')).der.length > 0);
    assert.deepEqual(root, pem(newer.chainPem[1]!));
  });
});
