/** GeneralName (RFC 5280 §4.2.1.6) to the text form we store and compare: `dns:…`, `ip:…`, `uri:…`. */
import type { Tlv } from './der.ts';
import { value } from './asn1.ts';

export function ipText(b: Uint8Array): string {
  if (b.length === 4) return [...b].join('.');
  if (b.length === 16) {
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(((b[i]! << 8) | b[i + 1]!).toString(16));
    return groups.join(':');
  }
  return `invalid(${Buffer.from(b).toString('hex')})`;
}

export function generalNameText(der: Uint8Array, g: Tlv): string {
  const v = value(der, g);
  switch (g.tag) {
    case 0x81:
      return `email:${Buffer.from(v).toString('latin1')}`;
    case 0x82:
      return `dns:${Buffer.from(v).toString('latin1')}`;
    case 0x86:
      return `uri:${Buffer.from(v).toString('latin1')}`;
    case 0x87:
      return `ip:${ipText(v)}`;
    default:
      return `other:0x${g.tag.toString(16)}`;
  }
}
