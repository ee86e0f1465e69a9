/** Certificates from a throwaway foreign CA, for meters that must not be trusted (or do not need to be). */
import { generateKeyPairSync, sign as nodeSign, randomBytes } from 'node:crypto';
import { buildCertificate, nameDer } from '../../src/pki/x509/build.ts';
import { extensionDer, seq } from '../../src/pki/x509/asn1.ts';
import { authorityKeyIdentifier, basicConstraints, certificatePolicies, extKeyUsage, generalNames, keyIdentifier, keyUsage, subjectAltName, subjectKeyIdentifier } from '../../src/pki/x509/extensions.ts';
import { deviceUrn, headEndUrn, PROFILE_TABLE } from '../../src/pki/index.ts';
import type { SimulatedMeter } from '../../src/metering/meter.ts';

/** A certificate for `spki` naming the device URN, signed by a CA nobody trusts. */
export async function foreignCertificate(spki: Uint8Array, tenant: string, meterId: string): Promise<Uint8Array> {
  const ca = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const issuer = nameDer([['O', 'elsewhere'], ['CN', 'Foreign meters CA']]);
  const serial = new Uint8Array(randomBytes(16));
  serial[0]! &= 0x7f;
  return buildCertificate(
    {
      serial,
      issuer,
      subject: nameDer([['O', tenant], ['OU', 'meter'], ['CN', meterId]]),
      notBefore: Date.UTC(2020, 0, 1),
      notAfter: Date.UTC(2040, 0, 1),
      spki,
      extensions: [extensionDer('2.5.29.17', false, seq(...generalNames({ uri: [deviceUrn(tenant, meterId)] })))],
    },
    { keyType: 'ec-p256', sign: async (data) => new Uint8Array(nodeSign('sha256', data, ca.privateKey)) },
  );
}

/** A certificate for a meter's own key (the meter only checks that it certifies its key). */
export function selfSignedCertificate(meter: SimulatedMeter): Promise<Uint8Array> {
  return foreignCertificate(meter.publicKeySpki(), meter.tenant, meter.meterId);
}

/**
 * A small city PKI of the test's own — root, meters CA, and head-end certificates under the
 * `head-end` and `head-end-command` profiles — for meter tests that hold the head-end's private
 * keys themselves (to derive session keys and sign commands by hand).
 */
export interface TestCity {
  readonly root: Uint8Array;
  readonly metersCa: Uint8Array;
  /** A head-end certificate for `spki` under `profile`, for `tenant`'s head-end (or another URN). */
  certify(spki: Uint8Array, profile: 'head-end' | 'head-end-command' | 'meter', o?: { tenant?: string; notBefore?: number; notAfter?: number; uri?: string }): Promise<Uint8Array>;
}

export async function testCity(): Promise<TestCity> {
  // The subjectPublicKey bits of a P-256 SPKI: its last 65 bytes (the uncompressed point).
  const bits = (spki: Uint8Array) => spki.subarray(spki.length - 65);
  const mk = () => generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spkiOf = (k: ReturnType<typeof mk>) => new Uint8Array(k.publicKey.export({ type: 'spki', format: 'der' }));
  const signer = (k: ReturnType<typeof mk>) => ({ keyType: 'ec-p256' as const, sign: async (data: Uint8Array) => new Uint8Array(nodeSign('sha256', data, k.privateKey)) });
  const serial = () => {
    const s = new Uint8Array(randomBytes(16));
    s[0]! &= 0x7f;
    return s;
  };
  const rootKey = mk();
  const caKey = mk();
  const rootName = nameDer([['O', 'test city'], ['CN', 'test city root CA']]);
  const caName = nameDer([['O', 'test city'], ['CN', 'test city meters CA']]);
  const rootSki = keyIdentifier(bits(spkiOf(rootKey)));
  const caSki = keyIdentifier(bits(spkiOf(caKey)));
  const from = Date.UTC(2020, 0, 1);
  const to = Date.UTC(2040, 0, 1);
  const root = await buildCertificate(
    { serial: serial(), issuer: rootName, subject: rootName, notBefore: from, notAfter: to, spki: spkiOf(rootKey), extensions: [basicConstraints(true, 1), keyUsage(['keyCertSign', 'cRLSign']), subjectKeyIdentifier(rootSki)] },
    signer(rootKey),
  );
  const metersCa = await buildCertificate(
    { serial: serial(), issuer: rootName, subject: caName, notBefore: from, notAfter: to, spki: spkiOf(caKey), extensions: [basicConstraints(true, 0), keyUsage(['keyCertSign', 'cRLSign']), subjectKeyIdentifier(caSki), authorityKeyIdentifier(rootSki)] },
    signer(rootKey),
  );
  return {
    root,
    metersCa,
    certify: (spki, profileName, o = {}) => {
      const p = PROFILE_TABLE[profileName];
      const tenant = o.tenant ?? 'utility';
      return buildCertificate(
        {
          serial: serial(),
          issuer: caName,
          subject: nameDer([['O', tenant], ['OU', profileName], ['CN', 'head-end']]),
          notBefore: o.notBefore ?? from,
          notAfter: o.notAfter ?? to,
          spki,
          extensions: [
            basicConstraints(false),
            keyUsage(p.keyUsage),
            extKeyUsage(p.eku),
            subjectKeyIdentifier(keyIdentifier(bits(spki))),
            authorityKeyIdentifier(caSki),
            certificatePolicies([p.policy]),
            subjectAltName({ uri: [o.uri ?? headEndUrn(tenant)] }),
          ],
        },
        signer(caKey),
      );
    },
  };
}
