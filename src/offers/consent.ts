/**
 * The consented projection of a holder's attributes. The only way to make one is
 * `projectConsented`, which copies exactly the attributes an active consent names; the rule
 * engine accepts nothing else, so no offer logic can see an attribute without consent.
 */
const MINT = Symbol('consented');

export type AttributeValue = string | number | boolean;

export interface Consent {
  readonly id: string;
  readonly tenant: string;
  readonly walletId: string;
  readonly attributes: readonly string[];
  readonly purpose: string;
  readonly grantedAt: number;
  readonly revokedAt: number | null;
}

export class ConsentedAttributes {
  readonly #values: ReadonlyMap<string, AttributeValue>;

  constructor(token: symbol, values: ReadonlyMap<string, AttributeValue>) {
    if (token !== MINT) throw new TypeError('ConsentedAttributes are made by projectConsented only');
    this.#values = values;
  }

  get(name: string): AttributeValue | undefined {
    return this.#values.get(name);
  }

  has(name: string): boolean {
    return this.#values.has(name);
  }

  /** Names visible to rules (for tests and explanations; never the values of others). */
  names(): string[] {
    return [...this.#values.keys()];
  }
}

/** Keeps only attributes named by a consent that is not revoked, for this tenant and purpose. */
export function projectConsented(attributes: Readonly<Record<string, AttributeValue>>, consents: readonly Consent[], tenant: string, purpose: string): ConsentedAttributes {
  const allowed = new Set<string>();
  for (const c of consents) if (c.revokedAt === null && c.tenant === tenant && c.purpose === purpose) for (const a of c.attributes) allowed.add(a);
  const out = new Map<string, AttributeValue>();
  for (const name of allowed) if (Object.hasOwn(attributes, name)) out.set(name, attributes[name] as AttributeValue);
  return new ConsentedAttributes(MINT, out);
}
