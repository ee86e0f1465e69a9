/**
 * Loads pkcs11js (a Node-API addon, so one build serves every Node ≥ 18 ABI) on first use, so
 * that a deployment using only the software backend never loads native code.
 */
import { createRequire } from 'node:module';
import type * as Pkcs11 from 'pkcs11js';
import { CityTrustError } from '../../core/errors.ts';

type Pkcs11Module = typeof Pkcs11;
let cached: Pkcs11Module | undefined;

export function pk(): Pkcs11Module {
  if (cached) return cached;
  try {
    cached = createRequire(import.meta.url)('pkcs11js') as Pkcs11Module;
  } catch (cause) {
    throw new CityTrustError('VAULT_UNSUPPORTED', 'the PKCS#11 binding (pkcs11js) is not installed or failed to build', { cause });
  }
  return cached;
}
