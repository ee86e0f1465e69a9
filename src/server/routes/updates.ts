/**
 * Updates over HTTP (docs/updates.md). Devices read `/updates/<repo>/metadata/…` and
 * `/updates/<repo>/targets/…` without credentials (TUF metadata protects the content; a
 * bearer token would add nothing a mirror could not strip) and post signed install reports.
 * Operators manage repositories under /v1/updates with tokens. A repository of another
 * tenant answers UPDATE_REPO_NOT_FOUND.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { CityTrustError } from '../../core/errors.ts';
import { actorOf, type Principal, type Role } from '../../access/roles.ts';
import type { UpdateActor } from '../../updates/index.ts';
import type { AppContext } from '../context.ts';
import { requireRoles } from '../auth.ts';
import { bearer, errorResponses } from './schemas.ts';

const repoParams = { type: 'object', required: ['repo'], additionalProperties: false, properties: { repo: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{1,62}$' } } } as const;
const anyObject = { type: 'object', additionalProperties: true } as const;
const READ: readonly Role[] = ['tenant-admin', 'operator', 'auditor'];
const WRITE: readonly Role[] = ['tenant-admin', 'operator'];
const ADMIN: readonly Role[] = ['tenant-admin'];

function by(p: Principal): UpdateActor {
  return { actor: actorOf(p), tenant: p.tenant };
}

export function updatesRoutes(app: FastifyInstance, ctx: AppContext): void {
  const u = ctx.updates.repos;
  const auth = async (req: FastifyRequest, roles: readonly Role[]) => by(await requireRoles(ctx.tokens, req, roles));
  const repoOf = (req: FastifyRequest) => (req.params as { repo: string }).repo;

  // ------------------------------------------------------------ device-facing, public

  app.get(
    '/updates/:repo/metadata/:file',
    {
      schema: {
        tags: ['updates'],
        summary: 'TUF metadata: timestamp.json, <N>.root.json, <N>.snapshot.json, <N>.targets.json, <N>.<delegated role>.json (consistent snapshots).',
        params: { type: 'object', required: ['repo', 'file'], additionalProperties: false, properties: { repo: repoParams.properties.repo, file: { type: 'string', maxLength: 100 } } },
      },
    },
    async (req, reply) => {
      const { repo, file } = req.params as { repo: string; file: string };
      const body = await u.metadata(repo, file);
      // Versioned files never change (§6.2); the newest-version names change at every refresh.
      void reply.header('cache-control', /^[0-9]+\./.test(file) ? 'public, max-age=31536000, immutable' : 'no-cache');
      return reply.type('application/json').send(Buffer.from(body.buffer, body.byteOffset, body.byteLength));
    },
  );

  app.get(
    '/updates/:repo/targets/*',
    { schema: { tags: ['updates'], summary: 'A target (image, data bundle, release channel) by its consistent-snapshot name <dir>/<sha256>.<file>.' } },
    async (req, reply) => {
      const { repo } = req.params as { repo: string; '*': string };
      if (!/^[a-z0-9][a-z0-9-]{1,62}$/.test(repo)) throw new CityTrustError('NOT_FOUND', 'no such target');
      const body = await u.target(repo, (req.params as { '*': string })['*']);
      void reply.header('cache-control', 'public, max-age=31536000, immutable');
      return reply.type('application/octet-stream').send(Buffer.from(body.buffer, body.byteOffset, body.byteLength));
    },
  );

  app.post(
    '/updates/:repo/reports',
    {
      schema: {
        tags: ['updates'],
        summary: 'A device reports what it installed, signed with its certificate key (docs/updates.md, install reports).',
        params: repoParams,
        body: { type: 'object', required: ['report', 'alg', 'signature'], additionalProperties: false, properties: { report: anyObject, alg: { type: 'string' }, signature: { type: 'string', maxLength: 200 } } },
        response: { 200: { type: 'object', properties: { accepted: { type: 'boolean' }, seq: { type: 'integer' } } }, ...errorResponses },
      },
    },
    async (req) => ctx.updates.reports.receive(repoOf(req), req.body),
  );

  // ------------------------------------------------------------ management

  app.post('/v1/updates/repos', { schema: { tags: ['updates'], summary: 'Create a TUF repository (root, targets, snapshot, timestamp keys in the vault, or offline root keys).', security: bearer, body: anyObject, response: { 200: anyObject, ...errorResponses } } }, async (req) =>
    u.createRepo(await auth(req, ADMIN), req.body),
  );
  app.get('/v1/updates/repos', { schema: { tags: ['updates'], summary: 'List repositories of your tenant.', security: bearer, response: { 200: { type: 'array', items: anyObject }, ...errorResponses } } }, async (req) =>
    u.listRepos(await auth(req, READ)),
  );
  app.get('/v1/updates/repos/:repo', { schema: { tags: ['updates'], summary: 'A repository: roles, keys, thresholds, versions, pending root draft.', security: bearer, params: repoParams, response: { 200: anyObject, ...errorResponses } } }, async (req) =>
    u.getRepo(await auth(req, READ), repoOf(req)),
  );
  app.post('/v1/updates/repos/:repo/delegations', { schema: { tags: ['updates'], summary: 'Delegate images of device classes to a manufacturer role (paths images/<class>/*).', security: bearer, params: repoParams, body: anyObject, response: { 200: anyObject, ...errorResponses } } }, async (req) =>
    u.addDelegation(await auth(req, ADMIN), repoOf(req), req.body),
  );

  const roleParams = { type: 'object', required: ['repo', 'role'], additionalProperties: false, properties: { repo: repoParams.properties.repo, role: { type: 'string', maxLength: 63 } } } as const;
  app.get(
    '/v1/updates/repos/:repo/delegations/:role/draft',
    { schema: { tags: ['updates'], summary: "The next version of an offline manufacturer role (canonical bytes to sign with the manufacturer's own key).", security: bearer, params: roleParams, response: { 200: anyObject, ...errorResponses } } },
    async (req) => u.delegationDraft(await auth(req, READ), repoOf(req), (req.params as { role: string }).role),
  );
  app.post(
    '/v1/updates/repos/:repo/delegations/:role/metadata',
    {
      schema: {
        tags: ['updates'],
        summary: 'Publish metadata a manufacturer signed offline ({signed, signatures}); checked against the delegated keys, threshold, paths and uploaded hashes.',
        security: bearer,
        params: roleParams,
        body: anyObject,
        response: { 200: anyObject, ...errorResponses },
      },
    },
    async (req) => u.submitDelegatedMetadata(await auth(req, WRITE), repoOf(req), (req.params as { role: string }).role, req.body),
  );
  app.post(
    '/v1/updates/repos/:repo/delegations/:role/keys',
    { schema: { tags: ['updates'], summary: 'Add manufacturer public keys to an offline manufacturer role (and set its threshold).', security: bearer, params: roleParams, body: anyObject, response: { 200: anyObject, ...errorResponses } } },
    async (req) => u.addDelegationKeys(await auth(req, ADMIN), repoOf(req), (req.params as { role: string }).role, req.body),
  );

  app.register(async (scope) => {
    // Images are raw bytes; the limit is updates.maxTargetBytes, not the JSON body limit.
    scope.addContentTypeParser('application/octet-stream', { parseAs: 'buffer', bodyLimit: ctx.config.updates.maxTargetBytes }, (_req, body, done) => done(null, body));
    scope.post(
      '/v1/updates/repos/:repo/targets',
      {
        bodyLimit: ctx.config.updates.maxTargetBytes,
        schema: {
          tags: ['updates'],
          summary: 'Publish an image or data bundle (body application/octet-stream); signed by the role delegated for its class, or by targets.',
          security: bearer,
          params: repoParams,
          querystring: {
            type: 'object',
            required: ['deviceClass', 'version'],
            additionalProperties: false,
            properties: {
              deviceClass: { type: 'string', maxLength: 63 },
              version: { type: 'string', maxLength: 50 },
              kind: { type: 'string', enum: ['image', 'data'] },
              name: { type: 'string', maxLength: 63 },
              sha256: { type: 'string', maxLength: 64 },
              minBootloader: { type: 'string', maxLength: 50 },
              role: { type: 'string', maxLength: 63 },
            },
          },
          response: { 200: anyObject, ...errorResponses },
        },
      },
      async (req) => {
        const a = await auth(req, WRITE);
        if (!Buffer.isBuffer(req.body)) throw new CityTrustError('INPUT_UNSUPPORTED_MEDIA', 'send the file as application/octet-stream');
        const q = req.query as Record<string, string | undefined>;
        const body = req.body;
        return u.publish(a, repoOf(req), { kind: q.kind, deviceClass: q.deviceClass, name: q.name, version: q.version, sha256: q.sha256, minBootloader: q.minBootloader, role: q.role, content: new Uint8Array(body.buffer, body.byteOffset, body.length) });
      },
    );
  });

  app.get('/v1/updates/repos/:repo/targets', { schema: { tags: ['updates'], summary: 'Published targets.', security: bearer, params: repoParams, response: { 200: { type: 'array', items: anyObject }, ...errorResponses } } }, async (req) =>
    u.listTargets(await auth(req, READ), repoOf(req)),
  );
  app.post('/v1/updates/repos/:repo/releases', { schema: { tags: ['updates'], summary: 'Release a published version to a percentage of devices and/or sites first.', security: bearer, params: repoParams, body: anyObject, response: { 200: anyObject, ...errorResponses } } }, async (req) =>
    u.release(await auth(req, WRITE), repoOf(req), req.body),
  );
  app.get('/v1/updates/repos/:repo/releases', { schema: { tags: ['updates'], summary: 'Current releases and their rollout.', security: bearer, params: repoParams, response: { 200: { type: 'array', items: anyObject }, ...errorResponses } } }, async (req) =>
    u.listReleases(await auth(req, READ), repoOf(req)),
  );
  app.post('/v1/updates/repos/:repo/rollout', { schema: { tags: ['updates'], summary: 'Widen, narrow, halt (state: halted) or resume (state: active) the rollout of a release.', security: bearer, params: repoParams, body: anyObject, response: { 200: anyObject, ...errorResponses } } }, async (req) =>
    u.rollout(await auth(req, WRITE), repoOf(req), req.body),
  );
  app.post('/v1/updates/repos/:repo/root/rotate', { schema: { tags: ['updates'], summary: 'Propose root N+1 (add vault or offline keys, remove keys, change the threshold).', security: bearer, params: repoParams, body: anyObject, response: { 200: anyObject, ...errorResponses } } }, async (req) =>
    u.rotateRoot(await auth(req, ADMIN), repoOf(req), req.body),
  );
  app.get('/v1/updates/repos/:repo/root/draft', { schema: { tags: ['updates'], summary: 'The root draft awaiting offline signatures: canonical bytes to sign and the thresholds.', security: bearer, params: repoParams, response: { 200: anyObject, ...errorResponses } } }, async (req) =>
    u.rootDraft(await auth(req, READ), repoOf(req)),
  );
  app.delete('/v1/updates/repos/:repo/root/draft', { schema: { tags: ['updates'], summary: 'Abandon the pending root draft.', security: bearer, params: repoParams, response: { 200: anyObject, ...errorResponses } } }, async (req) => {
    await u.cancelRootDraft(await auth(req, ADMIN), repoOf(req));
    return { cancelled: true };
  });
  app.post(
    '/v1/updates/repos/:repo/root/signatures',
    { schema: { tags: ['updates'], summary: 'Hand back offline signatures {keyid, sig} of the root draft; publishes it when the thresholds are met.', security: bearer, params: repoParams, body: anyObject, response: { 200: anyObject, ...errorResponses } } },
    async (req) => u.addRootSignatures(await auth(req, ADMIN), repoOf(req), req.body),
  );
  app.post(
    '/v1/updates/repos/:repo/keys/:keyid/revoke',
    {
      schema: {
        tags: ['updates'],
        summary: 'Revoke a key: it leaves every role (replaced by a fresh vault key where needed); top-level roles change through a new root.',
        security: bearer,
        params: { type: 'object', required: ['repo', 'keyid'], additionalProperties: false, properties: { repo: repoParams.properties.repo, keyid: { type: 'string', maxLength: 64 } } },
        response: { 200: anyObject, ...errorResponses },
      },
    },
    async (req) => u.revokeKey(await auth(req, ADMIN), repoOf(req), (req.params as { keyid: string }).keyid),
  );
  app.get(
    '/v1/updates/devices/:tenant/:device',
    {
      schema: {
        tags: ['updates'],
        summary: 'What a device last reported as installed, per artifact.',
        security: bearer,
        params: { type: 'object', required: ['tenant', 'device'], additionalProperties: false, properties: { tenant: { type: 'string', maxLength: 40 }, device: { type: 'string', maxLength: 63 } } },
        response: { 200: { type: 'array', items: anyObject }, ...errorResponses },
      },
    },
    async (req) => {
      const a = await auth(req, READ);
      const { tenant, device } = req.params as { tenant: string; device: string };
      return ctx.updates.reports.installed(a.tenant, tenant, device);
    },
  );
}
