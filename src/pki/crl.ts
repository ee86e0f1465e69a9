/**
 * CRLs per CA (RFC 5280 §5), DER, published at /pki/crl/<ca>.crl. A CRL is re-signed when a
 * revocation of its CA makes it stale and on schedule at half its validity, one at a time per
 * CA; the CRL number lives in the store so instances sharing a database never reuse one.
 * Entries of expired certificates are dropped (§3.3: a CRL lists unexpired certificates).
 */
import type { Clock } from '../core/clock.ts';
import type { Store } from '../store/db.ts';
import { buildCrl, type CrlEntry } from './x509/build.ts';
import { serialBytes } from './x509/der.ts';
import { authorityKeyIdentifier, crlNumber, reasonCode, type RevocationReason } from './x509/extensions.ts';
import type { CaRegistry } from './cas.ts';
import type { PkiSettings } from './settings.ts';

interface Cached {
  der: Uint8Array;
  thisUpdate: number;
  nextUpdate: number;
  number: number;
}

export class CrlPublisher {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #cas: CaRegistry;
  readonly #settings: PkiSettings;
  readonly #cache = new Map<string, Cached>();
  /** Bumped by every invalidation; a CRL built from an older count is stale. */
  readonly #changes = new Map<string, number>();
  readonly #builtAt = new Map<string, number>();
  readonly #inflight = new Map<string, Promise<Cached>>();

  constructor(deps: { store: Store; clock: Clock; cas: CaRegistry; settings: PkiSettings }) {
    this.#store = deps.store;
    this.#clock = deps.clock;
    this.#cas = deps.cas;
    this.#settings = deps.settings;
  }

  /** Marks a CA's CRL stale (a revocation happened); the next fetch re-signs it. */
  invalidate(caId: string): void {
    this.#changes.set(caId, (this.#changes.get(caId) ?? 0) + 1);
  }

  /** The current CRL of a CA as DER; PKI_CA_NOT_FOUND for an unknown id. */
  async crl(caId: string, actor = 'system:pki'): Promise<{ der: Uint8Array; thisUpdate: number; nextUpdate: number; number: number }> {
    const ca = await this.#cas.get(caId);
    const c = this.#cache.get(ca.id);
    const halfLife = (this.#settings.crlHours * 3_600_000) / 2;
    const fresh = (this.#builtAt.get(ca.id) ?? -1) === (this.#changes.get(ca.id) ?? 0);
    if (c && fresh && this.#clock.now() < c.thisUpdate + halfLife) return c;
    // A generation already running may have read the rows before the latest revocation: wait
    // for it, then build again if it is still stale. A failed build leaves the CRL stale, so
    // the next fetch retries instead of serving the old list.
    for (;;) {
      const running = this.#inflight.get(ca.id);
      if (!running) break;
      await running.catch(() => undefined);
    }
    const cached = this.#cache.get(ca.id);
    if (cached && (this.#builtAt.get(ca.id) ?? -1) === (this.#changes.get(ca.id) ?? 0) && this.#clock.now() < cached.thisUpdate + halfLife) return cached;
    const version = this.#changes.get(ca.id) ?? 0;
    const p = this.#generate(ca.id, actor)
      .then((built) => {
        this.#builtAt.set(ca.id, version);
        return built;
      })
      .finally(() => this.#inflight.delete(ca.id));
    this.#inflight.set(ca.id, p);
    return p;
  }

  async #generate(caId: string, actor: string): Promise<Cached> {
    const ca = await this.#cas.get(caId);
    const now = this.#clock.now();
    const number = await this.#store.transaction(async (trx) => {
      await trx.updateTable('pki_cas').set((eb) => ({ crl_number: eb('crl_number', '+', 1) })).where('id', '=', ca.id).execute();
      const r = await trx.selectFrom('pki_cas').select('crl_number').where('id', '=', ca.id).executeTakeFirstOrThrow();
      return Number(r.crl_number);
    });
    const entries: CrlEntry[] = [];
    if (ca.purpose === 'root') {
      // The root's CRL lists revoked issuing CAs; none are revoked through this API yet.
    } else {
      const rows = await this.#store.db
        .selectFrom('pki_certificates')
        .select(['serial', 'revoked_at', 'reason'])
        .where('ca_id', '=', ca.id)
        .where('status', 'in', ['revoked', 'hold'])
        .where('not_after', '>', now)
        .orderBy('serial')
        .execute();
      for (const r of rows) {
        const reason = r.reason as RevocationReason | null;
        entries.push({ serial: serialBytes(r.serial), revokedAt: Number(r.revoked_at), entryExtensions: reason && reason !== 'unspecified' ? [reasonCode(reason)] : [] });
      }
    }
    const nextUpdate = now + this.#settings.crlHours * 3_600_000;
    const der = await buildCrl({ issuer: ca.subjectDer, thisUpdate: now, nextUpdate, entries, extensions: [authorityKeyIdentifier(ca.keyIdentifier), crlNumber(number)] }, this.#cas.signer(ca, actor));
    const c: Cached = { der, thisUpdate: Math.floor(now / 1000) * 1000, nextUpdate, number };
    this.#cache.set(ca.id, c);
    return c;
  }
}
