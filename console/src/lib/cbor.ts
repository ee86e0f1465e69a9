/**
 * A small CBOR decoder (RFC 8949) for reading public tokens in the browser: definite lengths,
 * integers up to 2^53, byte and text strings, arrays, maps, tags, simple values. Anything else
 * (indefinite lengths, floats, bignums) is refused: the tokens the console reads use none.
 */
export class CborError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CborError';
  }
}

export class Tagged {
  readonly tag: number;
  readonly value: CborValue;
  constructor(tag: number, value: CborValue) {
    this.tag = tag;
    this.value = value;
  }
}

export type CborValue = number | string | boolean | null | undefined | Uint8Array | CborValue[] | Map<CborValue, CborValue> | Tagged;

const MAX_DEPTH = 32;

export function decodeCbor(bytes: Uint8Array): CborValue {
  let pos = 0;
  const need = (n: number) => {
    if (pos + n > bytes.length) throw new CborError('CBOR data ends early');
  };
  const arg = (info: number): number => {
    if (info < 24) return info;
    const size = info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : info === 27 ? 8 : 0;
    if (size === 0) throw new CborError('indefinite lengths and reserved values are not supported');
    need(size);
    let v = 0;
    for (let i = 0; i < size; i++) v = v * 256 + bytes[pos + i]!;
    pos += size;
    if (!Number.isSafeInteger(v)) throw new CborError('integer beyond 2^53');
    return v;
  };
  const item = (depth: number): CborValue => {
    if (depth > MAX_DEPTH) throw new CborError('CBOR nested too deeply');
    need(1);
    const first = bytes[pos++]!;
    const major = first >> 5;
    const info = first & 0x1f;
    switch (major) {
      case 0:
        return arg(info);
      case 1:
        return -1 - arg(info);
      case 2: {
        const n = arg(info);
        need(n);
        const b = bytes.slice(pos, pos + n);
        pos += n;
        return b;
      }
      case 3: {
        const n = arg(info);
        need(n);
        const s = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(pos, pos + n));
        pos += n;
        return s;
      }
      case 4: {
        const n = arg(info);
        const out: CborValue[] = [];
        for (let i = 0; i < n; i++) out.push(item(depth + 1));
        return out;
      }
      case 5: {
        const n = arg(info);
        const m = new Map<CborValue, CborValue>();
        for (let i = 0; i < n; i++) {
          const k = item(depth + 1);
          m.set(k, item(depth + 1));
        }
        return m;
      }
      case 6:
        return new Tagged(arg(info), item(depth + 1));
      default:
        if (info === 20) return false;
        if (info === 21) return true;
        if (info === 22) return null;
        if (info === 23) return undefined;
        throw new CborError('floats and other simple values are not supported');
    }
  };
  const v = item(0);
  if (pos !== bytes.length) throw new CborError('bytes after the CBOR item');
  return v;
}
