/**
 * The issuer service: issue a credential to a wallet, update (re-issue and revoke the old one),
 * suspend, resume, revoke, get, list and filter. Every credential is signed by the tenant's
 * current issuer key (vault), takes a random slot in the tenant's status list, is sealed to the
 * wallet's SE key and queued for sync in the same transaction as its row (group-committed).
 * Tenancy: every call names the tenant scope it acts in; a foreign credential or wallet answers
 * exactly like a missing one.
 */
import { randomBytes } from 'node:crypto';
import type { Transaction } from 'kysely';
import { CityTrustError, isCityTrustError } from '../core/errors.ts';
import { toBase64Url } from '../core/bytes.ts';
import type { Database } from '../store/schema.ts';
import { decodeCbor, CborTag } from '../crypto/index.ts';
import { CTI_LENGTH, credentialId, decodeClaims, type CredentialClaims } from './claims.ts';
import { validateGrants, type Grants } from './grants.ts';
import { createCredential } from './sign.ts';
import { statusUri } from './status-list.ts';
import { GroupCommit } from './group-commit.ts';
import { randomId } from './random-pool.ts';
import type { IssuerKeys } from './issuer-keys.ts';
import type { StatusLists } from './status-service.ts';
import type { Templates } from './templates.ts';
import type { Wallets } from './wallets.ts';
import { validateHolder, type HolderData, type PersonalData } from './personal-data.ts';
import { seconds, settingsOf, type CredentialDeps, type CredentialSettings } from './settings.ts';

export type CredentialState = 'active' | 'suspended' | 'revoked';

export interface IssueInput {
  readonly walletId: unknown;
  readonly template?: unknown;
  /** Grants to use instead of (or, with a template, on top of) the template's. */
  readonly grants?: unknown;
  /** Seconds since the epoch; default now. */
  readonly validFrom?: unknown;
  /** Seconds since the epoch; default validFrom + the template's validity. */
  readonly validUntil?: unknown;
  readonly holder?: unknown;
  readonly subject?: unknown;
}

export interface CredentialInfo {
  readonly id: string;
  readonly tenant: string;
  readonly template: string | null;
  readonly wallet: string;
  readonly status: CredentialState;
  readonly statusList: string;
  readonly statusIndex: number;
  readonly issuerKid: string;
  readonly issuedAt: number;
  readonly validFrom: number;
  readonly validUntil: number;
  readonly size: number;
  readonly replaces: string | null;
  readonly replacedBy: string | null;
  readonly reason: string | null;
  /** The credential itself (base64url); only on get. */
  readonly credential?: string;
  readonly holder?: HolderData;
}

export interface ListFilter {
  readonly status?: CredentialState;
  readonly wallet?: string;
  readonly template?: string;
  readonly holderEmail?: string;
  readonly limit?: number;
  /** Cursor: the id of the last credential of the previous page. */
  readonly after?: string;
}

interface IssueJob {
  readonly row: Database['credentials'] extends infer T ? { -readonly [K in keyof T]: T[K] } : never;
  readonly delivery: { id: string; envelope: Uint8Array };
  readonly supersede?: { id: string; listId: string };
}

/** ok, or `retry` (the id or slot was taken: draw again), or a refusal of this job alone. */
type JobResult = { ok: true; seq: number; version?: number } | { ok: false; retry: true } | { ok: false; retry: false; error: CityTrustError };

/** 18 columns a row: 9,000 bound parameters, inside SQLite's 32,766 and PostgreSQL's 65,535. */
const ROWS_PER_INSERT = 500;

const CREDENTIAL_ID = /^[0-9a-f]{16}$/;
const REASON = /^[\p{L}\p{N} .,:;()_-]{1,200}$/u;
const MAX_SLOT_TRIES = 16;

function time(v: unknown, what: string): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > 2 ** 40) throw new CityTrustError('INPUT_INVALID', `${what} is seconds since the epoch`);
  return v;
}

export class CredentialIssuer {
  readonly #deps: CredentialDeps;
  readonly #settings: CredentialSettings;
  readonly #keys: IssuerKeys;
  readonly #templates: Templates;
  readonly #status: StatusLists;
  readonly #wallets: Wallets;
  readonly #pii: PersonalData;
  readonly #commit: GroupCommit<IssueJob, JobResult>;

  constructor(deps: CredentialDeps, parts: { keys: IssuerKeys; templates: Templates; status: StatusLists; wallets: Wallets; personalData: PersonalData }) {
    this.#deps = deps;
    this.#settings = settingsOf(deps);
    this.#keys = parts.keys;
    this.#templates = parts.templates;
    this.#status = parts.status;
    this.#wallets = parts.wallets;
    this.#pii = parts.personalData;
    this.#commit = new GroupCommit(deps.store, (trx, jobs) => this.#write(trx, jobs));
  }

  async issue(tenant: string, input: IssueInput, actor: string): Promise<CredentialInfo> {
    return this.#issue(tenant, input, actor);
  }

  async #issue(tenant: string, input: IssueInput, actor: string, supersede?: { id: string; listId: string; holderData: HolderData | undefined }): Promise<CredentialInfo> {
    if (input === null || typeof input !== 'object') throw new CityTrustError('INPUT_INVALID', 'the request is an object');
    const now = seconds(this.#deps.clock);
    const template = input.template === undefined ? undefined : await this.#templates.get(tenant, typeof input.template === 'string' ? input.template : '');
    let grants: Grants;
    if (input.grants !== undefined && (input.grants === null || typeof input.grants !== 'object' || Array.isArray(input.grants))) {
      throw new CityTrustError('CREDENTIAL_GRANTS_INVALID', 'grants is an object');
    }
    // A template's grants were validated when it was stored and are frozen: reused as they are.
    if (template && input.grants === undefined) grants = template.grants;
    else if (template) grants = validateGrants({ ...template.grants, ...(input.grants as object) });
    else if (input.grants !== undefined) grants = validateGrants(input.grants);
    else throw new CityTrustError('INPUT_INVALID', 'give a template or grants');
    const nbf = time(input.validFrom, 'validFrom') ?? now;
    const validUntil = time(input.validUntil, 'validUntil');
    if (validUntil === undefined && !template) throw new CityTrustError('INPUT_INVALID', 'validUntil is required without a template');
    const exp = validUntil ?? nbf + (template as { validitySeconds: number }).validitySeconds;
    if (exp <= nbf || exp <= now) throw new CityTrustError('INPUT_INVALID', 'validUntil must be after validFrom and in the future');
    if (exp - nbf > this.#settings.maxValiditySeconds) throw new CityTrustError('INPUT_INVALID', `a credential is valid for at most ${this.#settings.maxValiditySeconds} s`);
    const sub = input.subject;
    if (sub !== undefined && (typeof sub !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$/.test(sub))) throw new CityTrustError('INPUT_INVALID', 'subject is a short pseudonym, never a name or e-mail');
    const holder = input.holder === undefined ? supersede?.holderData : validateHolder(input.holder);
    if (typeof input.walletId !== 'string') throw new CityTrustError('WALLET_NOT_FOUND', 'no such wallet');
    const walletId = input.walletId;
    const walletKey = await this.#wallets.sealingKey(tenant, walletId);
    const key = await this.#keys.current(tenant);
    if (exp > key.certExp) throw new CityTrustError('INPUT_INVALID', 'the credential would outlive the issuer certificate; rotate the issuer key');
    const holderIndex = holder?.email === undefined ? null : await this.#pii.index(tenant, holder.email);

    for (let attempt = 0; attempt < MAX_SLOT_TRIES; attempt++) {
      const slot = await this.#status.reserve(tenant);
      let result: JobResult;
      let row: IssueJob['row'];
      let bytes: Uint8Array;
      try {
        const cti = randomId(CTI_LENGTH);
        const id = credentialId(cti);
        const claims: CredentialClaims = { iss: tenant, ...(sub !== undefined && { sub: sub as string }), exp, nbf, iat: now, cti, holderKey: walletKey.key, status: { idx: slot.idx, uri: statusUri(slot.list.id) }, grants };
        bytes = await createCredential({ claims, signer: key.signer, kid: key.kid });
        const idBytes = randomId(16);
        const deliveryId = Buffer.from(idBytes.buffer, idBytes.byteOffset, idBytes.byteLength).toString('hex');
        const envelope = await this.#wallets.seal(walletId, walletKey, { kind: 'credential', deliveryId, tenant, credential: bytes, ...(supersede && { replaces: supersede.id }) });
        const holderData = holder === undefined ? null : await this.#pii.seal(tenant, id, holder);
        const ts = this.#deps.clock.now();
        row = {
          id, tenant_id: tenant, template_id: template?.id ?? null, wallet_id: walletId, issuer_kid: key.kidHex, status: 'active', status_list_id: slot.list.id, status_idx: slot.idx,
          iat: now, nbf, exp, credential: bytes, holder_index: holderIndex, holder_data: holderData, replaces: supersede?.id ?? null, replaced_by: null, reason: null, created_at: ts, updated_at: ts,
        };
        result = await this.#commit.submit({
          row,
          delivery: { id: deliveryId, envelope },
          ...(supersede && { supersede: { id: supersede.id, listId: supersede.listId } }),
        });
      } catch (e) {
        this.#status.release(slot);
        throw e;
      }
      if (!result.ok) {
        if (result.retry) continue; // id or slot taken (by another instance): new id, new slot, new signature
        this.#status.release(slot);
        throw result.error;
      }
      if (supersede && result.version !== undefined) this.#status.notify({ list: supersede.listId, version: result.version });
      await this.#deps.audit.append({
        actor, tenant, action: supersede ? 'credentials.credential.update' : 'credentials.credential.issue', subject: row.id,
        details: { wallet: walletId, template: template?.id ?? null, kid: key.kidHex, statusList: slot.list.id, exp, ...(supersede && { replaces: supersede.id }) },
      });
      return { ...toInfo(row), credential: toBase64Url(bytes) };
    }
    throw new CityTrustError('UNAVAILABLE', 'no free status list slot found; retry');
  }

  /**
   * One batch, one transaction (group commit), a few statements for the whole batch: rows go in
   * many per INSERT, sequence numbers are taken once per wallet. A job whose id or slot is taken
   * retries outside; a job whose wallet was deactivated or whose predecessor was revoked meanwhile
   * is refused alone, its row removed again, and the rest of the batch goes on.
   */
  async #write(trx: Transaction<Database>, jobs: readonly IssueJob[]): Promise<JobResult[]> {
    const out: (JobResult | undefined)[] = new Array<JobResult | undefined>(jobs.length).fill(undefined);
    const inserted = new Set<string>();
    for (let i = 0; i < jobs.length; i += ROWS_PER_INSERT) {
      const rows = await trx
        .insertInto('credentials')
        .values(jobs.slice(i, i + ROWS_PER_INSERT).map((j) => j.row))
        .onConflict((oc) => oc.doNothing())
        .returning('id')
        .execute();
      for (const r of rows) inserted.add(r.id);
    }
    const refuse = async (i: number, error: CityTrustError): Promise<void> => {
      await trx.deleteFrom('credentials').where('id', '=', (jobs[i] as IssueJob).row.id).execute();
      out[i] = { ok: false, retry: false, error };
    };
    const versions = new Map<number, number>();
    for (let i = 0; i < jobs.length; i++) {
      const j = jobs[i] as IssueJob;
      if (!inserted.has(j.row.id)) {
        out[i] = { ok: false, retry: true };
        continue;
      }
      if (!j.supersede) continue;
      // The wallet row is locked before the old credential is revoked, so the enqueue below
      // cannot find the wallet deactivated after the old credential is already gone.
      if (!(await this.#wallets.lockActive(trx, j.row.wallet_id))) {
        await refuse(i, new CityTrustError('WALLET_INACTIVE', 'the wallet was deactivated'));
        continue;
      }
      const u = await trx.updateTable('credentials').set({ status: 'revoked', replaced_by: j.row.id, reason: 'superseded', updated_at: j.row.created_at }).where('id', '=', j.supersede.id).where('status', '!=', 'revoked').executeTakeFirst();
      if (Number(u.numUpdatedRows) !== 1) await refuse(i, new CityTrustError('CREDENTIAL_STATE_INVALID', 'the credential was revoked meanwhile'));
      else versions.set(i, await this.#status.changed(trx, j.supersede.listId));
    }
    const queued = jobs.map((j, i) => ({ j, i })).filter(({ i }) => out[i] === undefined);
    const seqs = await this.#wallets.enqueueMany(
      trx,
      queued.map(({ j }) => ({ walletId: j.row.wallet_id, tenant: j.row.tenant_id, credentialId: j.row.id, envelope: j.delivery.envelope, deliveryId: j.delivery.id, kind: 'credential' as const })),
    );
    const perList = new Map<string, number>();
    const perKid = new Map<string, number>();
    for (let k = 0; k < queued.length; k++) {
      const { j, i } = queued[k] as { j: IssueJob; i: number };
      const seq = seqs[k];
      if (seq === undefined) {
        await refuse(i, new CityTrustError('WALLET_INACTIVE', 'the wallet was deactivated'));
        continue;
      }
      const version = versions.get(i);
      out[i] = { ok: true, seq, ...(version !== undefined && { version }) };
      perList.set(j.row.status_list_id, (perList.get(j.row.status_list_id) ?? 0) + 1);
      perKid.set(j.row.issuer_kid, Math.max(perKid.get(j.row.issuer_kid) ?? 0, j.row.exp));
    }
    for (const [listId, n] of perList) await this.#status.allocated(trx, listId, n);
    for (const [kid, exp] of perKid) await trx.updateTable('credential_issuer_keys').set({ last_expiry: exp }).where('kid', '=', kid).where('last_expiry', '<', exp).execute();
    return out as JobResult[];
  }

  /** Re-issues with new grants or validity (same wallet, template and holder) and revokes the old one atomically. */
  async update(tenant: string, id: string, input: Omit<IssueInput, 'walletId' | 'template'>, actor: string): Promise<CredentialInfo> {
    const old = await this.#row(tenant, id);
    if (old.status === 'revoked') throw new CityTrustError('CREDENTIAL_STATE_INVALID', 'a revoked credential cannot be updated');
    const holderData = old.holder_data === null ? undefined : await this.#pii.open(tenant, old.id, new Uint8Array(old.holder_data));
    const oldGrants = decodeClaims(payloadOf(new Uint8Array(old.credential))).grants;
    const base: IssueInput = {
      walletId: old.wallet_id,
      ...(old.template_id !== null && { template: old.template_id }),
      grants: input.grants ?? (old.template_id === null ? oldGrants : undefined),
      validFrom: input.validFrom ?? Number(old.nbf),
      validUntil: input.validUntil ?? Number(old.exp),
      ...(input.holder !== undefined && { holder: input.holder }),
      ...(input.subject !== undefined && { subject: input.subject }),
    };
    if (base.grants === undefined) delete (base as { grants?: unknown }).grants;
    return this.#issue(tenant, base, actor, { id: old.id, listId: old.status_list_id, holderData });
  }

  suspend(tenant: string, id: string, actor: string, reason?: unknown): Promise<CredentialInfo> {
    return this.#transition(tenant, id, ['active'], 'suspended', actor, reason);
  }

  resume(tenant: string, id: string, actor: string, reason?: unknown): Promise<CredentialInfo> {
    return this.#transition(tenant, id, ['suspended'], 'active', actor, reason);
  }

  revoke(tenant: string, id: string, actor: string, reason?: unknown): Promise<CredentialInfo> {
    return this.#transition(tenant, id, ['active', 'suspended'], 'revoked', actor, reason);
  }

  async #transition(tenant: string, id: string, from: readonly CredentialState[], to: CredentialState, actor: string, reason: unknown): Promise<CredentialInfo> {
    if (reason !== undefined && (typeof reason !== 'string' || !REASON.test(reason))) throw new CityTrustError('INPUT_INVALID', 'reason is 1..200 plain characters');
    const row = await this.#row(tenant, id);
    if (!from.includes(row.status)) throw new CityTrustError('CREDENTIAL_STATE_INVALID', `a ${row.status} credential cannot become ${to}`);
    let wallet: Awaited<ReturnType<Wallets['sealingKey']>> | undefined;
    try {
      wallet = await this.#wallets.sealingKey(tenant, row.wallet_id);
    } catch (e) {
      if (!isCityTrustError(e, 'WALLET_INACTIVE')) throw e; // an inactive wallet gets no notice; readers still see the list
    }
    const deliveryId = randomBytes(16).toString('hex');
    const envelope = wallet && (await this.#wallets.seal(row.wallet_id, wallet, { kind: 'status', deliveryId, tenant, credentialId: id, status: to === 'active' ? 'valid' : to }));
    const now = this.#deps.clock.now();
    const version = await this.#deps.store.transaction(async (trx) => {
      const u = await trx.updateTable('credentials').set({ status: to, reason: (reason as string | undefined) ?? null, updated_at: now }).where('id', '=', id).where('status', '=', row.status).executeTakeFirst();
      if (Number(u.numUpdatedRows) !== 1) throw new CityTrustError('CREDENTIAL_STATE_INVALID', 'the credential changed meanwhile; reload and retry');
      if (envelope) await this.#wallets.enqueue(trx, { walletId: row.wallet_id, tenant, credentialId: id, envelope, deliveryId, kind: 'status' });
      return this.#status.changed(trx, row.status_list_id);
    });
    this.#status.notify({ list: row.status_list_id, version });
    const action = to === 'revoked' ? 'revoke' : to === 'suspended' ? 'suspend' : 'resume';
    await this.#deps.audit.append({ actor, tenant, action: `credentials.credential.${action}`, subject: id, details: { statusList: row.status_list_id, version, ...(reason !== undefined && { reason }) } });
    return this.get(tenant, id);
  }

  async #row(tenant: string | undefined, id: string): Promise<Database['credentials']> {
    if (typeof id !== 'string' || !CREDENTIAL_ID.test(id)) throw new CityTrustError('CREDENTIAL_NOT_FOUND', 'no such credential');
    let q = this.#deps.store.db.selectFrom('credentials').selectAll().where('id', '=', id);
    if (tenant !== undefined) q = q.where('tenant_id', '=', tenant);
    const r = await q.executeTakeFirst();
    if (!r) throw new CityTrustError('CREDENTIAL_NOT_FOUND', 'no such credential');
    return r;
  }

  /** One credential with its bytes; `withHolder` decrypts the holder data (audited). */
  async get(tenant: string | undefined, id: string, opts: { withHolder?: boolean; actor?: string } = {}): Promise<CredentialInfo> {
    const r = await this.#row(tenant, id);
    const info: CredentialInfo = { ...toInfo(r), credential: toBase64Url(new Uint8Array(r.credential)) };
    if (!opts.withHolder || r.holder_data === null) return info;
    const holder = await this.#pii.open(r.tenant_id, r.id, new Uint8Array(r.holder_data));
    await this.#deps.audit.append({ actor: opts.actor ?? 'system', tenant: r.tenant_id, action: 'credentials.holder.read', subject: r.id });
    return { ...info, holder };
  }

  async list(tenant: string | undefined, filter: ListFilter = {}): Promise<CredentialInfo[]> {
    const limit = filter.limit ?? 100;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > 1000) throw new CityTrustError('INPUT_INVALID', 'limit is 1..1000');
    let q = this.#deps.store.db.selectFrom('credentials').selectAll();
    if (tenant !== undefined) q = q.where('tenant_id', '=', tenant);
    if (filter.status !== undefined) q = q.where('status', '=', filter.status);
    if (filter.wallet !== undefined) q = q.where('wallet_id', '=', filter.wallet);
    if (filter.template !== undefined) q = q.where('template_id', '=', filter.template);
    if (filter.after !== undefined) q = q.where('id', '>', filter.after);
    if (filter.holderEmail !== undefined) {
      // The keyed hash is per tenant, so a holder search needs one.
      if (tenant === undefined) throw new CityTrustError('INPUT_INVALID', 'a holder search names the tenant');
      q = q.where('holder_index', '=', await this.#pii.index(tenant, filter.holderEmail));
    }
    const rows = await q.orderBy('id').limit(limit).execute();
    return rows.map(toInfo);
  }
}

/** The payload of a credential we stored ourselves (tag 18, then the array; the payload is its third element). */
function payloadOf(sign1: Uint8Array): Uint8Array {
  const t = decodeCbor(sign1, { maxBytes: 4096, maxDepth: 8, maxItems: 512, allowedTags: [18] });
  const parts = t instanceof CborTag ? (t.value as unknown[]) : (t as unknown[]);
  return parts[2] as Uint8Array;
}

function toInfo(r: Database['credentials']): CredentialInfo {
  return {
    id: r.id,
    tenant: r.tenant_id,
    template: r.template_id,
    wallet: r.wallet_id,
    status: r.status,
    statusList: r.status_list_id,
    statusIndex: Number(r.status_idx),
    issuerKid: r.issuer_kid,
    issuedAt: Number(r.iat),
    validFrom: Number(r.nbf),
    validUntil: Number(r.exp),
    size: r.credential.length,
    replaces: r.replaces,
    replacedBy: r.replaced_by,
    reason: r.reason,
  };
}
