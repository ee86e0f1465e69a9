/**
 * The repository engine: loads a repository's keys and roles, signs new metadata versions
 * with vault keys, and publishes a coherent set (changed targets roles → snapshot →
 * timestamp) in one database transaction, so a device never sees a snapshot that names a
 * targets version the store does not hold. Internal to src/updates.
 */
import type { Kysely, Transaction } from 'kysely';
import type { Clock } from '../core/clock.ts';
import { CityTrustError } from '../core/errors.ts';
import type { AuditSink } from '../audit/types.ts';
import type { Store } from '../store/db.ts';
import type { Database, UpdateKeysTable, UpdateReposTable, UpdateRolesTable } from '../store/schema.ts';
import type { KeyVault, VaultCaller } from '../vault/types.ts';
import { imagePattern } from './names.ts';
import type { TufPublicKey } from './keys.ts';
import {
  canonicalBytes,
  countValidSignatures,
  fileInfo,
  metadataFile,
  rootSigned,
  snapshotSigned,
  targetsSigned,
  timestampSigned,
  type MetaFileInfo,
  type RoleKeys,
  type Signed,
  type TargetInfo,
  type TufSignature,
} from './metadata.ts';
import { signMetadata, vaultSigner, type MetadataSigner } from './signing.ts';

export type Db = Kysely<Database> | Transaction<Database>;

export interface UpdateSettings {
  rootExpirySeconds: number;
  targetsExpirySeconds: number;
  snapshotExpirySeconds: number;
  timestampExpirySeconds: number;
  maxTargetBytes: number;
  metadataCacheMs: number;
}

export interface EngineDeps {
  store: Store;
  vault: KeyVault;
  audit: AuditSink;
  clock: Clock;
  settings: UpdateSettings;
}

export interface RepoState {
  repo: UpdateReposTable;
  keys: Map<string, UpdateKeysTable>;
  roles: Map<string, UpdateRolesTable>;
}

export const TOP = ['root', 'targets', 'snapshot', 'timestamp'] as const;

export function tufKeyOf(k: UpdateKeysTable): TufPublicKey {
  return { keytype: k.keytype, scheme: k.scheme, keyval: { public: k.public } };
}

export function roleKeys(r: UpdateRolesTable): RoleKeys {
  return { keyids: JSON.parse(r.keyids) as string[], threshold: Number(r.threshold) };
}

export function callerFor(repo: UpdateReposTable, actor: string): VaultCaller {
  return { actor, tenant: repo.tenant_id };
}

export class RepoEngine {
  readonly deps: EngineDeps;

  constructor(deps: EngineDeps) {
    this.deps = deps;
  }

  async load(db: Db, repoId: string, scope?: string | null): Promise<RepoState> {
    const repo = await db.selectFrom('update_repos').selectAll().where('id', '=', repoId).executeTakeFirst();
    // A repository of another tenant answers like a missing one (no existence oracle).
    if (!repo || (scope !== undefined && scope !== null && repo.tenant_id !== scope)) throw new CityTrustError('UPDATE_REPO_NOT_FOUND', 'no such update repository');
    const keys = await db.selectFrom('update_keys').selectAll().where('repo_id', '=', repoId).execute();
    const roles = await db.selectFrom('update_roles').selectAll().where('repo_id', '=', repoId).execute();
    return { repo, keys: new Map(keys.map((k) => [k.keyid, k])), roles: new Map(roles.map((r) => [r.name, r])) };
  }

  async latest(db: Db, repoId: string, role: string): Promise<{ version: number; body: Uint8Array; expires_at: number; created_at: number } | undefined> {
    const r = await db.selectFrom('update_metadata').select(['version', 'body', 'expires_at', 'created_at']).where('repo_id', '=', repoId).where('role', '=', role).orderBy('version', 'desc').limit(1).executeTakeFirst();
    return r ? { version: Number(r.version), body: new Uint8Array(r.body), expires_at: Number(r.expires_at), created_at: Number(r.created_at) } : undefined;
  }

  /**
   * A delegated role whose keys are all held outside the server (a manufacturer's own keys):
   * the server never signs it; it prepares drafts and publishes what the manufacturer signed.
   */
  isOffline(st: RepoState, role: string): boolean {
    const r = st.roles.get(role);
    if (!r || r.device_classes === null) return false;
    return roleKeys(r).keyids.every((id) => !st.keys.get(id)?.vault_key_id);
  }

  /** Stores a version of a role signed elsewhere (verified by the caller). */
  async insertSigned(trx: Db, repoId: string, role: string, version: number, body: Uint8Array, expires: number): Promise<void> {
    await this.#insert(trx, repoId, role, version, body, expires);
  }

  /** The `signed` part of the next version of a targets role, from the store (`extra`: targets not yet signed). */
  async targetsDraft(db: Db, st: RepoState, role: string, extraRole?: string): Promise<Signed> {
    const roles = extraRole ? [role, extraRole] : [role];
    const rows = await db.selectFrom('update_targets').select(['path', 'length', 'sha256', 'custom']).where('repo_id', '=', st.repo.id).where('role', 'in', roles).orderBy('path').execute();
    const targets: Record<string, TargetInfo> = {};
    for (const t of rows) targets[t.path] = { length: Number(t.length), hashes: { sha256: t.sha256 }, custom: JSON.parse(t.custom) as Record<string, unknown> };
    const prev = await this.latest(db, st.repo.id, role);
    return targetsSigned({ version: (prev?.version ?? 0) + 1, expires: this.deps.clock.now() + this.deps.settings.targetsExpirySeconds * 1000, targets });
  }

  /** Vault signers for a role: every active, vault-held key of it. Fewer than the threshold cannot sign. */
  signers(st: RepoState, role: string, actor: string): MetadataSigner[] {
    const r = st.roles.get(role);
    if (!r) throw new CityTrustError('UPDATE_ROLE_NOT_FOUND', `the repository has no role ${role}`);
    const rk = roleKeys(r);
    const out: MetadataSigner[] = [];
    for (const id of rk.keyids) {
      const k = st.keys.get(id);
      if (k && k.state === 'active' && k.vault_key_id) out.push(vaultSigner(this.deps.vault, callerFor(st.repo, actor), k.vault_key_id, id, tufKeyOf(k)));
    }
    if (out.length < rk.threshold) {
      throw new CityTrustError('UPDATE_THRESHOLD_NOT_MET', `role ${role} needs ${rk.threshold} signatures but only ${out.length} of its keys are active in the vault`);
    }
    return out;
  }

  async #insert(trx: Db, repoId: string, role: string, version: number, body: Uint8Array, expires: number): Promise<void> {
    try {
      await trx.insertInto('update_metadata').values({ repo_id: repoId, role, version, body, expires_at: expires, created_at: this.deps.clock.now() }).execute();
    } catch (e) {
      // Another instance published the same version first.
      throw new CityTrustError('CONFLICT', `${role} version ${version} was published meanwhile; retry`, { cause: e });
    }
  }

  /** Builds and signs a new version of a targets role (top-level or delegated) from the store. */
  async signTargetsRole(trx: Db, st: RepoState, role: string, actor: string): Promise<void> {
    const now = this.deps.clock.now();
    const rows = await trx.selectFrom('update_targets').select(['path', 'length', 'sha256', 'custom']).where('repo_id', '=', st.repo.id).where('role', '=', role).orderBy('path').execute();
    const targets: Record<string, TargetInfo> = {};
    for (const t of rows) targets[t.path] = { length: Number(t.length), hashes: { sha256: t.sha256 }, custom: JSON.parse(t.custom) as Record<string, unknown> };
    let delegations: Parameters<typeof targetsSigned>[0]['delegations'];
    if (role === 'targets') {
      const delegated = [...st.roles.values()].filter((r) => r.device_classes !== null).sort((a, b) => (a.name < b.name ? -1 : 1));
      const keys: Record<string, TufPublicKey> = {};
      const roles = delegated.map((r) => {
        const rk = roleKeys(r);
        for (const id of rk.keyids) {
          const k = st.keys.get(id);
          if (k) keys[id] = tufKeyOf(k);
        }
        return { name: r.name, keyids: rk.keyids, threshold: rk.threshold, paths: (JSON.parse(r.device_classes!) as string[]).map(imagePattern) };
      });
      delegations = { keys, roles };
    }
    const prev = await this.latest(trx, st.repo.id, role);
    const version = (prev?.version ?? 0) + 1;
    const expires = now + this.deps.settings.targetsExpirySeconds * 1000;
    const signed = targetsSigned({ version, expires, targets, ...(delegations ? { delegations } : {}) });
    const { body } = await signMetadata(signed, this.signers(st, role, actor));
    await this.#insert(trx, st.repo.id, role, version, body, expires);
  }

  /**
   * Publishes the given targets roles anew, then snapshot and timestamp (§5.5, §5.4 of the
   * client workflow read them in the reverse order). Call inside a transaction.
   */
  async commit(trx: Db, st: RepoState, changed: readonly string[], actor: string): Promise<{ snapshot: number; timestamp: number }> {
    // A manufacturer's offline role is signed by the manufacturer (submitDelegatedMetadata), never here.
    for (const role of changed) if (!this.isOffline(st, role)) await this.signTargetsRole(trx, st, role, actor);
    const now = this.deps.clock.now();
    const meta: Record<string, MetaFileInfo> = {};
    const targetRoles = ['targets', ...[...st.roles.values()].filter((r) => r.device_classes !== null).map((r) => r.name)];
    for (const role of targetRoles) {
      const m = await this.latest(trx, st.repo.id, role);
      // An offline role enters the snapshot with its first manufacturer-signed version.
      if (!m && this.isOffline(st, role)) continue;
      if (!m) await this.signTargetsRole(trx, st, role, actor);
      const cur = m ?? (await this.latest(trx, st.repo.id, role))!;
      meta[`${role}.json`] = fileInfo(cur.version, cur.body);
    }
    const prevSnap = await this.latest(trx, st.repo.id, 'snapshot');
    const snapVersion = (prevSnap?.version ?? 0) + 1;
    const snapExpires = now + this.deps.settings.snapshotExpirySeconds * 1000;
    const snap = await signMetadata(snapshotSigned({ version: snapVersion, expires: snapExpires, meta }), this.signers(st, 'snapshot', actor));
    await this.#insert(trx, st.repo.id, 'snapshot', snapVersion, snap.body, snapExpires);
    const ts = await this.signTimestamp(trx, st, fileInfo(snapVersion, snap.body), actor);
    return { snapshot: snapVersion, timestamp: ts };
  }

  async signTimestamp(trx: Db, st: RepoState, snapshot: MetaFileInfo, actor: string): Promise<number> {
    const now = this.deps.clock.now();
    const prev = await this.latest(trx, st.repo.id, 'timestamp');
    const version = (prev?.version ?? 0) + 1;
    const expires = now + this.deps.settings.timestampExpirySeconds * 1000;
    const { body } = await signMetadata(timestampSigned({ version, expires, snapshot }), this.signers(st, 'timestamp', actor));
    await this.#insert(trx, st.repo.id, 'timestamp', version, body, expires);
    return version;
  }

  // ---- root: drafts, signatures, publication (§5.3: N+1 is signed by a threshold of N and of itself)

  /** Writes a root draft for the given keys and roles; signs with every vault-held key that must sign. */
  async proposeRoot(trx: Db, st: RepoState, roles: Record<'root' | 'targets' | 'snapshot' | 'timestamp', RoleKeys>, reason: string, actor: string): Promise<void> {
    const existing = await trx.selectFrom('update_root_drafts').select('version').where('repo_id', '=', st.repo.id).executeTakeFirst();
    if (existing) throw new CityTrustError('CONFLICT', `root version ${existing.version} still awaits signatures; finish or cancel that ceremony first`);
    const prev = await this.latest(trx, st.repo.id, 'root');
    const version = (prev?.version ?? 0) + 1;
    const keys: Record<string, TufPublicKey> = {};
    for (const r of Object.values(roles)) {
      for (const id of r.keyids) {
        const k = st.keys.get(id);
        if (!k) throw new CityTrustError('UPDATE_KEY_NOT_FOUND', `no key ${id} in the repository`);
        keys[id] = tufKeyOf(k);
      }
    }
    const signed = rootSigned({ version, expires: this.deps.clock.now() + this.deps.settings.rootExpirySeconds * 1000, keys, roles });
    await trx
      .insertInto('update_root_drafts')
      .values({ repo_id: st.repo.id, version, signed: Buffer.from(JSON.stringify(signed), 'utf8'), signatures: '{}', reason, created_at: this.deps.clock.now(), created_by: actor })
      .execute();
    const needed = await this.rootSigners(trx, st);
    const sigs: Record<string, string> = {};
    const data = canonicalBytes(signed);
    for (const id of needed) {
      const k = st.keys.get(id);
      if (k?.vault_key_id && k.state === 'active') sigs[id] = (await vaultSigner(this.deps.vault, callerFor(st.repo, actor), k.vault_key_id, id, tufKeyOf(k)).sign(data)).sig;
    }
    await trx.updateTable('update_root_drafts').set({ signatures: JSON.stringify(sigs) }).where('repo_id', '=', st.repo.id).execute();
  }

  async draft(db: Db, repoId: string): Promise<{ version: number; signed: Signed; signatures: Record<string, string>; reason: string } | undefined> {
    const d = await db.selectFrom('update_root_drafts').selectAll().where('repo_id', '=', repoId).executeTakeFirst();
    if (!d) return undefined;
    return { version: Number(d.version), signed: JSON.parse(Buffer.from(d.signed).toString('utf8')) as Signed, signatures: JSON.parse(d.signatures) as Record<string, string>, reason: d.reason };
  }

  /** The root roles a draft must satisfy: its own, and (after version 1) the trusted one. */
  async requirements(db: Db, st: RepoState): Promise<{ label: string; keys: Record<string, TufPublicKey>; role: RoleKeys }[]> {
    const d = await this.draft(db, st.repo.id);
    if (!d) throw new CityTrustError('UPDATE_ROOT_DRAFT_NOT_FOUND', 'no root draft awaits signatures');
    const reqs = [{ label: `new root v${d.version}`, keys: d.signed.keys as Record<string, TufPublicKey>, role: (d.signed.roles as Record<string, RoleKeys>).root! }];
    const prev = await this.latest(db, st.repo.id, 'root');
    if (prev) {
      const p = JSON.parse(Buffer.from(prev.body).toString('utf8')) as { signed: Signed };
      reqs.push({ label: `trusted root v${prev.version}`, keys: p.signed.keys as Record<string, TufPublicKey>, role: (p.signed.roles as Record<string, RoleKeys>).root! });
    }
    return reqs;
  }

  async rootSigners(db: Db, st: RepoState): Promise<string[]> {
    const ids = new Set<string>();
    for (const r of await this.requirements(db, st)) for (const id of r.role.keyids) ids.add(id);
    return [...ids].sort();
  }

  /**
   * Publishes the draft when every requirement holds. Returns false (draft kept) when a
   * threshold is still short. On success the trusted roles become the draft's.
   */
  async tryCompleteRoot(trx: Db, st: RepoState, actor: string): Promise<{ published: boolean; version: number; missing: { label: string; have: number; need: number }[] }> {
    const d = (await this.draft(trx, st.repo.id))!;
    const data = canonicalBytes(d.signed);
    const sigs: TufSignature[] = Object.entries(d.signatures).map(([keyid, sig]) => ({ keyid, sig }));
    const missing: { label: string; have: number; need: number }[] = [];
    for (const r of await this.requirements(trx, st)) {
      const have = countValidSignatures(data, sigs, r.keys, r.role);
      if (have < r.role.threshold) missing.push({ label: r.label, have, need: r.role.threshold });
    }
    if (missing.length > 0) return { published: false, version: d.version, missing };
    const body = metadataFile(d.signed, sigs);
    await this.#insert(trx, st.repo.id, 'root', d.version, body, Date.parse(d.signed.expires));
    await trx.deleteFrom('update_root_drafts').where('repo_id', '=', st.repo.id).execute();
    const now = this.deps.clock.now();
    for (const [name, rk] of Object.entries(d.signed.roles as Record<string, RoleKeys>)) {
      await trx.updateTable('update_roles').set({ keyids: JSON.stringify(rk.keyids), threshold: rk.threshold, updated_at: now }).where('repo_id', '=', st.repo.id).where('name', '=', name).execute();
    }
    if (st.repo.state !== 'ready') await trx.updateTable('update_repos').set({ state: 'ready' }).where('id', '=', st.repo.id).execute();
    // The roles' keys may have changed: re-sign everything online with the keys the new root names.
    const fresh = await this.load(trx, st.repo.id);
    await this.commit(trx, fresh, ['targets', ...[...fresh.roles.values()].filter((r) => r.device_classes !== null).map((r) => r.name)], actor);
    return { published: true, version: d.version, missing: [] };
  }
}
