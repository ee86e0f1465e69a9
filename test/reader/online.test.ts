/** The reader's online side against a scripted server: batching, failures, refresh answers, status push. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createStatusListToken, createTrustList, STATUS } from '../../src/credentials/device.ts';
import { coseVerifierKey, generateKeyPair, keyObjectSigner } from '../../src/crypto/index.ts';
import { EVENTS_TYP, EventQueue, openReaderMessage, ReaderOnline, validateReaderConfig, type ReaderEvent } from '../../src/reader/index.ts';
import { tempDir } from '../helpers/tmp.ts';
import { world } from '../tap/helpers.ts';

const grant = (at: number): Omit<ReaderEvent, 'seq'> => ({ at, site: 'hq', allow: true, reason: 'GRANTED', by: 'reader' });

describe('the reader online', () => {
  it('uploads the queue oldest first in signed batches and keeps what the server did not acknowledge', async (t) => {
    const w = await world();
    const tmp = tempDir();
    t.after(tmp.remove);
    const queue = EventQueue.open(tmp.dir);
    for (let i = 0; i < 5; i++) queue.append(grant(i));
    const key = coseVerifierKey('ES256', w.readerCert.key.publicKey);
    const batches: number[][] = [];
    let failAfter = 2;
    const fetchImpl = (async (_url: string, init: RequestInit) => {
      const sign1 = new Uint8Array(Buffer.from((JSON.parse(init.body as string) as { sign1: string }).sign1, 'base64'));
      const m = openReaderMessage(sign1, key, EVENTS_TYP);
      if (batches.length >= failAfter) return new Response(JSON.stringify({ code: 'UNAVAILABLE', message: 'down' }), { status: 503 });
      batches.push(m.events!.map((e) => e.seq));
      assert.equal(m.instance, queue.instance);
      return new Response(JSON.stringify({ accepted: m.events!.length, duplicates: 0, lastSeq: m.events!.at(-1)!.seq }), { status: 200 });
    }) as unknown as typeof fetch;
    const config = validateReaderConfig({ readerId: 'door-12', tenant: 'acme', site: 'hq', resources: ['door:hq/floor3/d12'], serverUrl: 'https://city.example' });
    const online = new ReaderOnline({ config, identity: w.readerCert.material, trust: w.trust, queue, clock: w.clock, fetch: fetchImpl });
    await assert.rejects(online.upload(2), (e: { code: string; details?: { status?: number } }) => e.code === 'READER_UPLOAD_FAILED' && e.details?.status === 503);
    assert.deepEqual(batches, [[1, 2], [3, 4]]);
    assert.deepEqual(queue.pending().map((e) => e.seq), [5], 'the unacknowledged event stays queued');
    failAfter = 10;
    assert.deepEqual(await online.upload(2), { uploaded: 1, batches: 1 });
    assert.equal(queue.size, 0);
  });

  it('refuses a refresh answer that is not {trustList, statusLists} or does not verify, and keeps its cache', async () => {
    const w = await world();
    const before = w.trust.summary();
    const config = validateReaderConfig({ readerId: 'door-12', tenant: 'acme', site: 'hq', resources: ['door:hq/floor3/d12'], serverUrl: 'https://city.example' });
    for (const body of [{ nope: 1 }, { trustList: Buffer.from('forged').toString('base64'), statusLists: [] }]) {
      const online = new ReaderOnline({ config, identity: w.readerCert.material, trust: w.trust, queue: { instance: '0011223344556677', pending: () => [], acknowledge: () => 0 }, clock: w.clock, fetch: (async () => new Response(JSON.stringify(body), { status: 200 })) as unknown as typeof fetch });
      await assert.rejects(online.refresh(), { code: 'READER_TRUST_CACHE_INVALID' });
    }
    assert.deepEqual(w.trust.summary(), before);
  });

  it('applies a status list the server pushes (server-sent events) to a list it holds, and ignores others', async () => {
    const w = await world();
    const cred = await w.credential({ resources: ['door:hq/**'] });
    w.statusList.set(cred.claims.status!.idx, STATUS.INVALID);
    const token = await createStatusListToken({ uri: w.statusUri, list: w.statusList, iat: Math.floor(w.clock.now() / 1000) + 5, exp: Math.floor(w.clock.now() / 1000) + 86400, ttl: 300 }, w.issuer.signer, w.issuer.kid);
    const listId = w.statusUri.slice(3);
    const fetched: string[] = [];
    const fetchImpl = (async (url: string) => {
      if (url.endsWith('/v1/status/events')) {
        const events = `: hello\n\nevent: status\ndata: {"list":"someoneelse1","version":3}\n\nevent: status\ndata: {"list":"${listId}","version":2}\n\n`;
        return new Response(new ReadableStream({ start: (c) => (c.enqueue(new TextEncoder().encode(events)), c.close()) }), { status: 200, headers: { 'content-type': 'text/event-stream' } });
      }
      fetched.push(url);
      return new Response(Buffer.from(token), { status: 200 });
    }) as unknown as typeof fetch;
    const config = validateReaderConfig({ readerId: 'door-12', tenant: 'acme', site: 'hq', resources: ['door:hq/floor3/d12'], serverUrl: 'https://city.example' });
    const online = new ReaderOnline({ config, identity: w.readerCert.material, trust: w.trust, queue: { instance: '0011223344556677', pending: () => [], acknowledge: () => 0 }, clock: w.clock, fetch: fetchImpl });
    const updates: unknown[] = [];
    await online.watch(new AbortController().signal, (u) => updates.push(u));
    assert.deepEqual(fetched, [`https://city.example/v1/status/${listId}`]);
    assert.equal(updates.length, 1);
    assert.equal(w.trust.statusList(w.statusUri)!.list.get(cred.claims.status!.idx), STATUS.INVALID);
  });
  it('on a pushed trust-list change refreshes through the signed request and keeps its cache when the answer is forged or unsigned; pushed bytes are never applied', async () => {
    const w = await world();
    const before = w.trust.summary();
    const beforeKids = w.trust.trust!.keys().map((k) => Buffer.from(k.kid).toString('hex'));
    const other = generateKeyPair('P-256');
    const forgedList = await createTrustList({ certificates: [], iat: Math.floor(w.clock.now() / 1000) + 10, exp: Math.floor(w.clock.now() / 1000) + 86400 }, keyObjectSigner('ES256', other.privateKey), new Uint8Array(8));
    const requests: string[] = [];
    const answers = [{ trustList: Buffer.from(forgedList).toString('base64'), statusLists: [] }, { trustList: Buffer.from('not signed at all').toString('base64'), statusLists: [] }];
    const fetchImpl = (async (url: string) => {
      if (url.endsWith('/v1/status/events')) {
        const events =
          `event: trust\ndata: {"trust":"00112233aabbccdd","trustList":"${Buffer.from(forgedList).toString('base64')}"}\n\n` +
          'event: trust\ndata: {"trust":"not a version"}\n\nevent: trust\ndata: null\n\nevent: trust\ndata: {broken\n\n' +
          'event: trust\ndata: {"trust":"8899aabbccddeeff"}\n\n';
        return new Response(new ReadableStream({ start: (c) => (c.enqueue(new TextEncoder().encode(events)), c.close()) }), { status: 200, headers: { 'content-type': 'text/event-stream' } });
      }
      requests.push(url);
      return new Response(JSON.stringify(answers.shift()), { status: 200 });
    }) as unknown as typeof fetch;
    const config = validateReaderConfig({ readerId: 'door-12', tenant: 'acme', site: 'hq', resources: ['door:hq/floor3/d12'], serverUrl: 'https://city.example' });
    const online = new ReaderOnline({ config, identity: w.readerCert.material, trust: w.trust, queue: { instance: '0011223344556677', pending: () => [], acknowledge: () => 0 }, clock: w.clock, fetch: fetchImpl });
    const updates: unknown[] = [];
    await online.watch(new AbortController().signal, (u) => updates.push(u));
    // Two well-formed announcements, two signed refreshes; the malformed ones fetch nothing.
    assert.deepEqual(requests, ['https://city.example/v1/readers/door-12/trust', 'https://city.example/v1/readers/door-12/trust']);
    assert.deepEqual(
      updates.map((u) => (u as { code?: string }).code),
      ['READER_TRUST_CACHE_INVALID', 'READER_TRUST_CACHE_INVALID'],
    );
    assert.deepEqual(w.trust.summary(), before);
    assert.deepEqual(
      w.trust.trust!.keys().map((k) => Buffer.from(k.kid).toString('hex')),
      beforeKids,
    );
  });

  it('run(): a reader that was offline uploads everything it decided meanwhile at its first round back, backing off while the server is unreachable', async (t) => {
    const w = await world();
    const tmp = tempDir();
    t.after(tmp.remove);
    const queue = EventQueue.open(tmp.dir);
    for (let i = 0; i < 7; i++) queue.append(grant(i));
    const key = coseVerifierKey('ES256', w.readerCert.key.publicKey);
    const trustList = await createTrustList({ certificates: [w.issuer.certificate], iat: Math.floor(w.clock.now() / 1000), exp: Math.floor(w.clock.now() / 1000) + 86400 }, w.root.signer, w.root.kid);
    let reachable = false;
    const uploaded: number[] = [];
    const paths: string[] = [];
    const fetchImpl = (async (url: string, init: RequestInit) => {
      if (!reachable) throw new TypeError('fetch failed');
      const path = new URL(url).pathname;
      paths.push(path);
      if (path.endsWith('/trust')) return new Response(JSON.stringify({ trustList: Buffer.from(trustList).toString('base64'), statusLists: [] }), { status: 200 });
      const m = openReaderMessage(new Uint8Array(Buffer.from((JSON.parse(init.body as string) as { sign1: string }).sign1, 'base64')), key, EVENTS_TYP);
      uploaded.push(...m.events!.map((e) => e.seq));
      return new Response(JSON.stringify({ accepted: m.events!.length, duplicates: 0, lastSeq: m.events!.at(-1)!.seq }), { status: 200 });
    }) as unknown as typeof fetch;
    const config = validateReaderConfig({ readerId: 'door-12', tenant: 'acme', site: 'hq', resources: ['door:hq/floor3/d12'], serverUrl: 'https://city.example' });
    const online = new ReaderOnline({ config, identity: w.readerCert.material, trust: w.trust, queue, clock: w.clock, fetch: fetchImpl });
    const stop = new AbortController();
    const pauses: number[] = [];
    const errors: string[] = [];
    await online.run(stop.signal, {
      watch: false,
      uploadEveryMs: 1000,
      maxBackoffMs: 5000,
      onError: (e) => errors.push(e.code),
      sleep: async (ms) => {
        pauses.push(ms);
        // Offline for four rounds; the server comes back; stop once the queue is empty.
        if (pauses.length === 4) reachable = true;
        if (reachable && queue.size === 0) stop.abort();
        await new Promise((r) => setImmediate(r));
      },
    });
    assert.deepEqual(pauses, [2000, 4000, 5000, 5000, 1000], 'backs off while offline, back to the normal pace after a round that worked');
    assert.deepEqual(errors, ['READER_UPLOAD_FAILED', 'READER_UPLOAD_FAILED', 'READER_UPLOAD_FAILED', 'READER_UPLOAD_FAILED']);
    assert.deepEqual(uploaded, [1, 2, 3, 4, 5, 6, 7], 'every event, oldest first');
    assert.equal(queue.size, 0);
    assert.equal(paths[0], '/v1/readers/door-12/trust', 'the trust cache is refreshed first');
  });
});
