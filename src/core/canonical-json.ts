/**
 * Canonical JSON for hashed records (audit leaves): object keys sorted by UTF-16 code units,
 * no whitespace, strings as JSON.stringify writes them. This is the RFC 8785 (JCS) subset
 * that matters for us: we allow only strings, booleans, null, finite numbers, arrays and
 * plain objects; numbers use ECMAScript's shortest form, as JCS §3.2.2.3 prescribes.
 */
import { CityTrustError } from './errors.ts';

export function canonicalJson(value: unknown, depth = 0): string {
  if (depth > 16) throw new CityTrustError('INPUT_INVALID', 'value nests too deeply for a canonical record');
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      // RFC 8785 §3.2.2.3: ECMAScript's shortest round-trip form, which JSON.stringify writes.
      if (!Number.isFinite(value)) throw new CityTrustError('INPUT_INVALID', 'canonical records hold only finite numbers');
      if (!Number.isSafeInteger(value) && Number.isInteger(value)) throw new CityTrustError('INPUT_INVALID', 'integers in canonical records must be below 2^53');
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v, depth + 1)).join(',')}]`;
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) throw new CityTrustError('INPUT_INVALID', 'canonical records hold only plain objects');
      const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
      entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v, depth + 1)}`).join(',')}}`;
    }
    default:
      throw new CityTrustError('INPUT_INVALID', `canonical records cannot hold a ${typeof value}`);
  }
}
