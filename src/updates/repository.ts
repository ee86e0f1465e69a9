/**
 * The update repositories of citytrust (docs/updates.md): TUF repositories per tenant and set
 * of device classes, signed by vault keys (and offline root keys), with manufacturer
 * delegations, publishing, staged releases, root rotation and key revocation.
 *
 * Authorisation is the server's (roles); this service applies the tenant scope: a repository
 * of another tenant answers UPDATE_REPO_NOT_FOUND. Every change is one transaction that ends
 * with a fresh snapshot and timestamp, and is audited.
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { Mutex } from '../core/mutex.ts';
import { CityTrustError, isCityTrustError } from '../core/errors.ts';
import { canonicalJson } from '../core/canonical-json.ts';
import type { KeyType } from '../vault/types.ts';
import { keyId, tufKeyFromSpki, type TufKeyType, type TufPublicKey } from './keys.ts';
import { SPEC_VERSION, canonicalBytes, countValidSignatures, fileInfo, metadataFile, parseMetadataFile, type RoleKeys, type Signed } from './metadata.ts';
import { channelPath, checkVersion, compareVersions, imagePattern, targetPath, type ArtifactKind } from './names.ts';
import { RepoEngine, roleKeys, TOP, type EngineDeps, type RepoState, type Db } from './engine.ts';
import * as v from './validate.ts';
import { MetadataCache } from './serve-cache.ts';
import type { DelegationDraft } from './ceremony.ts';
import { buildChannel } from './channel.ts';

/** Who acts: an actor for the audit log and a tenant scope (null = the city). */
export interface UpdateActor {
  readonly actor: string;
  readonly tenant: string | null;
}

export interface RepoView {
  id: string;
  tenant: string;
  state: 'pending-root' | 'ready';
  deviceClasses: string[];
  roles: { name: string; keyids: string[]; threshold: number; deviceClasses?: string[] }[];
  keys: { keyid: string; keytype: string; label: string; custody: 'vault' | 'offline'; state: string }[];
  versions: Record<string, number>;
  rootDraft?: { version: number; reason: string };
}

export interface PublishedTarget {
  path: string;
  role: string;
  length: number;
  sha256: string;
  custom: Record<string, unknown>;
  /** Uploaded for a manufacturer that signs offline; not served until it has signed. */
  pending?: true;
}

/** Role prefix of targets uploaded for an offline manufacturer role and not signed yet (never a role name: ROLE_NAME has no colon). */
const PENDING = 'pending:';

export type { DelegationDraft } from './ceremony.ts';

export interface ReleaseView {
  deviceClass: string;
  name: string;
  version: string;
  target: string;
  percent: number;
  sites: string[];
  state: 'active' | 'halted';
}

export interface RootDraftView {
  version: number;
  reason: string;
  /** The canonical bytes to sign, base64 (OLPC canonical JSON of the signed part). */
  canonical: string;
  signed: Signed;
  signatures: Record<string, string>;
  requirements: { label: string; keyids: string[]; threshold: number; have: number }[];
}

const VAULT_TYPE: Record<TufKeyType, KeyType> = { ed25519: 'ed25519', 'ecdsa-sha2-nistp256': 'ec-p256' };

interface NewKey {
  key: TufPublicKey;
  keyid: string;
  vaultKeyId: string;
  label: string;
}

export interface UpdatesDeps extends EngineDeps {
  logger?: Logger;
}

export class Updates {
  readonly #e: RepoEngine;
  readonly #mutex = new Mutex();
  readonly #cache: MetadataCache;
  readonly #logger: Logger | undefined;

  constructor(deps: UpdatesDeps) {
    this.#e = new RepoEngine(deps);
    this.#cache = new MetadataCache(deps.clock, deps.settings.metadataCacheMs);
    this.#logger = deps.logger;
  }

  get settings(): EngineDeps['settings'] {
    return this.#e.deps.settings;
  }

  /** Runs a change under the process lock and one transaction; drops cached "latest" files after. */
  async #change<T>(repoId: string, fn: (trx: Db) => Promise<T>): Promise<T> {
    return this.#mutex.run(async () => {
      try {
        return await this.#e.deps.store.transaction(fn);
      } finally {
        this.#cache.invalidate(repoId);
      }
    });
  }

  async #newVaultKeys(repoTenant: string, actor: string, n: number, type: TufKeyType, label: string): Promise<NewKey[]> {
    const out: NewKey[] = [];
    const caller = { actor, tenant: repoTenant };
    for (let i = 0; i < n; i++) {
      const info = await this.#e.deps.vault.createKey(caller, { type: VAULT_TYPE[type], label: `${label} ${i + 1}`.slice(0, 128), usages: ['sign', 'verify'] });
      const key = tufKeyFromSpki((await this.#e.deps.vault.publicKey(caller, info.id)).spki);
      out.push({ key, keyid: keyId(key), vaultKeyId: info.id, label: `${label} ${i + 1}` });
    }
    return out;
  }

  async #insertKeys(trx: Db, repo: string, keys: { key: TufPublicKey; keyid: string; vaultKeyId: string | null; label: string }[]): Promise<void> {
    const now = this.#e.deps.clock.now();
    for (const k of keys) {
      await trx
        .insertInto('update_keys')
        .values({ repo_id: repo, keyid: k.keyid, keytype: k.key.keytype, scheme: k.key.scheme, public: k.key.keyval.public, vault_key_id: k.vaultKeyId, label: k.label, state: 'active', created_at: now, revoked_at: null })
        .onConflict((oc) => oc.columns(['repo_id', 'keyid']).doNothing())
        .execute();
    }
  }

  // ---------------------------------------------------------------- repositories

  async createRepo(by: UpdateActor, input: unknown): Promise<RepoView> {
    const i = v.obj(input, 'the repository');
    const id = v.repoId(i.id);
    if (typeof i.tenant !== 'string') throw new CityTrustError('INPUT_INVALID', 'tenant is required');
    const tenant = i.tenant;
    if (by.tenant !== null && by.tenant !== tenant) throw new CityTrustError('TENANT_FORBIDDEN', 'a tenant token creates repositories of its own tenant only');
    const classes = v.classList(i.deviceClasses);
    const type = v.keyType(i.keyType);
    const root = v.obj(i.root ?? {}, 'root');
    const offline = v.offlineKeys(root.offlineKeys);
    const rootVault = v.smallInt(root.vaultKeys, 'root.vaultKeys', 0, 9, offline.length > 0 ? 0 : 1);
    if (rootVault + offline.length === 0) throw new CityTrustError('UPDATE_THRESHOLD_INVALID', 'the root role needs at least one key');
    if (new Set(offline.map(keyId)).size !== offline.length) throw new CityTrustError('UPDATE_THRESHOLD_INVALID', 'an offline key is listed twice; a threshold counts distinct keys');
    const rootThreshold = v.threshold(root.threshold, rootVault + offline.length);
    const targets = v.obj(i.targets ?? {}, 'targets');
    const targetsVault = v.smallInt(targets.vaultKeys, 'targets.vaultKeys', 1, 9, 1);
    const targetsThreshold = v.threshold(targets.threshold, targetsVault);
    const db = this.#e.deps.store.db;
    if (!(await db.selectFrom('tenants').select('id').where('id', '=', tenant).executeTakeFirst())) throw new CityTrustError('TENANT_NOT_FOUND', `tenant ${tenant} does not exist`);
    if (await db.selectFrom('update_repos').select('id').where('id', '=', id).executeTakeFirst()) throw new CityTrustError('UPDATE_REPO_EXISTS', `repository ${id} exists`);

    const rootKeys = await this.#newVaultKeys(tenant, by.actor, rootVault, type, `tuf ${id} root`);
    const targetKeys = await this.#newVaultKeys(tenant, by.actor, targetsVault, type, `tuf ${id} targets`);
    const [snapKey] = await this.#newVaultKeys(tenant, by.actor, 1, type, `tuf ${id} snapshot`);
    const [tsKey] = await this.#newVaultKeys(tenant, by.actor, 1, type, `tuf ${id} timestamp`);
    const offlineRows = offline.map((k, n) => ({ key: k, keyid: keyId(k), vaultKeyId: null, label: `tuf ${id} root offline ${n + 1}` }));
    const now = this.#e.deps.clock.now();
    const roles: Record<(typeof TOP)[number], RoleKeys> = {
      root: { keyids: [...rootKeys.map((k) => k.keyid), ...offlineRows.map((k) => k.keyid)], threshold: rootThreshold },
      targets: { keyids: targetKeys.map((k) => k.keyid), threshold: targetsThreshold },
      snapshot: { keyids: [snapKey!.keyid], threshold: 1 },
      timestamp: { keyids: [tsKey!.keyid], threshold: 1 },
    };
    const done = await this.#change(id, async (trx) => {
      await trx.insertInto('update_repos').values({ id, tenant_id: tenant, device_classes: JSON.stringify(classes), state: 'pending-root', created_at: now, created_by: by.actor }).execute();
      await this.#insertKeys(trx, id, [...rootKeys, ...targetKeys, snapKey!, tsKey!, ...offlineRows]);
      for (const [name, rk] of Object.entries(roles)) {
        await trx.insertInto('update_roles').values({ repo_id: id, name, keyids: JSON.stringify(rk.keyids), threshold: rk.threshold, device_classes: null, created_at: now, updated_at: now }).execute();
      }
      const st = await this.#e.load(trx, id);
      await this.#e.proposeRoot(trx, st, roles, 'initial root', by.actor);
      return this.#e.tryCompleteRoot(trx, st, by.actor);
    });
    await this.#e.deps.audit.append({ actor: by.actor, tenant, action: 'updates.repo.create', subject: id, details: { deviceClasses: classes, rootThreshold, rootKeys: roles.root.keyids.length, offlineRootKeys: offline.length, targetsThreshold, ready: done.published } });
    return this.getRepo(by, id);
  }

  async getRepo(by: UpdateActor, repoId: string): Promise<RepoView> {
    const db = this.#e.deps.store.db;
    const st = await this.#e.load(db, v.repoId(repoId), by.tenant);
    const versions: Record<string, number> = {};
    for (const r of st.roles.keys()) {
      const m = await this.#e.latest(db, st.repo.id, r);
      if (m) versions[r] = m.version;
    }
    const d = await this.#e.draft(db, st.repo.id);
    return {
      id: st.repo.id,
      tenant: st.repo.tenant_id,
      state: st.repo.state,
      deviceClasses: JSON.parse(st.repo.device_classes) as string[],
      roles: [...st.roles.values()].map((r) => ({ name: r.name, ...roleKeys(r), keyids: [...roleKeys(r).keyids], ...(r.device_classes ? { deviceClasses: JSON.parse(r.device_classes) as string[] } : {}) })),
      keys: [...st.keys.values()].map((k) => ({ keyid: k.keyid, keytype: k.keytype, label: k.label, custody: k.vault_key_id ? 'vault' : 'offline', state: k.state })),
      versions,
      ...(d ? { rootDraft: { version: d.version, reason: d.reason } } : {}),
    };
  }

  async listRepos(by: UpdateActor): Promise<{ id: string; tenant: string; state: string; deviceClasses: string[] }[]> {
    let q = this.#e.deps.store.db.selectFrom('update_repos').selectAll();
    if (by.tenant !== null) q = q.where('tenant_id', '=', by.tenant);
    const rows = await q.orderBy('id').execute();
    return rows.map((r) => ({ id: r.id, tenant: r.tenant_id, state: r.state, deviceClasses: JSON.parse(r.device_classes) as string[] }));
  }

  /** The tenant owning a repository, for authorisation before acting (foreign = not found). */
  async tenantOf(repoId: string): Promise<string> {
    const r = await this.#e.deps.store.db.selectFrom('update_repos').select('tenant_id').where('id', '=', v.repoId(repoId)).executeTakeFirst();
    if (!r) throw new CityTrustError('UPDATE_REPO_NOT_FOUND', 'no such update repository');
    return r.tenant_id;
  }

  // ---------------------------------------------------------------- delegations

  /**
   * Delegates images of some device classes to a manufacturer role with its own vault keys:
   * the role signs `images/<class>/*` for those classes and nothing else (TUF §4.5 paths).
   */
  async addDelegation(by: UpdateActor, repoId: string, input: unknown): Promise<RepoView> {
    const i = v.obj(input, 'the delegation');
    const name = v.roleName(i.name);
    const type = v.keyType(i.keyType);
    // The manufacturer's own keys (held outside the server) or keys the vault creates for it.
    const offline = v.offlineKeys(i.offlineKeys);
    if (offline.length > 0 && i.vaultKeys !== undefined && i.vaultKeys !== 0) throw new CityTrustError('INPUT_INVALID', 'a delegation uses either the manufacturer\'s offline keys or vault keys, not both');
    if (new Set(offline.map(keyId)).size !== offline.length) throw new CityTrustError('UPDATE_THRESHOLD_INVALID', 'an offline key is listed twice; a threshold counts distinct keys');
    const n = offline.length > 0 ? offline.length : v.smallInt(i.vaultKeys, 'vaultKeys', 1, 9, 1);
    const thr = v.threshold(i.threshold, n);
    const db = this.#e.deps.store.db;
    const st0 = await this.#e.load(db, v.repoId(repoId), by.tenant);
    const classes = v.classList(i.deviceClasses, JSON.parse(st0.repo.device_classes) as string[]);
    if (st0.roles.has(name)) throw new CityTrustError('UPDATE_ROLE_EXISTS', `role ${name} exists`);
    for (const r of st0.roles.values()) {
      const taken = r.device_classes ? (JSON.parse(r.device_classes) as string[]).filter((c) => classes.includes(c)) : [];
      if (taken.length > 0) throw new CityTrustError('UPDATE_ROLE_EXISTS', `device class ${taken[0]} is already delegated to ${r.name}`);
    }
    this.#ready(st0);
    for (const k of offline) if (st0.keys.has(keyId(k))) throw new CityTrustError('UPDATE_KEY_INVALID', 'this key already serves the repository (or was revoked); a manufacturer brings its own key');
    const keys =
      offline.length > 0
        ? offline.map((k, j) => ({ key: k, keyid: keyId(k), vaultKeyId: null, label: `tuf ${st0.repo.id} ${name} offline ${j + 1}` }))
        : await this.#newVaultKeys(st0.repo.tenant_id, by.actor, n, type, `tuf ${st0.repo.id} ${name}`);
    const now = this.#e.deps.clock.now();
    await this.#change(st0.repo.id, async (trx) => {
      await this.#insertKeys(trx, st0.repo.id, keys);
      await trx.insertInto('update_roles').values({ repo_id: st0.repo.id, name, keyids: JSON.stringify(keys.map((k) => k.keyid)), threshold: thr, device_classes: JSON.stringify(classes), created_at: now, updated_at: now }).execute();
      const st = await this.#e.load(trx, st0.repo.id);
      await this.#e.commit(trx, st, ['targets', name], by.actor);
    });
    await this.#e.deps.audit.append({ actor: by.actor, tenant: st0.repo.tenant_id, action: 'updates.delegation.create', subject: `${st0.repo.id}/${name}`, details: { deviceClasses: classes, threshold: thr, keyids: keys.map((k) => k.keyid), custody: offline.length > 0 ? 'offline' : 'vault' } });
    return this.getRepo(by, st0.repo.id);
  }

  #ready(st: RepoState): void {
    if (st.repo.state !== 'ready') throw new CityTrustError('UPDATE_REPO_NOT_READY', 'the first root is not signed by its threshold yet');
  }

  // ---------------------------------------------------------------- publishing

  /**
   * Publishes an image (signed by the role delegated for its class, or by targets when the
   * class has no manufacturer) or a data bundle (configuration, trust list: signed by targets).
   */
  async publish(by: UpdateActor, repoId: string, input: { kind?: unknown; deviceClass: unknown; name?: unknown; version: unknown; content: Uint8Array; sha256?: unknown; minBootloader?: unknown; role?: unknown }): Promise<PublishedTarget> {
    const kind: ArtifactKind = input.kind === undefined ? 'image' : input.kind === 'image' || input.kind === 'data' ? input.kind : (() => { throw new CityTrustError('INPUT_INVALID', 'kind is image or data'); })();
    const name = v.artifactName(input.name ?? (kind === 'image' ? 'firmware' : 'config'));
    const version = checkVersion(input.version);
    const minBoot = input.minBootloader === undefined ? undefined : checkVersion(input.minBootloader);
    const declared = v.sha256Hex(input.sha256);
    const content = input.content;
    if (!(content instanceof Uint8Array) || content.length === 0) throw new CityTrustError('INPUT_INVALID', 'the file is empty');
    if (content.length > this.settings.maxTargetBytes) throw new CityTrustError('INPUT_TOO_LARGE', `the file exceeds updates.maxTargetBytes (${this.settings.maxTargetBytes} bytes)`);
    const sha256 = createHash('sha256').update(content).digest('hex');
    if (declared !== undefined && declared !== sha256) throw new CityTrustError('UPDATE_HASH_MISMATCH', 'the uploaded bytes do not have the declared SHA-256; nothing was published');
    const db = this.#e.deps.store.db;
    const st0 = await this.#e.load(db, v.repoId(repoId), by.tenant);
    this.#ready(st0);
    const cls = v.deviceClass(input.deviceClass);
    if (!(JSON.parse(st0.repo.device_classes) as string[]).includes(cls)) throw new CityTrustError('UPDATE_DEVICE_CLASS_UNKNOWN', `the repository does not serve device class ${cls}`);
    const delegate = [...st0.roles.values()].find((r) => r.device_classes !== null && (JSON.parse(r.device_classes) as string[]).includes(cls));
    const expected = kind === 'image' && delegate ? delegate.name : 'targets';
    if (input.role !== undefined && input.role !== expected) {
      if (typeof input.role !== 'string' || !st0.roles.has(input.role)) throw new CityTrustError('UPDATE_ROLE_NOT_FOUND', 'no such role in the repository');
      throw new CityTrustError('UPDATE_DELEGATION_PATH_FORBIDDEN', `role ${input.role} may not sign ${kind === 'image' ? 'images' : 'data'} for device class ${cls}; ${expected} does`);
    }
    const path = targetPath(kind, cls, name, version);
    const existing = await db.selectFrom('update_targets').select(['sha256', 'role', 'length', 'custom']).where('repo_id', '=', st0.repo.id).where('path', '=', path).executeTakeFirst();
    if (existing) {
      const pending = existing.role.startsWith(PENDING);
      if (existing.sha256 === sha256) return { path, role: pending ? existing.role.slice(PENDING.length) : existing.role, length: Number(existing.length), sha256, custom: JSON.parse(existing.custom) as Record<string, unknown>, ...(pending && { pending: true }) };
      throw new CityTrustError('UPDATE_TARGET_EXISTS', `${path} is published with other bytes; publish a new version`);
    }
    const custom = { deviceClass: cls, kind, name, version, ...(minBoot ? { minBootloader: minBoot } : {}) };
    // A manufacturer holding its own keys signs its role offline: the image waits, unsigned and unserved.
    const offline = this.#e.isOffline(st0, expected);
    await this.#change(st0.repo.id, async (trx) => {
      await trx.insertInto('update_targets').values({ repo_id: st0.repo.id, path, role: offline ? `${PENDING}${expected}` : expected, length: content.length, sha256, custom: JSON.stringify(custom), content, created_at: this.#e.deps.clock.now(), created_by: by.actor }).execute();
      if (!offline) await this.#e.commit(trx, await this.#e.load(trx, st0.repo.id), [expected], by.actor);
    });
    await this.#e.deps.audit.append({ actor: by.actor, tenant: st0.repo.tenant_id, action: offline ? 'updates.target.upload' : 'updates.target.publish', subject: `${st0.repo.id}/${path}`, details: { role: expected, length: content.length, sha256, version, ...(offline && { awaits: 'manufacturer signature' }) } });
    return { path, role: expected, length: content.length, sha256, custom, ...(offline && { pending: true }) };
  }

  async listTargets(by: UpdateActor, repoId: string): Promise<PublishedTarget[]> {
    const db = this.#e.deps.store.db;
    const st = await this.#e.load(db, v.repoId(repoId), by.tenant);
    const rows = await db.selectFrom('update_targets').select(['path', 'role', 'length', 'sha256', 'custom']).where('repo_id', '=', st.repo.id).orderBy('path').execute();
    return rows.map((r) => {
      const pending = r.role.startsWith(PENDING);
      return { path: r.path, role: pending ? r.role.slice(PENDING.length) : r.role, length: Number(r.length), sha256: r.sha256, custom: JSON.parse(r.custom) as Record<string, unknown>, ...(pending && { pending: true as const }) };
    });
  }

  // ---------------------------------------------------------------- offline manufacturer signing

  /**
   * The next version of an offline manufacturer role, for the manufacturer to sign on its own
   * machine (`citytrust updates sign-role`): its signed targets plus the images uploaded since.
   */
  async delegationDraft(by: UpdateActor, repoId: string, roleName: unknown): Promise<DelegationDraft> {
    const db = this.#e.deps.store.db;
    const st = await this.#e.load(db, v.repoId(repoId), by.tenant);
    const role = this.#offlineRole(st, roleName);
    const signed = await this.#e.targetsDraft(db, st, role, `${PENDING}${role}`);
    const pendingRows = await db.selectFrom('update_targets').select('path').where('repo_id', '=', st.repo.id).where('role', '=', `${PENDING}${role}`).orderBy('path').execute();
    const rk = roleKeys(st.roles.get(role)!);
    return {
      role,
      version: signed.version,
      canonical: Buffer.from(canonicalBytes(signed)).toString('base64'),
      signed,
      keyids: [...rk.keyids],
      threshold: rk.threshold,
      paths: (JSON.parse(st.roles.get(role)!.device_classes!) as string[]).map(imagePattern),
      pending: pendingRows.map((r) => r.path),
    };
  }

  /**
   * Adds manufacturer keys to an offline role (and optionally sets its threshold), e.g. before
   * revoking a compromised one. Re-signs targets (the delegation lives there); the role's own
   * metadata must then be signed by the new threshold at its next version.
   */
  async addDelegationKeys(by: UpdateActor, repoId: string, roleName: unknown, input: unknown): Promise<RepoView> {
    const i = v.obj(input, 'the keys');
    const add = v.offlineKeys(i.offlineKeys);
    if (add.length === 0) throw new CityTrustError('INPUT_INVALID', 'offlineKeys lists the manufacturer public keys to add');
    const db = this.#e.deps.store.db;
    const st0 = await this.#e.load(db, v.repoId(repoId), by.tenant);
    this.#ready(st0);
    const role = this.#offlineRole(st0, roleName);
    for (const k of add) if (st0.keys.has(keyId(k))) throw new CityTrustError('UPDATE_KEY_INVALID', 'this key already serves the repository (or was revoked)');
    const rk = roleKeys(st0.roles.get(role)!);
    const keyids = [...rk.keyids, ...add.map(keyId)];
    if (new Set(keyids).size !== keyids.length) throw new CityTrustError('UPDATE_THRESHOLD_INVALID', 'a key is listed twice; a threshold counts distinct keys');
    const thr = v.threshold(i.threshold ?? rk.threshold, keyids.length);
    await this.#change(st0.repo.id, async (trx) => {
      await this.#insertKeys(trx, st0.repo.id, add.map((k, j) => ({ key: k, keyid: keyId(k), vaultKeyId: null, label: `tuf ${st0.repo.id} ${role} offline +${j + 1}` })));
      await trx.updateTable('update_roles').set({ keyids: JSON.stringify(keyids), threshold: thr, updated_at: this.#e.deps.clock.now() }).where('repo_id', '=', st0.repo.id).where('name', '=', role).execute();
      await this.#e.commit(trx, await this.#e.load(trx, st0.repo.id), ['targets'], by.actor);
    });
    await this.#e.deps.audit.append({ actor: by.actor, tenant: st0.repo.tenant_id, action: 'updates.delegation.keys', subject: `${st0.repo.id}/${role}`, details: { added: add.map(keyId), threshold: thr } });
    return this.getRepo(by, st0.repo.id);
  }

  #offlineRole(st: RepoState, roleName: unknown): string {
    const role = v.roleName(roleName);
    const r = st.roles.get(role);
    if (!r || r.device_classes === null) throw new CityTrustError('UPDATE_ROLE_NOT_FOUND', `the repository delegates no role ${role}`);
    if (!this.#e.isOffline(st, role)) throw new CityTrustError('CONFLICT', `role ${role} is signed by the vault; only a manufacturer holding its own keys submits signed metadata`);
    return role;
  }

  /**
   * Publishes a version of a manufacturer role signed offline with the manufacturer's keys.
   * Before anything is stored: the signatures meet the role threshold with the keys targets
   * delegates to it (UPDATE_SIGNATURE_INVALID, UPDATE_THRESHOLD_NOT_MET); the version is the
   * next; every target is within the role's paths and for its device classes
   * (UPDATE_DELEGATION_PATH_FORBIDDEN — a compromised manufacturer key cannot sign for another
   * class); every target is an uploaded file with that length, hash and custom fields
   * (UPDATE_HASH_MISMATCH); no signed target is dropped. Then snapshot and timestamp follow.
   */
  async submitDelegatedMetadata(by: UpdateActor, repoId: string, roleName: unknown, input: unknown): Promise<{ role: string; version: number; targets: string[] }> {
    const i = v.obj(input, 'the signed metadata');
    const db = this.#e.deps.store.db;
    const st0 = await this.#e.load(db, v.repoId(repoId), by.tenant);
    this.#ready(st0);
    const role = this.#offlineRole(st0, roleName);
    const out = await this.#change(st0.repo.id, async (trx) => {
      const st = await this.#e.load(trx, st0.repo.id);
      const { signed, signatures } = parseMetadataFile(Buffer.from(JSON.stringify({ signed: i.signed, signatures: i.signatures }), 'utf8'), 'targets');
      const malformed = (why: string): never => {
        throw new CityTrustError('UPDATE_METADATA_MALFORMED', `the ${role} metadata ${why}; nothing was published`);
      };
      if (signatures.length > 32) malformed('carries more than 32 signatures');
      if (Object.keys(signed).some((k) => !['_type', 'spec_version', 'version', 'expires', 'targets'].includes(k))) malformed('has fields other than _type, spec_version, version, expires and targets (a manufacturer role does not delegate further)');
      if (signed.spec_version !== SPEC_VERSION) malformed(`is not spec_version ${SPEC_VERSION}`);
      if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/.test(signed.expires)) malformed('has an expiry that is not YYYY-MM-DDThh:mm:ssZ');
      const prev = await this.#e.latest(trx, st.repo.id, role);
      if (signed.version !== (prev?.version ?? 0) + 1) throw new CityTrustError('CONFLICT', `the ${role} metadata is version ${signed.version}; the next is ${(prev?.version ?? 0) + 1} (fetch a fresh draft)`);
      const now = this.#e.deps.clock.now();
      const expires = Date.parse(signed.expires);
      if (!(expires > now + 3600_000) || expires > now + (this.settings.targetsExpirySeconds + 86400) * 1000) malformed(`expires ${signed.expires}, outside (now + 1 h, now + updates.targetsExpirySeconds + 1 d]`);
      const targets = signed.targets;
      if (targets === null || typeof targets !== 'object' || Array.isArray(targets)) malformed('has no targets object');
      const r = st.roles.get(role)!;
      const classes = JSON.parse(r.device_classes!) as string[];
      const entries = Object.entries(targets as Record<string, unknown>);
      if (entries.length > 10_000) malformed('lists too many targets');
      const stored = new Map((await trx.selectFrom('update_targets').select(['path', 'role', 'length', 'sha256', 'custom']).where('repo_id', '=', st.repo.id).where('role', 'in', [role, `${PENDING}${role}`]).execute()).map((t) => [t.path, t]));
      for (const [path, info0] of entries) {
        const m = /^images\/([a-z0-9][a-z0-9-]{0,62})\/[^/]+$/.exec(path);
        const info = (info0 ?? {}) as { length?: unknown; hashes?: { sha256?: unknown }; custom?: { deviceClass?: unknown } };
        if (!m || !classes.includes(m[1]!) || info.custom?.deviceClass !== m[1]) {
          throw new CityTrustError('UPDATE_DELEGATION_PATH_FORBIDDEN', `role ${role} is delegated images/${classes.join('|')}/* only; it may not sign ${path.slice(0, 120)}; nothing was published`);
        }
        const t = stored.get(path);
        if (!t) throw new CityTrustError('UPDATE_RELEASE_NOT_FOUND', `${path.slice(0, 120)} was not uploaded; upload the image before signing it`);
        if (info.length !== Number(t.length) || info.hashes?.sha256 !== t.sha256 || canonicalJson(info.custom) !== canonicalJson(JSON.parse(t.custom))) {
          throw new CityTrustError('UPDATE_HASH_MISMATCH', `the signed length, hash or custom fields of ${path} differ from the uploaded image; nothing was published`);
        }
      }
      for (const [path, t] of stored) if (t.role === role && !(path in (targets as object))) malformed(`drops the signed target ${path}`);
      // Signatures: each must verify with a key of the role; together they meet its threshold.
      const rk = roleKeys(r);
      const keys: Record<string, TufPublicKey> = {};
      for (const id of rk.keyids) {
        const k = st.keys.get(id);
        if (k && k.state === 'active') keys[id] = { keytype: k.keytype, scheme: k.scheme, keyval: { public: k.public } };
      }
      const data = canonicalBytes(signed);
      for (const sig of signatures) {
        if (!(sig.keyid in keys)) throw new CityTrustError('UPDATE_KEY_NOT_FOUND', `key ${sig.keyid.slice(0, 16)}… is not an active key of ${role}; nothing was published`);
        if (countValidSignatures(data, [sig], keys, rk) !== 1) throw new CityTrustError('UPDATE_SIGNATURE_INVALID', `the signature of ${sig.keyid.slice(0, 16)}… does not verify over the canonical bytes; nothing was published`);
      }
      const have = countValidSignatures(data, signatures, keys, rk);
      if (have < rk.threshold) throw new CityTrustError('UPDATE_THRESHOLD_NOT_MET', `${role} needs ${rk.threshold} signatures of distinct keys; ${have} verified; nothing was published`);
      await this.#e.insertSigned(trx, st.repo.id, role, signed.version, metadataFile(signed, signatures), expires);
      const newly = entries.map(([p]) => p).filter((p) => stored.get(p)?.role !== role);
      if (newly.length > 0) await trx.updateTable('update_targets').set({ role }).where('repo_id', '=', st.repo.id).where('path', 'in', newly).execute();
      await this.#e.commit(trx, st, [], by.actor);
      return { role, version: signed.version, targets: newly };
    });
    await this.#e.deps.audit.append({ actor: by.actor, tenant: st0.repo.tenant_id, action: 'updates.delegation.publish', subject: `${st0.repo.id}/${role}`, details: { version: out.version, targets: out.targets } });
    return out;
  }

  // ---------------------------------------------------------------- releases and rollout

  /** Makes a published version the release of its class and name, for a share of devices or sites first. */
  async release(by: UpdateActor, repoId: string, input: unknown): Promise<ReleaseView> {
    const i = v.obj(input, 'the release');
    const cls = v.deviceClass(i.deviceClass);
    const name = v.artifactName(i.name ?? 'firmware');
    const version = checkVersion(i.version);
    const percent = v.percent(i.percent, 100);
    const sites = v.sites(i.sites);
    const db = this.#e.deps.store.db;
    const st = await this.#e.load(db, v.repoId(repoId), by.tenant);
    this.#ready(st);
    const target = await db
      .selectFrom('update_targets')
      .select('path')
      .where('repo_id', '=', st.repo.id)
      .where('path', 'in', [targetPath('image', cls, name, version), targetPath('data', cls, name, version)])
      .where('role', 'not like', `${PENDING}%`)
      .executeTakeFirst();
    if (!target) throw new CityTrustError('UPDATE_RELEASE_NOT_FOUND', `${name} ${version} for ${cls} is not published (or awaits its manufacturer's signature); publish it first`);
    const cur = await db.selectFrom('update_releases').selectAll().where('repo_id', '=', st.repo.id).where('device_class', '=', cls).where('name', '=', name).executeTakeFirst();
    if (cur && compareVersions(version, cur.version) <= 0) throw new CityTrustError('UPDATE_VERSION_NOT_NEWER', `the current release of ${name} for ${cls} is ${cur.version}; a release must be newer`);
    const row = { repo_id: st.repo.id, device_class: cls, name, version, target_path: target.path, percent, sites: JSON.stringify(sites), state: 'active' as const, updated_at: this.#e.deps.clock.now(), updated_by: by.actor };
    await this.#change(st.repo.id, async (trx) => {
      if (cur) await trx.updateTable('update_releases').set(row).where('repo_id', '=', st.repo.id).where('device_class', '=', cls).where('name', '=', name).execute();
      else await trx.insertInto('update_releases').values(row).execute();
      await this.#writeChannel(trx, st, cls, by.actor);
    });
    await this.#e.deps.audit.append({ actor: by.actor, tenant: st.repo.tenant_id, action: 'updates.release.set', subject: `${st.repo.id}/${cls}/${name}`, details: { version, percent, sites, previous: cur?.version ?? null } });
    return { deviceClass: cls, name, version, target: target.path, percent, sites, state: 'active' };
  }

  /** Changes the rollout of the current release: widen the percentage, add sites, halt or resume. */
  async rollout(by: UpdateActor, repoId: string, input: unknown): Promise<ReleaseView> {
    const i = v.obj(input, 'the rollout');
    const cls = v.deviceClass(i.deviceClass);
    const name = v.artifactName(i.name ?? 'firmware');
    const state = i.state === undefined ? undefined : i.state === 'active' || i.state === 'halted' ? i.state : (() => { throw new CityTrustError('UPDATE_ROLLOUT_INVALID', 'state is active or halted'); })();
    const db = this.#e.deps.store.db;
    const st = await this.#e.load(db, v.repoId(repoId), by.tenant);
    const cur = await db.selectFrom('update_releases').selectAll().where('repo_id', '=', st.repo.id).where('device_class', '=', cls).where('name', '=', name).executeTakeFirst();
    if (!cur) throw new CityTrustError('UPDATE_RELEASE_NOT_FOUND', `no release of ${name} for ${cls}`);
    const percent = v.percent(i.percent, Number(cur.percent));
    const sites = i.sites === undefined ? (JSON.parse(cur.sites) as string[]) : v.sites(i.sites);
    const next = { percent, sites: JSON.stringify(sites), state: state ?? cur.state, updated_at: this.#e.deps.clock.now(), updated_by: by.actor };
    await this.#change(st.repo.id, async (trx) => {
      await trx.updateTable('update_releases').set(next).where('repo_id', '=', st.repo.id).where('device_class', '=', cls).where('name', '=', name).execute();
      await this.#writeChannel(trx, st, cls, by.actor);
    });
    const action = state === 'halted' ? 'updates.release.halt' : state === 'active' && cur.state === 'halted' ? 'updates.release.resume' : 'updates.release.rollout';
    await this.#e.deps.audit.append({ actor: by.actor, tenant: st.repo.tenant_id, action, subject: `${st.repo.id}/${cls}/${name}`, details: { version: cur.version, percent, sites, state: next.state } });
    return { deviceClass: cls, name, version: cur.version, target: cur.target_path, percent, sites, state: next.state };
  }

  async listReleases(by: UpdateActor, repoId: string): Promise<ReleaseView[]> {
    const db = this.#e.deps.store.db;
    const st = await this.#e.load(db, v.repoId(repoId), by.tenant);
    const rows = await db.selectFrom('update_releases').selectAll().where('repo_id', '=', st.repo.id).orderBy('device_class').orderBy('name').execute();
    return rows.map((r) => ({ deviceClass: r.device_class, name: r.name, version: r.version, target: r.target_path, percent: Number(r.percent), sites: JSON.parse(r.sites) as string[], state: r.state }));
  }

  /** Rewrites channels/<class>.json (signed by targets) from the class's releases. */
  async #writeChannel(trx: Db, st: RepoState, cls: string, actor: string): Promise<void> {
    const rows = await trx.selectFrom('update_releases').selectAll().where('repo_id', '=', st.repo.id).where('device_class', '=', cls).orderBy('name').execute();
    const doc = buildChannel(cls, rows.map((r) => ({ name: r.name, version: r.version, target: r.target_path, percent: Number(r.percent), sites: JSON.parse(r.sites) as string[], state: r.state })));
    const content = Buffer.from(canonicalJson(doc), 'utf8');
    const path = channelPath(cls);
    const sha256 = createHash('sha256').update(content).digest('hex');
    await trx.deleteFrom('update_targets').where('repo_id', '=', st.repo.id).where('path', '=', path).execute();
    await trx
      .insertInto('update_targets')
      .values({ repo_id: st.repo.id, path, role: 'targets', length: content.length, sha256, custom: JSON.stringify({ deviceClass: cls, kind: 'channel' }), content, created_at: this.#e.deps.clock.now(), created_by: actor })
      .execute();
    await this.#e.commit(trx, await this.#e.load(trx, st.repo.id), ['targets'], actor);
  }

  // ---------------------------------------------------------------- root rotation and key revocation

  /**
   * Proposes root N+1 with keys added (new vault keys and/or offline public keys), keys removed
   * and a new threshold. It is published at once when the vault holds enough of the old and new
   * root keys; otherwise it waits for offline signatures (`rootDraft`, `addRootSignatures`).
   */
  async rotateRoot(by: UpdateActor, repoId: string, input: unknown): Promise<RepoView> {
    const i = v.obj(input, 'the rotation');
    const addVault = v.smallInt(i.addVaultKeys, 'addVaultKeys', 0, 9, 0);
    const addOffline = v.offlineKeys(i.addOfflineKeys);
    const remove = i.removeKeyids === undefined ? [] : Array.isArray(i.removeKeyids) && i.removeKeyids.every((x) => typeof x === 'string') ? (i.removeKeyids as string[]) : (() => { throw new CityTrustError('INPUT_INVALID', 'removeKeyids is a list of keyids'); })();
    const type = v.keyType(i.keyType);
    const db = this.#e.deps.store.db;
    const st0 = await this.#e.load(db, v.repoId(repoId), by.tenant);
    this.#ready(st0);
    const rootRole = roleKeys(st0.roles.get('root')!);
    for (const r of remove) if (!rootRole.keyids.includes(r)) throw new CityTrustError('UPDATE_KEY_NOT_FOUND', `${r} is not a root key`);
    for (const k of addOffline) if (st0.keys.get(keyId(k))?.state === 'revoked') throw new CityTrustError('UPDATE_KEY_INVALID', 'a revoked key never comes back');
    const kept = rootRole.keyids.filter((k) => !remove.includes(k));
    const count = new Set([...kept, ...addOffline.map(keyId)]).size + addVault;
    const thr = v.threshold(i.threshold ?? Math.min(rootRole.threshold, count), count);
    const added = await this.#newVaultKeys(st0.repo.tenant_id, by.actor, addVault, type, `tuf ${st0.repo.id} root`);
    const offlineRows = addOffline.map((k, n) => ({ key: k, keyid: keyId(k), vaultKeyId: null, label: `tuf ${st0.repo.id} root offline +${n + 1}` }));
    const result = await this.#change(st0.repo.id, async (trx) => {
      await this.#insertKeys(trx, st0.repo.id, [...added, ...offlineRows]);
      const st = await this.#e.load(trx, st0.repo.id);
      const roles = this.#topRoles(st);
      roles.root = { keyids: [...new Set([...kept, ...added.map((k) => k.keyid), ...offlineRows.map((k) => k.keyid)])], threshold: thr };
      await this.#e.proposeRoot(trx, st, roles, typeof i.reason === 'string' ? i.reason.slice(0, 200) : 'root rotation', by.actor);
      return this.#e.tryCompleteRoot(trx, st, by.actor);
    });
    await this.#e.deps.audit.append({ actor: by.actor, tenant: st0.repo.tenant_id, action: 'updates.root.propose', subject: st0.repo.id, details: { version: result.version, threshold: thr, added: [...added, ...offlineRows].map((k) => k.keyid), removed: remove, published: result.published } });
    return this.getRepo(by, st0.repo.id);
  }

  #topRoles(st: RepoState): Record<(typeof TOP)[number], RoleKeys> {
    const out = {} as Record<(typeof TOP)[number], RoleKeys>;
    for (const n of TOP) {
      const rk = roleKeys(st.roles.get(n)!);
      out[n] = { keyids: [...rk.keyids], threshold: rk.threshold };
    }
    return out;
  }

  /**
   * Revokes a key: it signs nothing more, leaves every role that lists it, and is replaced by
   * a fresh vault key where the role would otherwise fall below its threshold. A top-level
   * role's keys live in root, so this proposes a new root; a delegated role's keys live in
   * targets, which is re-signed at once.
   */
  async revokeKey(by: UpdateActor, repoId: string, keyid: unknown): Promise<RepoView> {
    if (typeof keyid !== 'string' || !/^[0-9a-f]{64}$/.test(keyid)) throw new CityTrustError('INPUT_INVALID', 'a keyid is 64 lower-case hex digits');
    const db = this.#e.deps.store.db;
    const st0 = await this.#e.load(db, v.repoId(repoId), by.tenant);
    this.#ready(st0);
    const key = st0.keys.get(keyid);
    if (!key) throw new CityTrustError('UPDATE_KEY_NOT_FOUND', 'no such key in the repository');
    if (key.state === 'revoked') throw new CityTrustError('CONFLICT', 'the key is already revoked');
    const using = [...st0.roles.values()].filter((r) => roleKeys(r).keyids.includes(keyid));
    // Plan replacements first (vault keys are created outside the transaction).
    const replacements = new Map<string, NewKey[]>();
    for (const r of using) {
      const rk = roleKeys(r);
      const remaining = rk.keyids.filter((k) => k !== keyid && st0.keys.get(k)?.state === 'active');
      const remainingVault = remaining.filter((k) => st0.keys.get(k)?.vault_key_id);
      if (r.name === 'root') {
        if (remaining.length < rk.threshold) {
          if (remainingVault.length !== remaining.length) throw new CityTrustError('UPDATE_THRESHOLD_INVALID', 'revoking this key leaves the offline root below its threshold; add a new offline key first (`updates root-rotate --add-offline-key`)');
          replacements.set(r.name, await this.#newVaultKeys(st0.repo.tenant_id, by.actor, rk.threshold - remaining.length, key.keytype, `tuf ${st0.repo.id} root`));
        }
      } else if (this.#e.isOffline(st0, r.name)) {
        // A manufacturer's own key: the server cannot mint a replacement the manufacturer holds.
        if (remaining.length < rk.threshold) throw new CityTrustError('UPDATE_THRESHOLD_INVALID', `revoking this key leaves ${r.name} below its threshold; add a new manufacturer key first (\`updates delegation-keys\`)`);
      } else if (remainingVault.length < rk.threshold) {
        replacements.set(r.name, await this.#newVaultKeys(st0.repo.tenant_id, by.actor, rk.threshold - remainingVault.length, key.keytype, `tuf ${st0.repo.id} ${r.name}`));
      }
    }
    const top = using.some((r) => (TOP as readonly string[]).includes(r.name));
    const now = this.#e.deps.clock.now();
    const result = await this.#change(st0.repo.id, async (trx) => {
      await this.#insertKeys(trx, st0.repo.id, [...replacements.values()].flat());
      const st = await this.#e.load(trx, st0.repo.id);
      const delegatedChanged: string[] = [];
      for (const r of using) {
        if ((TOP as readonly string[]).includes(r.name)) continue;
        const rk = roleKeys(r);
        const keyids = [...rk.keyids.filter((k) => k !== keyid), ...(replacements.get(r.name) ?? []).map((k) => k.keyid)];
        await trx.updateTable('update_roles').set({ keyids: JSON.stringify(keyids), updated_at: now }).where('repo_id', '=', st.repo.id).where('name', '=', r.name).execute();
        delegatedChanged.push(r.name);
      }
      let published = true;
      if (top) {
        const roles = this.#topRoles(st);
        for (const n of TOP) {
          if (!roles[n].keyids.includes(keyid)) continue;
          roles[n] = { keyids: [...roles[n].keyids.filter((k) => k !== keyid), ...(replacements.get(n) ?? []).map((k) => k.keyid)], threshold: roles[n].threshold };
        }
        // The revoked key may still sign this one transition as a member of the trusted root
        // (§5.3.4): refusing would strand a 1-of-1 root; it can never sign a later one.
        await this.#e.proposeRoot(trx, st, roles, `revoke ${keyid}`, by.actor);
        await trx.updateTable('update_keys').set({ state: 'revoked', revoked_at: now }).where('repo_id', '=', st.repo.id).where('keyid', '=', keyid).execute();
        published = (await this.#e.tryCompleteRoot(trx, await this.#e.load(trx, st.repo.id), by.actor)).published;
      } else {
        await trx.updateTable('update_keys').set({ state: 'revoked', revoked_at: now }).where('repo_id', '=', st.repo.id).where('keyid', '=', keyid).execute();
        const fresh = await this.#e.load(trx, st.repo.id);
        await this.#e.commit(trx, fresh, ['targets', ...delegatedChanged], by.actor);
      }
      return published;
    });
    await this.#e.deps.audit.append({ actor: by.actor, tenant: st0.repo.tenant_id, action: 'updates.key.revoke', subject: `${st0.repo.id}/${keyid}`, details: { roles: using.map((r) => r.name), replacements: [...replacements.values()].flat().map((k) => k.keyid), rootPublished: result } });
    return this.getRepo(by, st0.repo.id);
  }

  async rootDraft(by: UpdateActor, repoId: string): Promise<RootDraftView> {
    const db = this.#e.deps.store.db;
    const st = await this.#e.load(db, v.repoId(repoId), by.tenant);
    const d = await this.#e.draft(db, st.repo.id);
    if (!d) throw new CityTrustError('UPDATE_ROOT_DRAFT_NOT_FOUND', 'no root draft awaits signatures');
    const data = canonicalBytes(d.signed);
    const sigs = Object.entries(d.signatures).map(([keyid, sig]) => ({ keyid, sig }));
    const requirements = (await this.#e.requirements(db, st)).map((r) => ({ label: r.label, keyids: [...r.role.keyids], threshold: r.role.threshold, have: countValidSignatures(data, sigs, r.keys, r.role) }));
    return { version: d.version, reason: d.reason, canonical: Buffer.from(data).toString('base64'), signed: d.signed, signatures: d.signatures, requirements };
  }

  /**
   * Accepts signatures of the pending root draft made elsewhere (offline keys). Each must
   * verify over the canonical bytes with a key the draft requires; a bad one is refused and
   * nothing is stored. Publishes the root when every threshold is met.
   */
  async addRootSignatures(by: UpdateActor, repoId: string, input: unknown): Promise<{ version: number; published: boolean; missing: { label: string; have: number; need: number }[] }> {
    const i = v.obj(input, 'the signatures');
    if (!Array.isArray(i.signatures) || i.signatures.length === 0 || i.signatures.length > 32) throw new CityTrustError('INPUT_INVALID', 'signatures is a list of {keyid, sig}');
    const sigs = i.signatures.map((s: unknown) => {
      const x = v.obj(s, 'a signature');
      if (typeof x.keyid !== 'string' || typeof x.sig !== 'string') throw new CityTrustError('INPUT_INVALID', 'a signature is {keyid, sig}');
      return { keyid: x.keyid, sig: x.sig };
    });
    const db = this.#e.deps.store.db;
    const st0 = await this.#e.load(db, v.repoId(repoId), by.tenant);
    const out = await this.#change(st0.repo.id, async (trx) => {
      const st = await this.#e.load(trx, st0.repo.id);
      const d = await this.#e.draft(trx, st.repo.id);
      if (!d) throw new CityTrustError('UPDATE_ROOT_DRAFT_NOT_FOUND', 'no root draft awaits signatures');
      const data = canonicalBytes(d.signed);
      const reqs = await this.#e.requirements(trx, st);
      for (const s of sigs) {
        const req = reqs.find((r) => r.role.keyids.includes(s.keyid));
        if (!req) throw new CityTrustError('UPDATE_KEY_NOT_FOUND', `key ${s.keyid} is not a root key of this draft or of the trusted root`);
        if (countValidSignatures(data, [s], req.keys, req.role) !== 1) throw new CityTrustError('UPDATE_SIGNATURE_INVALID', `the signature of ${s.keyid} does not verify over the draft's canonical bytes`);
      }
      const merged = { ...d.signatures, ...Object.fromEntries(sigs.map((s) => [s.keyid, s.sig])) };
      await trx.updateTable('update_root_drafts').set({ signatures: JSON.stringify(merged) }).where('repo_id', '=', st.repo.id).execute();
      return this.#e.tryCompleteRoot(trx, st, by.actor);
    });
    await this.#e.deps.audit.append({ actor: by.actor, tenant: st0.repo.tenant_id, action: out.published ? 'updates.root.publish' : 'updates.root.sign', subject: st0.repo.id, details: { version: out.version, keyids: sigs.map((s) => s.keyid) } });
    return out;
  }

  /** Drops a pending root draft (a ceremony abandoned); the trusted root stays. */
  async cancelRootDraft(by: UpdateActor, repoId: string): Promise<void> {
    const db = this.#e.deps.store.db;
    const st = await this.#e.load(db, v.repoId(repoId), by.tenant);
    const r = await db.deleteFrom('update_root_drafts').where('repo_id', '=', st.repo.id).executeTakeFirst();
    if (Number(r.numDeletedRows) === 0) throw new CityTrustError('UPDATE_ROOT_DRAFT_NOT_FOUND', 'no root draft awaits signatures');
    await this.#e.deps.audit.append({ actor: by.actor, tenant: st.repo.tenant_id, action: 'updates.root.cancel', subject: st.repo.id });
  }

  // ---------------------------------------------------------------- refresh (online keys)

  /**
   * Re-signs what passed half its lifetime: timestamp, snapshot, targets roles, and root when
   * the vault holds enough root keys (otherwise a draft is left for the custodians and a
   * warning logged). Returns what was re-signed. Safe to run on several instances: a version
   * published meanwhile by another makes this one's insert fail and is skipped.
   */
  async refresh(actor = 'system:updates'): Promise<{ repo: string; roles: string[] }[]> {
    const repos = await this.#e.deps.store.db.selectFrom('update_repos').select('id').where('state', '=', 'ready').execute();
    const out: { repo: string; roles: string[] }[] = [];
    for (const { id } of repos) {
      try {
        const roles = await this.#refreshRepo(id, actor);
        if (roles.length > 0) out.push({ repo: id, roles });
      } catch (e) {
        if (isCityTrustError(e, 'CONFLICT')) continue;
        this.#logger?.error({ err: e, repo: id }, 'updates: refreshing metadata failed');
      }
    }
    return out;
  }

  async #refreshRepo(id: string, actor: string): Promise<string[]> {
    const now = this.#e.deps.clock.now();
    const db = this.#e.deps.store.db;
    const half = (m: { expires_at: number; created_at: number } | undefined) => !m || now >= m.created_at + (m.expires_at - m.created_at) / 2;
    const st = await this.#e.load(db, id);
    const done: string[] = [];
    const root = await this.#e.latest(db, id, 'root');
    if (half(root) && !(await this.#e.draft(db, id))) {
      const rootVault = roleKeys(st.roles.get('root')!).keyids.filter((k) => st.keys.get(k)?.vault_key_id);
      const published = await this.#change(id, async (trx) => {
        await this.#e.proposeRoot(trx, st, this.#topRoles(st), 'expiry refresh', actor);
        return (await this.#e.tryCompleteRoot(trx, st, actor)).published;
      });
      if (published) return ['root', 'targets', 'snapshot', 'timestamp'];
      this.#logger?.warn({ repo: id, vaultRootKeys: rootVault.length }, 'updates: root metadata passed half its lifetime; a root draft awaits the offline custodians (`citytrust updates sign-root`)');
      done.push('root-draft');
    }
    const targetRoles = ['targets', ...[...st.roles.values()].filter((r) => r.device_classes !== null).map((r) => r.name)];
    const stale: string[] = [];
    for (const r of targetRoles) {
      const m = await this.#e.latest(db, id, r);
      if (this.#e.isOffline(st, r)) {
        // Only the manufacturer can re-sign its role: warn at half-life (`updates role-draft`, `sign-role`).
        if (m && half(m)) this.#logger?.warn({ repo: id, role: r, expires: new Date(m.expires_at).toISOString() }, 'updates: a manufacturer role signed offline passed half its lifetime; ask the manufacturer to sign a fresh version (`citytrust updates sign-role`)');
        continue;
      }
      if (half(m)) stale.push(r);
    }
    const snap = await this.#e.latest(db, id, 'snapshot');
    if (stale.length > 0 || half(snap)) {
      await this.#change(id, (trx) => this.#e.commit(trx, st, stale, actor));
      return [...done, ...stale, 'snapshot', 'timestamp'];
    }
    if (half(await this.#e.latest(db, id, 'timestamp'))) {
      await this.#change(id, async (trx) => {
        const s = (await this.#e.latest(trx, id, 'snapshot'))!;
        await this.#e.signTimestamp(trx, st, fileInfo(s.version, s.body), actor);
      });
      done.push('timestamp');
    }
    return done;
  }

  // ---------------------------------------------------------------- serving (public, unauthenticated)

  /**
   * A metadata file by its TUF name: `timestamp.json`, `<N>.root.json`, `<N>.snapshot.json`,
   * `<N>.<role>.json` (consistent snapshots, §6.2), or `<role>.json` for the newest version.
   * NOT_FOUND for a version that does not exist: tuf-js reads a 404 on `<N+1>.root.json`
   * as "no newer root" (§5.3.3).
   */
  async metadata(repoId: string, file: string): Promise<Uint8Array> {
    return this.#cache.get(repoId, file, async () => {
      const db = this.#e.deps.store.db;
      const repo = await db.selectFrom('update_repos').select(['id', 'state']).where('id', '=', repoId).executeTakeFirst();
      if (!repo) throw new CityTrustError('UPDATE_REPO_NOT_FOUND', 'no such update repository');
      if (repo.state !== 'ready') throw new CityTrustError('UPDATE_REPO_NOT_READY', 'the repository has no signed root yet');
      const m = /^(?:([1-9][0-9]{0,15})\.)?([a-z][a-z0-9-]{1,62})\.json$/.exec(file);
      if (!m) throw new CityTrustError('NOT_FOUND', 'no such metadata file');
      const role = m[2]!;
      let q = db.selectFrom('update_metadata').select(['body', 'version']).where('repo_id', '=', repoId).where('role', '=', role);
      q = m[1] ? q.where('version', '=', Number(m[1])) : q.orderBy('version', 'desc').limit(1);
      const r = await q.executeTakeFirst();
      if (!r) throw new CityTrustError('NOT_FOUND', 'no such metadata file');
      return { body: new Uint8Array(r.body), immutable: m[1] !== undefined };
    });
  }

  /** A target by its consistent-snapshot name `<dir>/<sha256>.<basename>` (§6.2). */
  async target(repoId: string, file: string): Promise<Uint8Array> {
    const m = /^(.*\/)?([0-9a-f]{64})\.([^/]+)$/.exec(file);
    if (!m) throw new CityTrustError('NOT_FOUND', 'no such target');
    const path = `${m[1] ?? ''}${m[3]}`;
    const r = await this.#e.deps.store.db
      .selectFrom('update_targets')
      .select('content')
      .where('repo_id', '=', repoId)
      .where('path', '=', path)
      .where('sha256', '=', m[2]!)
      .where('role', 'not like', `${PENDING}%`)
      .executeTakeFirst();
    if (!r) throw new CityTrustError('NOT_FOUND', 'no such target');
    return new Uint8Array(r.content);
  }
}
