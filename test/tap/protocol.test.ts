import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { memoryLink, AirLog, ReaderSession, WalletSession, decodeFrame, MSG } from '../../src/tap/index.ts';
import { DOOR, world } from './helpers.ts';

describe('a tap over the in-memory link', () => {
  it('grants a valid credential, records the event and tells the wallet inside the channel', async () => {
    const w = await world();
    const cred = await w.credential({ resources: ['door:hq/**'] });
    const { responder, outcomes } = w.wallet([cred]);
    const log = new AirLog();
    const out = await w.reader.tap(memoryLink(responder, { log }));
    assert.equal(out.reason, 'GRANTED');
    assert.equal(out.allow, true);
    assert.equal(out.answered, true);
    assert.equal(out.event.credentialId, Buffer.from(cred.claims.cti).toString('hex'));
    assert.equal(out.event.resource, DOOR);
    assert.equal(outcomes.length, 1);
    assert.equal(outcomes[0]!.state, 'done');
    assert.deepEqual(outcomes[0]!.result, { allow: true, reason: 'GRANTED' });
    assert.equal(outcomes[0]!.sessionId, out.event.session);
    assert.equal(outcomes[0]!.reader?.readerId, 'door-12');
    // Three request/answer pairs: M1→M2, M3→M4, M5→(empty).
    assert.deepEqual(log.frames.map((f) => f.direction), ['reader-to-wallet', 'wallet-to-reader', 'reader-to-wallet', 'wallet-to-reader', 'reader-to-wallet', 'wallet-to-reader']);
    assert.equal(log.frames[5]!.bytes, 0);
  });

  it('derives fresh keys per tap: two taps of the same pair share no transcript', async () => {
    const w = await world();
    const { responder, outcomes } = w.wallet([await w.credential({ resources: ['door:hq/**'] })]);
    const a = await w.reader.tap(memoryLink(responder));
    const b = await w.reader.tap(memoryLink(responder));
    assert.equal(a.reason, 'GRANTED');
    assert.equal(b.reason, 'GRANTED');
    assert.notEqual(a.event.session, b.event.session);
    assert.equal(outcomes.length, 2);
  });

  it('sends only plaintext hellos: the request, the certificate and the credential travel encrypted', async () => {
    const w = await world();
    const cred = await w.credential({ resources: ['door:hq/**'] });
    const { responder } = w.wallet([cred]);
    const seen: Uint8Array[] = [];
    await w.reader.tap(memoryLink(responder, { intercept: (m) => (seen.push(m), m) }));
    const all = Buffer.concat(seen.map((m) => Buffer.from(m)));
    assert.equal(all.includes(Buffer.from(DOOR)), false, 'the resource is not visible on the air');
    assert.equal(all.includes(Buffer.from(cred.bytes.subarray(20, 60))), false, 'the credential is not visible on the air');
    assert.equal(all.includes(Buffer.from(w.readerCert.der.subarray(40, 80))), false, 'the reader certificate is not visible on the air');
    assert.deepEqual(seen.map((m) => (m.length === 0 ? 'empty' : decodeFrame(m).type)), [MSG.readerHello, MSG.walletHello, MSG.readerAuth, MSG.walletReply, MSG.readerResult, 'empty']);
  });

  it('refuses to run a session step twice or out of order', async () => {
    const w = await world();
    const s = new ReaderSession({ identity: w.readerCert.material, request: w.reader.request() });
    s.hello();
    assert.throws(() => s.hello(), { code: 'TAP_STATE_INVALID' });
    assert.throws(() => s.finish({ allow: true, reason: 'GRANTED' }), { code: 'TAP_STATE_INVALID' });
    assert.equal(s.state, 'failed');
  });

  it('answers frames after the end of a wallet session with an error frame, not an exception', async () => {
    const w = await world();
    const ws = new WalletSession({ authenticator: { authenticate: () => Promise.reject(new Error('unused')) }, presenter: { present: () => Promise.reject(new Error('unused')) }, now: () => w.clock.now() });
    const answer = await ws.handle(Uint8Array.of(0x82, 0x05, 0x40));
    assert.equal(decodeFrame(answer).type, MSG.error);
    assert.equal(ws.state, 'failed');
    assert.equal(ws.outcome.code, 'TAP_UNEXPECTED_MESSAGE');
  });

  it('answers a ReaderHello of another protocol version with TAP_VERSION_UNSUPPORTED, before any key work', async () => {
    const w = await world();
    const { responder, outcomes } = w.wallet([await w.credential({ resources: ['door:hq/**'] })]);
    const out = await w.reader.tap(memoryLink(responder, { intercept: (m, dir) => (dir === 'reader-to-wallet' && m[1] === MSG.readerHello ? Uint8Array.from([...m.subarray(0, 2), 0x02, ...m.subarray(3)]) : m) }));
    assert.equal(out.reason, 'TAP_VERSION_UNSUPPORTED');
    assert.equal(out.by, 'wallet');
    assert.equal(outcomes[0]!.code, 'TAP_VERSION_UNSUPPORTED');
  });

  it('takes only TAP_* codes from a peer: anything else in an error frame reads as TAP_MESSAGE_MALFORMED', async () => {
    const w = await world();
    const out = await w.reader.tap(memoryLink({ handle: async () => Uint8Array.from([0x82, 0x00, 0x65, ...Buffer.from('HELLO')]) }));
    assert.equal(out.reason, 'TAP_MESSAGE_MALFORMED');
    assert.equal(out.by, 'wallet');
  });
});
