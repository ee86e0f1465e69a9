/**
 * PKCS#11 attribute templates for citytrust keys (docs/vault.md, "PKCS#11 mapping").
 * Private and secret keys are token objects with CKA_SENSITIVE = true, CKA_EXTRACTABLE as the
 * key's policy says (false by default), and only the CKA_SIGN/DECRYPT/… flags its usages name,
 * so the HSM enforces the usages as well as the vault.
 */
import type { Template } from 'pkcs11js';
import { pk } from './binding.ts';
import type { KeyType, KeyUsage } from '../types.ts';

// PKCS#11 v3.0 §6.3 / §2.3.6 (Edwards curves); pkcs11js 2.x predates them, SoftHSM 2.6 implements them.
export const CKK_EC_EDWARDS = 0x40;
export const CKM_EC_EDWARDS_KEY_PAIR_GEN = 0x1055;
export const CKM_EDDSA = 0x1057;

/** DER OIDs for CKA_EC_PARAMS (RFC 5480 §2.1.1.1 named curves; RFC 8410 §3 for Ed25519). */
export const EC_PARAMS: Record<'ec-p256' | 'ec-p384' | 'ed25519', Buffer> = {
  'ec-p256': Buffer.from('06082a8648ce3d030107', 'hex'),
  'ec-p384': Buffer.from('06052b81040022', 'hex'),
  // PrintableString "edwards25519": the form SoftHSM2 2.6 and PKCS#11 v3.0 §2.3.5 accept.
  ed25519: Buffer.from('130c656477617264733235353139', 'hex'),
};

export const APPLICATION = 'citytrust-vault';

export interface KeyTemplates {
  mechanism: number;
  /** Single key (AES, HMAC) or the private half of a pair. */
  secretOrPrivate: Template;
  public?: Template;
}

const has = (usages: readonly KeyUsage[], u: KeyUsage) => usages.includes(u);
/** Every flag a usage does not grant is set false explicitly: tokens default some to true (SoftHSM2: CKA_DECRYPT, CKA_UNWRAP). */
const off = (...types: number[]): Template => types.map((type) => ({ type, value: false }));

/** Templates for version `version` of key `id`; CKA_ID and CKA_LABEL are `<id>.v<version>`. */
export function keyTemplates(type: KeyType, id: string, version: number, usages: readonly KeyUsage[], extractable: boolean): KeyTemplates {
  const p = pk();
  const name = `${id}.v${version}`;
  const common: Template = [
    { type: p.CKA_TOKEN, value: true },
    { type: p.CKA_LABEL, value: name },
    { type: p.CKA_ID, value: Buffer.from(name, 'latin1') },
  ];
  const guarded: Template = [
    ...common,
    { type: p.CKA_PRIVATE, value: true },
    { type: p.CKA_SENSITIVE, value: true },
    { type: p.CKA_EXTRACTABLE, value: extractable },
  ];
  switch (type) {
    case 'ec-p256':
    case 'ec-p384':
    case 'ed25519': {
      const ed = type === 'ed25519';
      return {
        mechanism: ed ? CKM_EC_EDWARDS_KEY_PAIR_GEN : p.CKM_EC_KEY_PAIR_GEN,
        public: [
          ...common,
          { type: p.CKA_CLASS, value: p.CKO_PUBLIC_KEY },
          { type: p.CKA_KEY_TYPE, value: ed ? CKK_EC_EDWARDS : p.CKK_EC },
          { type: p.CKA_EC_PARAMS, value: EC_PARAMS[type] },
          { type: p.CKA_VERIFY, value: has(usages, 'verify') },
          ...off(p.CKA_ENCRYPT, p.CKA_WRAP, p.CKA_VERIFY_RECOVER, p.CKA_DERIVE),
        ],
        secretOrPrivate: [
          ...guarded,
          { type: p.CKA_CLASS, value: p.CKO_PRIVATE_KEY },
          { type: p.CKA_KEY_TYPE, value: ed ? CKK_EC_EDWARDS : p.CKK_EC },
          { type: p.CKA_SIGN, value: has(usages, 'sign') },
          { type: p.CKA_DERIVE, value: has(usages, 'derive') },
          ...off(p.CKA_DECRYPT, p.CKA_UNWRAP, p.CKA_SIGN_RECOVER),
        ],
      };
    }
    case 'aes-256-gcm':
      return {
        mechanism: p.CKM_AES_KEY_GEN,
        secretOrPrivate: [
          ...guarded,
          { type: p.CKA_CLASS, value: p.CKO_SECRET_KEY },
          { type: p.CKA_KEY_TYPE, value: p.CKK_AES },
          { type: p.CKA_VALUE_LEN, value: 32 },
          { type: p.CKA_ENCRYPT, value: has(usages, 'encrypt') },
          { type: p.CKA_DECRYPT, value: has(usages, 'decrypt') },
          { type: p.CKA_WRAP, value: has(usages, 'wrap') },
          { type: p.CKA_UNWRAP, value: has(usages, 'unwrap') },
          ...off(p.CKA_SIGN, p.CKA_VERIFY, p.CKA_DERIVE),
        ],
      };
    case 'hmac-sha256':
      return {
        mechanism: p.CKM_GENERIC_SECRET_KEY_GEN,
        secretOrPrivate: [
          ...guarded,
          { type: p.CKA_CLASS, value: p.CKO_SECRET_KEY },
          { type: p.CKA_KEY_TYPE, value: p.CKK_GENERIC_SECRET },
          { type: p.CKA_VALUE_LEN, value: 32 },
          { type: p.CKA_SIGN, value: has(usages, 'mac') },
          { type: p.CKA_VERIFY, value: has(usages, 'verify') },
          ...off(p.CKA_ENCRYPT, p.CKA_DECRYPT, p.CKA_WRAP, p.CKA_UNWRAP, p.CKA_DERIVE),
        ],
      };
  }
}

/** The metadata object of a key: a private CKO_DATA object holding the KeyInfo JSON. */
export function metadataTemplate(id: string, json: string): Template {
  const p = pk();
  return [
    { type: p.CKA_CLASS, value: p.CKO_DATA },
    { type: p.CKA_TOKEN, value: true },
    { type: p.CKA_PRIVATE, value: true },
    { type: p.CKA_APPLICATION, value: APPLICATION },
    { type: p.CKA_LABEL, value: id },
    { type: p.CKA_VALUE, value: Buffer.from(json, 'utf8') },
  ];
}

/** CKA_EC_POINT is a DER OCTET STRING around the point (PKCS#11 v2.40 §2.3.3); some tokens omit the wrapper. */
export function unwrapEcPoint(value: Buffer, pointLength: number): Buffer {
  if (value.length === pointLength) return value;
  if (value[0] === 0x04 && value.length === pointLength + 2 && value[1] === pointLength) return value.subarray(2);
  if (value[0] === 0x04 && value.length === pointLength + 3 && value[1] === 0x81 && value[2] === pointLength) return value.subarray(3);
  throw new Error('unexpected CKA_EC_POINT encoding');
}
