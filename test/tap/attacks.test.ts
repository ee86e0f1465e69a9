/**
 * The attacks of the Tap issue, each with its own test and reason code, and after each one a good
 * tap at the same reader is granted at once (the reader is ready for the next tap).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createSignature, encodeCbor, generateKeyPair, keyObjectSigner } from '../../src/crypto/index.ts';
import { memoryLink, ReplayCache, SessionCipher, deriveSessionKeys, Transcript, MSG, type TapResponder } from '../../src/tap/index.ts';
import { importEphemeral } from '../../src/tap/reader-session.ts';
import { decodeReaderHello, decodeWalletHello, encodeReaderHello, encodeWalletHello, decodeSealed, encodeSealed } from '../../src/tap/messages.ts';
import { exportRawPublicKey, generateEphemeralKeyPair } from '../../src/crypto/index.ts';
import { PinnedReaderAuthenticator } from '../../src/wallet/tap/index.ts';
import type { Reader } from '../../src/reader/index.ts';
import { createCredential } from '../../src/credentials/device.ts';
import { DOOR, makeCa, NOW_S, pinOf, presentingWallet, readerCert, STATUS, world, type World } from './helpers.ts';

/** After an attack: an honest wallet with a good credential is granted at once. */
async function readyForNext(w: World, reader: Reader = w.reader): Promise<void> {
  const good = w.wallet([await w.credential({ resources: ['door:hq/**'] })]);
  const out = await reader.tap(memoryLink(good.responder));
  assert.equal(out.reason, 'GRANTED', 'the next tap is granted');
}

/** Records every frame of a tap, for replays. */
function recorder(responder: TapResponder): { link: ReturnType<typeof memoryLink>; frames: Uint8Array[] } {
  const frames: Uint8Array[] = [];
  return { frames, link: memoryLink(responder, { intercept: (m) => (frames.push(m), m) }) };
}

describe('replay of a recorded session', () => {
  it('is refused by the reader as TAP_REPLAYED when the wallet hello was seen before', async () => {
    const w = await world();
    const rec = recorder(w.wallet([await w.credential({ resources: ['door:hq/**'] })]).responder);
    assert.equal((await w.reader.tap(rec.link)).reason, 'GRANTED');
    const [, m2, , m4] = rec.frames;
    // The attacker answers the reader's fresh hello with the recorded M2 and M4.
    let step = 0;
    const replayer: TapResponder = { handle: async () => (step++ === 0 ? m2! : m4!) };
    const out = await w.reader.tap(memoryLink(replayer));
    assert.equal(out.allow, false);
    assert.equal(out.reason, 'TAP_REPLAYED');
    assert.equal(out.by, 'reader');
    await readyForNext(w);
  });

  it('fails by construction even when the replay cache forgot: the recorded M4 does not authenticate', async () => {
    const w = await world();
    const rec = recorder(w.wallet([await w.credential({ resources: ['door:hq/**'] })]).responder);
    await w.reader.tap(rec.link);
    const forgetful = w.makeReader({}, w.readerCert.material);
    let step = 0;
    const out = await forgetful.tap(memoryLink({ handle: async () => (step++ === 0 ? rec.frames[1]! : rec.frames[3]!) }));
    assert.equal(out.reason, 'TAP_MESSAGE_AUTH_FAILED');
    await readyForNext(w, forgetful);
  });

  it('is refused by the wallet as TAP_REPLAYED when a recorded reader hello comes again', async () => {
    const w = await world();
    const { responder, outcomes } = w.wallet([await w.credential({ resources: ['door:hq/**'] })], { replayCache: new ReplayCache() });
    const rec = recorder(responder);
    await w.reader.tap(rec.link);
    const answer = await responder.handle(rec.frames[0]!);
    assert.equal(answer[1], MSG.error);
    assert.equal(outcomes.at(-1)!.code, 'TAP_REPLAYED');
    assert.equal((await w.reader.tap(memoryLink(responder))).reason, 'GRANTED', 'the same wallet and reader complete the next tap');
  });
});

describe('relay with a modified message', () => {
  it('a changed hello splits the transcripts: the wallet cannot open M3 (TAP_MESSAGE_AUTH_FAILED)', async () => {
    const w = await world();
    const { responder, outcomes } = w.wallet([await w.credential({ resources: ['door:hq/**'] })]);
    const out = await w.reader.tap(
      memoryLink(responder, {
        intercept: (m, dir) => {
          if (dir === 'reader-to-wallet' && m[1] === MSG.readerHello) m[m.length - 1]! ^= 0x01; // the reader nonce
          return m;
        },
      }),
    );
    assert.equal(out.reason, 'TAP_MESSAGE_AUTH_FAILED');
    assert.equal(out.by, 'wallet');
    assert.equal(outcomes[0]!.code, 'TAP_MESSAGE_AUTH_FAILED');
    assert.equal(outcomes[0]!.presented, undefined, 'nothing was presented');
    await readyForNext(w);
  });

  it('a changed presentation in flight is refused by the reader (TAP_MESSAGE_AUTH_FAILED)', async () => {
    const w = await world();
    const { responder } = w.wallet([await w.credential({ resources: ['door:hq/**'] })]);
    const out = await w.reader.tap(
      memoryLink(responder, {
        intercept: (m, dir) => {
          if (dir === 'wallet-to-reader' && m[1] === MSG.walletReply) m[40]! ^= 0x80;
          return m;
        },
      }),
    );
    assert.equal(out.reason, 'TAP_MESSAGE_AUTH_FAILED');
    assert.equal(out.by, 'reader');
    await readyForNext(w);
  });

  it('a man in the middle holding both session keys is caught by the transcript the reader signed (TAP_TRANSCRIPT_MISMATCH)', async () => {
    const w = await world();
    const { responder, outcomes } = w.wallet([await w.credential({ resources: ['door:hq/**'] })]);
    // The attacker runs one session with the reader and one with the wallet and re-encrypts M3/M4.
    const a1 = generateEphemeralKeyPair();
    const a2 = generateEphemeralKeyPair();
    const toWallet = new Transcript();
    const toReader = new Transcript();
    let wCipher: SessionCipher | undefined;
    let rCipher: SessionCipher | undefined;
    const mitm: TapResponder = {
      async handle(m) {
        if (m[1] === MSG.readerHello) {
          const h = decodeReaderHello(m);
          const m1 = encodeReaderHello({ version: 1, key: exportRawPublicKey(a1.publicKey), nonce: h.nonce });
          const m2 = await responder.handle(m1);
          const wh = decodeWalletHello(m2);
          const m2r = encodeWalletHello({ key: exportRawPublicKey(a2.publicKey), nonce: wh.nonce });
          toWallet.add(m1);
          toWallet.add(m2);
          toReader.add(m);
          toReader.add(m2r);
          wCipher = new SessionCipher(deriveSessionKeys(a1.privateKey, importEphemeral(wh.key), toWallet.current()), 'reader');
          rCipher = new SessionCipher(deriveSessionKeys(a2.privateKey, importEphemeral(h.key), toReader.current()), 'wallet');
          return m2r;
        }
        // M3: open with the reader-side keys, seal with the wallet-side keys.
        const body = rCipher!.open(decodeSealed(m, MSG.readerAuth), toReader.current());
        toReader.add(m);
        const m3 = encodeSealed(MSG.readerAuth, wCipher!.seal(body, toWallet.current()));
        toWallet.add(m3);
        const m4 = await responder.handle(m3);
        const reply = wCipher!.open(decodeSealed(m4, MSG.walletReply), toWallet.current());
        return encodeSealed(MSG.walletReply, rCipher!.seal(reply, toReader.current()));
      },
    };
    const out = await w.reader.tap(memoryLink(mitm));
    assert.equal(outcomes[0]!.code, 'TAP_TRANSCRIPT_MISMATCH', 'the wallet sees the reader signed another transcript');
    assert.equal(outcomes[0]!.presented, undefined, 'the wallet presented nothing');
    assert.equal(out.reason, 'TAP_TRANSCRIPT_MISMATCH');
    assert.equal(out.by, 'wallet');
    await readyForNext(w);
  });

  it('a reflected reader message never authenticates as the wallet\'s (TAP_REFLECTED, TAP_MESSAGE_AUTH_FAILED)', async () => {
    const w = await world();
    // M1 reflected as M2: our own key comes back.
    const reflectHello: TapResponder = { handle: async (m) => encodeWalletHello(((h) => ({ key: h.key, nonce: h.nonce }))(decodeReaderHello(m))) };
    const out = await w.reader.tap(memoryLink(reflectHello));
    assert.equal(out.reason, 'TAP_REFLECTED');
    // M3 reflected as M4: same session, other direction key and IV.
    const { responder } = w.wallet([await w.credential({ resources: ['door:hq/**'] })]);
    const reflectAuth: TapResponder = { handle: async (m) => (m[1] === MSG.readerAuth ? encodeSealed(MSG.walletReply, decodeSealed(m, MSG.readerAuth)) : responder.handle(m)) };
    const out2 = await w.reader.tap(memoryLink(reflectAuth));
    assert.equal(out2.reason, 'TAP_MESSAGE_AUTH_FAILED');
    await readyForNext(w);
  });
});

describe('a spoofed reader', () => {
  it('with a key the wallet does not trust learns nothing (TAP_READER_UNTRUSTED)', async () => {
    const w = await world();
    const otherCa = await makeCa('some other CA');
    const fake = await readerCert(otherCa, { tenant: 'acme', readerId: 'door-12', site: 'hq' });
    const { responder, outcomes } = w.wallet([await w.credential({ resources: ['door:hq/**'] })]);
    const out = await w.makeReader({}, fake.material).tap(memoryLink(responder));
    assert.equal(out.reason, 'TAP_READER_UNTRUSTED');
    assert.equal(out.by, 'wallet');
    assert.equal(outcomes[0]!.presented, undefined);
    await readyForNext(w);
  });

  it('with a genuine certificate but without its key is refused (TAP_READER_SIGNATURE_INVALID)', async () => {
    const w = await world();
    const thief = { chain: w.readerCert.material.chain, signer: keyObjectSigner('ES256', generateKeyPair('P-256').privateKey) };
    const { responder, outcomes } = w.wallet([await w.credential({ resources: ['door:hq/**'] })]);
    const out = await w.makeReader({}, thief).tap(memoryLink(responder));
    assert.equal(out.reason, 'TAP_READER_SIGNATURE_INVALID');
    assert.equal(outcomes[0]!.presented, undefined);
    await readyForNext(w);
  });

  it('certified for another site is refused before any credential is looked at (TAP_READER_SITE_MISMATCH)', async () => {
    const w = await world();
    const elsewhere = await readerCert(w.ca, { tenant: 'acme', readerId: 'door-99', site: 'warehouse' });
    const cred = await w.credential({ resources: ['door:hq/**'] });
    const { responder, outcomes } = w.wallet([cred], { authenticator: new PinnedReaderAuthenticator([pinOf(elsewhere, { tenant: 'acme', readerId: 'door-99', site: 'warehouse' })]) });
    // The reader claims to guard an hq door; its certificate binds it to the warehouse.
    const out = await w.makeReader({ readerId: 'door-99' }, elsewhere.material).tap(memoryLink(responder));
    assert.equal(out.reason, 'TAP_READER_SITE_MISMATCH');
    assert.equal(outcomes[0]!.presented, undefined);
    await readyForNext(w);
  });

  it('of another tenant sees the same answer as a holder without a credential (TAP_NO_MATCHING_CREDENTIAL)', async () => {
    const w = await world();
    const foreign = await readerCert(w.ca, { tenant: 'othercorp', readerId: 'door-12', site: 'hq' });
    const { responder, outcomes } = w.wallet([await w.credential({ resources: ['door:hq/**'] })], { authenticator: new PinnedReaderAuthenticator([pinOf(foreign, { tenant: 'othercorp', readerId: 'door-12', site: 'hq' })]) });
    const out = await w.makeReader({ tenant: 'othercorp', trustedTenants: ['acme'] }, foreign.material).tap(memoryLink(responder));
    assert.equal(out.reason, 'TAP_NO_MATCHING_CREDENTIAL');
    assert.equal(outcomes[0]!.presented, undefined);
    await readyForNext(w);
  });
});

describe('a cloned credential without the secure-element key', () => {
  it('is refused by the reader (HOLDER_PROOF_INVALID, CREDENTIAL_HOLDER_MISMATCH)', async () => {
    const w = await world();
    const genuine = await w.credential({ resources: ['door:hq/**'] });
    const clone = { ...genuine, sign: async () => new Uint8Array(64).fill(7) };
    const cloner = generateKeyPair('P-256');
    const clone2 = { ...genuine, sign: async (d: Uint8Array) => createSignature('ES256', cloner.privateKey, d, 'raw') };
    for (const c of [clone, clone2]) {
      const out = await w.reader.tap(memoryLink(w.wallet([c]).responder));
      assert.equal(out.reason, 'HOLDER_PROOF_INVALID');
      assert.equal(out.code, 'CREDENTIAL_HOLDER_MISMATCH');
      assert.equal(w.sink.state.usesOf(out.event.credentialId!), 0, 'no use was counted');
    }
    await readyForNext(w);
  });
});

describe('credentials the reader must refuse', () => {
  const cases: [string, (w: World) => Promise<Parameters<World['credential']>>, string, ((w: World) => Promise<void>)?][] = [
    ['expired', async () => [{ resources: ['door:hq/**'] }, { nbf: NOW_S - 7200, exp: NOW_S - 3600 }], 'EXPIRED'],
    ['not yet valid', async () => [{ resources: ['door:hq/**'] }, { nbf: NOW_S + 3600, exp: NOW_S + 7200 }], 'NOT_YET_VALID'],
    ['for another resource', async () => [{ resources: ['door:hq/floor2/*'] }], 'RESOURCE_NOT_GRANTED'],
    ['outside its schedule', async () => [{ resources: ['door:hq/**'], schedule: [[0b1000000, 540, 1020]], timeZone: 'Europe/Berlin' }], 'OUTSIDE_SCHEDULE'],
    ['without the attribute the reader needs', async () => [{ resources: ['door:hq/**'], attributes: ['visitor'] }], 'ATTRIBUTE_MISSING'],
  ];
  for (const [what, make, reason] of cases) {
    it(`${what}: ${reason}`, async () => {
      const w = await world({ requiredAttributes: ['staff'] });
      const cred = await w.credential(...(await make(w)));
      const out = await w.reader.tap(memoryLink(presentingWallet(w, cred)));
      assert.equal(out.allow, false);
      assert.equal(out.reason, reason);
      const ok = await w.reader.tap(memoryLink(w.wallet([await w.credential({ resources: ['door:hq/**'], attributes: ['staff'] })]).responder));
      assert.equal(ok.reason, 'GRANTED');
    });
  }

  it('revoked and suspended per the status list: REVOKED, SUSPENDED', async () => {
    const w = await world();
    const a = await w.credential({ resources: ['door:hq/**'] });
    const b = await w.credential({ resources: ['door:hq/**'] });
    w.statusList.set(a.claims.status!.idx, STATUS.INVALID);
    w.statusList.set(b.claims.status!.idx, STATUS.SUSPENDED);
    w.clock.advance(1000);
    await w.publishStatus();
    assert.equal((await w.reader.tap(memoryLink(w.wallet([a]).responder))).reason, 'REVOKED');
    assert.equal((await w.reader.tap(memoryLink(w.wallet([b]).responder))).reason, 'SUSPENDED');
    await readyForNext(w);
  });

  it('wrong zone and wrong class at a first-class gate: ZONE_NOT_GRANTED, CLASS_NOT_GRANTED', async () => {
    const w = await world({ resources: [], zone: 'C', class: 1, site: 'central' });
    const gate = await readerCert(w.ca, { tenant: 'acme', readerId: 'gate-1', site: 'central', profile: 'gate' });
    const reader = w.makeReader({ readerId: 'gate-1', resources: [], zone: 'C', class: 1, site: 'central' }, gate.material);
    const auth = new PinnedReaderAuthenticator([pinOf(gate, { tenant: 'acme', readerId: 'gate-1', site: 'central' })]);
    const zonesAB = await w.credential({ zones: ['A', 'B'], class: 1 });
    const second = await w.credential({ zones: ['A', 'B', 'C'], class: 2 });
    assert.equal((await reader.tap(memoryLink(presentingWallet(w, zonesAB, auth)))).reason, 'ZONE_NOT_GRANTED');
    assert.equal((await reader.tap(memoryLink(presentingWallet(w, second, auth)))).reason, 'CLASS_NOT_GRANTED');
    const first = await w.credential({ zones: ['A', 'B', 'C'], class: 1 });
    assert.equal((await reader.tap(memoryLink(w.wallet([first], { authenticator: auth }).responder))).reason, 'GRANTED');
  });

  it('use limit reached: USES_EXHAUSTED after the last counted use', async () => {
    const w = await world();
    const cred = await w.credential({ resources: ['door:hq/**'], uses: 2 });
    const { responder } = w.wallet([cred]);
    const first = await w.reader.tap(memoryLink(responder));
    assert.equal(first.usesLeft, 1);
    assert.equal((await w.reader.tap(memoryLink(responder))).usesLeft, 0);
    const third = await w.reader.tap(memoryLink(responder));
    assert.equal(third.reason, 'USES_EXHAUSTED');
    await readyForNext(w);
  });

  it('a status list older than the freshness limit: STATUS_STALE when fail-closed, granted and flagged when fail-open', async () => {
    const w = await world({ statusMaxAgeSeconds: 600 });
    const cred = await w.credential({ resources: ['door:hq/**'] });
    w.clock.advance(601_000);
    const closed = await w.reader.tap(memoryLink(w.wallet([cred]).responder));
    assert.equal(closed.reason, 'STATUS_STALE');
    assert.equal(closed.code, 'STATUS_LIST_STALE');
    const open = w.makeReader({ statusMaxAgeSeconds: 600, whenStale: 'fail-open' });
    const out = await open.tap(memoryLink(w.wallet([cred]).responder));
    assert.equal(out.reason, 'GRANTED');
    assert.equal(out.event.statusStale, true);
    await w.publishStatus();
    await readyForNext(w);
  });

  it('a status list that is stale still refuses what it revoked, even fail-open', async () => {
    const w = await world({ statusMaxAgeSeconds: 600, whenStale: 'fail-open' });
    const cred = await w.credential({ resources: ['door:hq/**'] });
    w.statusList.set(cred.claims.status!.idx, STATUS.INVALID);
    w.clock.advance(1000);
    await w.publishStatus();
    w.clock.advance(3600_000);
    assert.equal((await w.reader.tap(memoryLink(w.wallet([cred]).responder))).reason, 'REVOKED');
    await readyForNext(w);
  });

  it('a credential from an issuer the reader does not accept: ISSUER_NOT_TRUSTED', async () => {
    const w = await world({ trustedTenants: ['metro'] });
    const out = await w.reader.tap(memoryLink(presentingWallet(w, await w.credential({ resources: ['door:hq/**'] }))));
    assert.equal(out.reason, 'ISSUER_NOT_TRUSTED');
    // Ready at once: the same reader decides the next tap on its merits (here, the same refusal).
    const again = await w.reader.tap(memoryLink(presentingWallet(w, await w.credential({ resources: ['door:hq/**'] }))));
    assert.equal(again.reason, 'ISSUER_NOT_TRUSTED');
    assert.equal(again.answered, true);
  });

  it('a credential signed by a key outside the trust list: CREDENTIAL_INVALID (CREDENTIAL_ISSUER_UNTRUSTED)', async () => {
    const w = await world();
    const cred = await w.credential({ resources: ['door:hq/**'] });
    const forged = { ...cred, bytes: await createCredential({ claims: cred.claims, signer: keyObjectSigner('ES256', generateKeyPair('P-256').privateKey), kid: new Uint8Array(8) }) };
    const out = await w.reader.tap(memoryLink(presentingWallet(w, forged)));
    assert.equal(out.reason, 'CREDENTIAL_INVALID');
    assert.equal(out.code, 'CREDENTIAL_ISSUER_UNTRUSTED');
    await readyForNext(w);
  });

  it('a reader that needs user verification refuses a presentation without one: USER_VERIFICATION_REQUIRED', async () => {
    const w = await world({ userVerification: true, userVerificationMaxAgeSeconds: 30 });
    const cred = await w.credential({ resources: ['door:hq/**'] });
    const stale = { ...cred, userVerification: () => 300 };
    const none = { ...cred, userVerification: () => null };
    assert.equal((await w.reader.tap(memoryLink(w.wallet([stale]).responder))).reason, 'USER_VERIFICATION_REQUIRED');
    assert.equal((await w.reader.tap(memoryLink(w.wallet([none]).responder))).reason, 'USER_VERIFICATION_REQUIRED');
    assert.equal((await w.reader.tap(memoryLink(w.wallet([cred]).responder))).reason, 'GRANTED');
  });

  it('anti-passback: the same credential twice at the site within the window is refused (ANTI_PASSBACK)', async () => {
    const w = await world({ antiPassbackSeconds: 60 });
    const { responder } = w.wallet([await w.credential({ resources: ['door:hq/**'] })]);
    assert.equal((await w.reader.tap(memoryLink(responder))).reason, 'GRANTED');
    assert.equal((await w.reader.tap(memoryLink(responder))).reason, 'ANTI_PASSBACK');
    w.clock.advance(61_000);
    assert.equal((await w.reader.tap(memoryLink(responder))).reason, 'GRANTED');
  });
});

/** Frame faults at every step, detected by the side that receives the frame. */
describe('truncated, garbled, reordered and oversized frames', () => {
  type Fault = 'truncate' | 'garble' | 'reorder' | 'oversize';
  const mutate = (m: Uint8Array, fault: Fault): Uint8Array => {
    switch (fault) {
      case 'truncate':
        return m.subarray(0, m.length - 1);
      case 'garble': {
        const c = new Uint8Array(m);
        c[c.length - 1]! ^= 0x5a;
        return c;
      }
      case 'reorder':
        // A well-formed frame of another step: [5, 16 bytes] (or [2, …] where 5 is expected).
        return encodeCbor([m[1] === MSG.readerResult ? MSG.walletHello : MSG.readerResult, new Uint8Array(16)]);
      case 'oversize':
        return new Uint8Array(5000).fill(0x41);
    }
  };
  const expectations: [number, Fault, string, 'reader' | 'wallet'][] = [
    [MSG.readerHello, 'truncate', 'TAP_FRAME_TRUNCATED', 'wallet'],
    [MSG.readerHello, 'garble', 'TAP_MESSAGE_AUTH_FAILED', 'wallet'],
    [MSG.readerHello, 'reorder', 'TAP_UNEXPECTED_MESSAGE', 'wallet'],
    [MSG.readerHello, 'oversize', 'TAP_FRAME_TOO_LARGE', 'wallet'],
    [MSG.walletHello, 'truncate', 'TAP_FRAME_TRUNCATED', 'reader'],
    [MSG.walletHello, 'garble', 'TAP_MESSAGE_AUTH_FAILED', 'wallet'],
    [MSG.walletHello, 'reorder', 'TAP_UNEXPECTED_MESSAGE', 'reader'],
    [MSG.walletHello, 'oversize', 'TAP_FRAME_TOO_LARGE', 'reader'],
    [MSG.readerAuth, 'truncate', 'TAP_FRAME_TRUNCATED', 'wallet'],
    [MSG.readerAuth, 'garble', 'TAP_MESSAGE_AUTH_FAILED', 'wallet'],
    [MSG.readerAuth, 'reorder', 'TAP_UNEXPECTED_MESSAGE', 'wallet'],
    [MSG.readerAuth, 'oversize', 'TAP_FRAME_TOO_LARGE', 'wallet'],
    [MSG.walletReply, 'truncate', 'TAP_FRAME_TRUNCATED', 'reader'],
    [MSG.walletReply, 'garble', 'TAP_MESSAGE_AUTH_FAILED', 'reader'],
    [MSG.walletReply, 'reorder', 'TAP_UNEXPECTED_MESSAGE', 'reader'],
    [MSG.walletReply, 'oversize', 'TAP_FRAME_TOO_LARGE', 'reader'],
  ];
  const done = { truncate: 'truncated', garble: 'garbled', reorder: 'reordered', oversize: 'oversized' } as const;
  for (const [type, fault, code, by] of expectations) {
    it(`message ${type} ${done[fault]}: ${code}, detected by the ${by}, and the next tap is granted`, async () => {
      const w = await world();
      const { responder, outcomes } = w.wallet([await w.credential({ resources: ['door:hq/**'] })]);
      const out = await w.reader.tap(memoryLink(responder, { intercept: (m) => (m.length > 1 && m[1] === type ? mutate(m, fault) : m) }));
      assert.equal(out.allow, false);
      assert.equal(out.reason, code);
      assert.equal(out.by, by);
      if (by === 'wallet') assert.equal(outcomes.at(-1)!.code, code);
      assert.equal(outcomes.at(-1)?.presented === undefined || type === MSG.walletReply, true, 'nothing presented unless the fault hit the presentation itself');
      await readyForNext(w);
    });
  }

  for (const fault of ['truncate', 'garble', 'reorder', 'oversize'] as const) {
    it(`the decision message ${done[fault]}: the wallet refuses it, the reader's decision stands and is recorded`, async () => {
      const w = await world();
      const { responder, outcomes } = w.wallet([await w.credential({ resources: ['door:hq/**'] })]);
      const out = await w.reader.tap(memoryLink(responder, { intercept: (m) => (m.length > 1 && m[1] === MSG.readerResult ? mutate(m, fault) : m) }));
      assert.equal(out.reason, 'GRANTED');
      assert.equal(outcomes.at(-1)!.state, 'failed');
      assert.equal(outcomes.at(-1)!.code, { truncate: 'TAP_FRAME_TRUNCATED', garble: 'TAP_MESSAGE_AUTH_FAILED', reorder: 'TAP_UNEXPECTED_MESSAGE', oversize: 'TAP_FRAME_TOO_LARGE' }[fault]);
      await readyForNext(w);
    });
  }

  it('an ephemeral key off the curve is refused before any key agreement (TAP_KEY_INVALID)', async () => {
    const w = await world();
    const offCurve = new Uint8Array(65).fill(1);
    offCurve[0] = 0x04;
    const out = await w.reader.tap(memoryLink({ handle: async () => encodeWalletHello({ key: offCurve, nonce: new Uint8Array(16) }) }));
    assert.equal(out.reason, 'TAP_KEY_INVALID');
    await readyForNext(w);
  });

  it('a wallet that never answers ends the tap at the deadline (TAP_TIMEOUT)', async () => {
    const w = await world({ tapDeadlineMs: 30 });
    const out = await w.reader.tap(memoryLink({ handle: () => new Promise(() => undefined) }));
    assert.equal(out.reason, 'TAP_TIMEOUT');
    await readyForNext(w);
  });
});

describe('the resource in the request', () => {
  it('is what the honest wallet matches: it declines a reader asking for a door it holds nothing for', async () => {
    const w = await world();
    const { responder, outcomes } = w.wallet([await w.credential({ resources: ['door:hq/floor2/*'] })]);
    const out = await w.reader.tap(memoryLink(responder));
    assert.equal(out.reason, 'TAP_NO_MATCHING_CREDENTIAL');
    assert.equal(outcomes[0]!.request?.resource, DOOR);
  });
});
