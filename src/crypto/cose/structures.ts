/**
 * The to-be-signed / to-be-MACed / additional-data structures of RFC 9052 §4.4, §6.3 and §5.3,
 * written by hand: they are fixed-shape arrays of one text and a few byte strings, encoded on every
 * verification, so we skip the generic encoder and allocate one buffer.
 */

const enc = new TextEncoder();

/** The initial byte(s) of a major type with argument `n` (RFC 8949 §3), shortest form. */
function head(major: number, n: number): Uint8Array {
  const m = major << 5;
  if (n < 24) return Uint8Array.of(m | n);
  if (n < 0x100) return Uint8Array.of(m | 24, n);
  if (n < 0x10000) return Uint8Array.of(m | 25, n >> 8, n & 0xff);
  return Uint8Array.of(m | 26, (n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

type Part = { readonly kind: 'text'; readonly value: string } | { readonly kind: 'bytes'; readonly value: Uint8Array };

function encodeArray(parts: readonly Part[]): Uint8Array {
  const chunks: Uint8Array[] = [head(4, parts.length)];
  for (const p of parts) {
    const body = p.kind === 'text' ? enc.encode(p.value) : p.value;
    chunks.push(head(p.kind === 'text' ? 3 : 2, body.length), body);
  }
  let n = 0;
  for (const c of chunks) n += c.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

const text = (value: string): Part => ({ kind: 'text', value });
const bytes = (value: Uint8Array): Part => ({ kind: 'bytes', value });

/** RFC 9052 §4.4 Sig_structure for COSE_Sign1: ["Signature1", body_protected, external_aad, payload]. */
export function sigStructure1(bodyProtected: Uint8Array, externalAad: Uint8Array, payload: Uint8Array): Uint8Array {
  return encodeArray([text('Signature1'), bytes(bodyProtected), bytes(externalAad), bytes(payload)]);
}

/** RFC 9052 §4.4 Sig_structure for one signer of a COSE_Sign (verified only in tests; see docs/cose.md). */
export function sigStructure(bodyProtected: Uint8Array, signProtected: Uint8Array, externalAad: Uint8Array, payload: Uint8Array): Uint8Array {
  return encodeArray([text('Signature'), bytes(bodyProtected), bytes(signProtected), bytes(externalAad), bytes(payload)]);
}

/** RFC 9052 §6.3 MAC_structure: [context, protected, external_aad, payload]. */
export function macStructure(context: 'MAC0' | 'MAC', bodyProtected: Uint8Array, externalAad: Uint8Array, payload: Uint8Array): Uint8Array {
  return encodeArray([text(context), bytes(bodyProtected), bytes(externalAad), bytes(payload)]);
}

/** RFC 9052 §5.3 Enc_structure: [context, protected, external_aad]. */
export function encStructure(context: 'Encrypt0' | 'Encrypt', bodyProtected: Uint8Array, externalAad: Uint8Array): Uint8Array {
  return encodeArray([text(context), bytes(bodyProtected), bytes(externalAad)]);
}
