/** Certificates from a throwaway foreign CA, for meters that must not be trusted (or do not need to be). */
import { generateKeyPairSync, sign as nodeSign, randomBytes } from 'node:crypto';
import { buildCertificate, nameDer } from '../../src/pki/x509/build.ts';
import { extensionDer, seq } from '../../src/pki/x509/asn1.ts';
import { generalNames } from '../../src/pki/x509/extensions.ts';
import { deviceUrn } from '../../src/pki/index.ts';
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
