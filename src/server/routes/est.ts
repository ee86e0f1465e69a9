/**
 * EST (RFC 7030) at /.well-known/est/: cacerts, simpleenroll, simplereenroll, csrattrs.
 * Over TLS only (§3.2.2). simpleenroll authenticates with HTTP Basic (user: the device id,
 * password: its one-time bootstrap token, §3.2.3) or with a client certificate of ours (then
 * it renews like simplereenroll); simplereenroll requires the client certificate (§4.2.2).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CityTrustError } from '../../core/errors.ts';
import { base64Body, certsOnly, csrAttributes, decodeBase64Body } from '../../pki/est.ts';
import { CSR_MAX_BYTES } from '../../pki/index.ts';
import type { AppContext } from '../context.ts';
import { errorResponses } from './schemas.ts';
import { clientCertificate } from './pki.ts';

const PKCS7 = 'application/pkcs7-mime; smime-type=certs-only';

function sendBase64(reply: FastifyReply, type: string, der: Uint8Array): FastifyReply {
  return reply.status(200).header('content-type', type).header('content-transfer-encoding', 'base64').send(base64Body(der));
}

function basicAuth(req: FastifyRequest): { user: string; password: string } | undefined {
  const h = req.headers.authorization;
  if (!h) return undefined;
  const m = /^Basic ([A-Za-z0-9+/]+={0,2})$/.exec(h);
  if (!m) throw new CityTrustError('PKI_EST_AUTH_REQUIRED', 'EST takes HTTP Basic authentication or a client certificate');
  const text = Buffer.from(m[1]!, 'base64').toString('utf8');
  const i = text.indexOf(':');
  if (i < 0) throw new CityTrustError('PKI_EST_AUTH_REQUIRED', 'the Basic credentials are malformed');
  return { user: text.slice(0, i), password: text.slice(i + 1) };
}

export function estRoutes(app: FastifyInstance, ctx: AppContext): void {
  const pki = ctx.pki;
  app.register(async (scope) => {
    scope.addContentTypeParser('application/pkcs10', { parseAs: 'buffer', bodyLimit: CSR_MAX_BYTES * 2 }, (_req, body, done) => done(null, body));

    scope.addHook('onRequest', async (req, reply) => {
      const socket = req.raw.socket as { encrypted?: boolean };
      if (!socket.encrypted && !ctx.config.pki.estAllowPlainHttp) throw new CityTrustError('PKI_EST_TLS_REQUIRED', 'EST is served over TLS only');
      void reply.header('cache-control', 'no-store');
    });

    scope.get('/.well-known/est/cacerts', { schema: { tags: ['est'], summary: 'EST cacerts (RFC 7030 §4.1): the root and issuing CAs as certs-only PKCS#7, base64.' }, config: { rateLimit: false } }, async (_req, reply) => {
      return sendBase64(reply, PKCS7, certsOnly(await pki.trustBundle()));
    });

    scope.get('/.well-known/est/csrattrs', { schema: { tags: ['est'], summary: 'EST csrattrs (RFC 7030 §4.5): the key and signature algorithm we want.' } }, async (_req, reply) => {
      return sendBase64(reply, 'application/csrattrs', csrAttributes());
    });

    const enrollSchema = { tags: ['est'], response: { ...errorResponses } };

    scope.post('/.well-known/est/simpleenroll', { schema: { ...enrollSchema, summary: 'EST simpleenroll (RFC 7030 §4.2.1): base64 PKCS#10 → certs-only PKCS#7. Basic auth with the bootstrap token, or a client certificate.' } }, async (req, reply) => {
      const csr = decodeBase64Body(req.body as Buffer);
      const cert = clientCertificate(req);
      const basic = basicAuth(req);
      let issued;
      if (basic) {
        issued = await pki.enroll(csr, basic.password, basic.user === '' ? undefined : basic.user);
      } else if (cert) {
        issued = await pki.renew(csr, await pki.authenticateClient(cert));
      } else {
        void reply.header('www-authenticate', 'Basic realm="citytrust EST"');
        throw new CityTrustError('PKI_EST_AUTH_REQUIRED', 'authenticate with HTTP Basic (device id, bootstrap token) or a client certificate');
      }
      return sendBase64(reply, PKCS7, certsOnly([issued.der]));
    });

    scope.post('/.well-known/est/simplereenroll', { schema: { ...enrollSchema, summary: 'EST simplereenroll (RFC 7030 §4.2.2): renewal with the current client certificate.' } }, async (req, reply) => {
      const csr = decodeBase64Body(req.body as Buffer);
      const issued = await pki.renew(csr, await pki.authenticateClient(clientCertificate(req)));
      return sendBase64(reply, PKCS7, certsOnly([issued.der]));
    });
  });
}
