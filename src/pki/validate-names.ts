/**
 * Device-side name constraints (RFC 5280 §4.2.1.10, §6.1.3 b–c, §6.1.4 g): dNSName,
 * rfc822Name, uniformResourceIdentifier (host part), iPAddress (address and mask) and
 * directoryName (RDN prefix). A form a CA constrains but a name cannot be matched against
 * (an URN under a URI constraint, an unknown form) is outside the permitted subtrees.
 */
import { AsnConvert } from '@peculiar/asn1-schema';
import type { GeneralName, GeneralSubtrees, NameConstraints } from '@peculiar/asn1-x509';
import type { ParsedCert } from './validate-cert.ts';

type Form = 'dns' | 'email' | 'uri' | 'ip' | 'dn';

interface Name {
  form: Form;
  value: string | Uint8Array[];
}

function formOf(g: GeneralName): Name | undefined {
  if (g.dNSName !== undefined) return { form: 'dns', value: g.dNSName.toLowerCase() };
  if (g.rfc822Name !== undefined) return { form: 'email', value: g.rfc822Name.toLowerCase() };
  if (g.uniformResourceIdentifier !== undefined) return { form: 'uri', value: g.uniformResourceIdentifier };
  if (g.iPAddress !== undefined) return { form: 'ip', value: g.iPAddress };
  if (g.directoryName !== undefined) return { form: 'dn', value: [...g.directoryName].map((rdn) => new Uint8Array(AsnConvert.serialize(rdn))) };
  return undefined;
}

function dnsMatch(name: string, base: string): boolean {
  const b = base.toLowerCase().replace(/^\./, '');
  return b === '' || name === b || name.endsWith(`.${b}`);
}

function emailMatch(name: string, base: string): boolean {
  const b = base.toLowerCase();
  if (b.includes('@')) return name === b;
  const host = name.slice(name.lastIndexOf('@') + 1);
  return b.startsWith('.') ? host.endsWith(b) : host === b;
}

function uriHost(uri: string): string | undefined {
  const m = /^[a-z][a-z0-9+.-]*:\/\/(?:[^@/]*@)?(\[[^\]]+\]|[^:/?#]+)/i.exec(uri);
  return m ? m[1]!.toLowerCase() : undefined;
}

function uriMatch(name: string, base: string): boolean {
  const host = uriHost(name);
  if (host === undefined) return false;
  const b = base.toLowerCase();
  return b.startsWith('.') ? host.endsWith(b) : host === b;
}

/** asn1-x509 renders iPAddress constraints as "addr/mask" text for 8 or 32 octets. */
function ipMatch(name: string, base: string): boolean {
  const toBytes = (s: string): number[] | undefined => (/^\d+(\.\d+){3}$/.test(s) ? s.split('.').map(Number) : undefined);
  const [addr, mask] = base.split('/');
  const a = toBytes(name);
  const b = addr ? toBytes(addr) : undefined;
  const m = mask && /^\d+$/.test(mask) ? Array.from({ length: 4 }, (_, i) => (Number(mask) >= 8 * (i + 1) ? 255 : Math.max(0, 256 - 2 ** (8 - (Number(mask) - 8 * i))) & 255)) : mask ? toBytes(mask) : undefined;
  if (!a || !b || !m) return false;
  return a.every((x, i) => (x & m[i]!) === (b[i]! & m[i]!));
}

function dnMatch(name: Uint8Array[], base: Uint8Array[]): boolean {
  return base.length <= name.length && base.every((rdn, i) => Buffer.from(rdn).equals(Buffer.from(name[i]!)));
}

function matches(n: Name, g: GeneralName): boolean | undefined {
  const b = formOf(g);
  if (!b || b.form !== n.form) return undefined;
  switch (n.form) {
    case 'dns':
      return dnsMatch(n.value as string, b.value as string);
    case 'email':
      return emailMatch(n.value as string, b.value as string);
    case 'uri':
      return uriMatch(n.value as string, b.value as string);
    case 'ip':
      return ipMatch(n.value as string, b.value as string);
    case 'dn':
      return dnMatch(n.value as Uint8Array[], b.value as Uint8Array[]);
  }
}

function subtreeHit(n: Name, trees: GeneralSubtrees | undefined): { constrained: boolean; hit: boolean } {
  let constrained = false;
  let hit = false;
  for (const t of trees ?? []) {
    const m = matches(n, t.base);
    if (m === undefined) continue;
    constrained = true;
    if (m) hit = true;
  }
  return { constrained, hit };
}

/** The names of a certificate that constraints apply to: its SAN entries and its subject DN (when not empty). */
export function constrainedNames(c: ParsedCert): Name[] {
  const out: Name[] = [];
  for (const g of c.san ?? []) {
    const n = formOf(g);
    if (n) out.push(n);
  }
  const dn = [...c.cert.tbsCertificate.subject].map((rdn) => new Uint8Array(AsnConvert.serialize(rdn)));
  if (dn.length > 0) out.push({ form: 'dn', value: dn });
  return out;
}

/** The first name of `c` outside `nc`, as text for the error message; undefined when all pass. */
export function violatesConstraints(c: ParsedCert, nc: NameConstraints): string | undefined {
  for (const n of constrainedNames(c)) {
    const p = subtreeHit(n, nc.permittedSubtrees);
    const x = subtreeHit(n, nc.excludedSubtrees);
    if ((p.constrained && !p.hit) || x.hit) return `${n.form}:${typeof n.value === 'string' ? n.value : 'subject'}`;
  }
  return undefined;
}
