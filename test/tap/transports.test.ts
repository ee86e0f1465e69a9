/** Transports: ISO 7816-4 APDUs, BLE-like framing with an MTU, TCP (also across two processes), and the link model. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { once } from 'node:events';
import { connect } from 'node:net';
import { exportSpkiPublicKey } from '../../src/crypto/index.ts';
import { toBase64 } from '../../src/core/bytes.ts';
import {
  AirLog,
  airTime,
  ApduCard,
  ApduReaderLink,
  BLE_2M,
  BleReaderLink,
  decodeCommand,
  encodeCommand,
  fragment,
  MAX_FRAME,
  NFC_424K,
  packetPipePair,
  Reassembler,
  serveBle,
  serveTcp,
  TAP_AID,
  TcpReaderLink,
  type TapResponder,
} from '../../src/tap/index.ts';
import { world } from './helpers.ts';

const echo: TapResponder = { handle: async (m) => m };
const sw = (r: Uint8Array): string => Buffer.from(r.subarray(r.length - 2)).toString('hex').toUpperCase();

describe('ISO 7816-4 APDUs (NFC)', () => {
  it('encodes and parses the four short cases, and refuses extended lengths and a wrong Lc', () => {
    const data = Uint8Array.of(1, 2, 3);
    for (const c of [
      { cla: 0, ins: 0xc3, p1: 0, p2: 0, data: new Uint8Array(0), le: undefined },
      { cla: 0, ins: 0xc3, p1: 0, p2: 0, data: new Uint8Array(0), le: 256 },
      { cla: 0x10, ins: 0xc3, p1: 0, p2: 0, data, le: undefined },
      { cla: 0, ins: 0xc3, p1: 0, p2: 0, data, le: 17 },
    ]) assert.deepEqual(decodeCommand(encodeCommand(c)), c);
    assert.throws(() => decodeCommand(Uint8Array.of(0, 0xc3, 0, 0, 0, 0, 3, 1, 2, 3)), { code: 'TAP_APDU_MALFORMED' });
    assert.throws(() => decodeCommand(Uint8Array.of(0, 0xc3, 0, 0, 5, 1)), { code: 'TAP_APDU_MALFORMED' });
    assert.throws(() => encodeCommand({ cla: 0, ins: 0xc3, p1: 0, p2: 0, data: new Uint8Array(256), le: undefined }), { code: 'TAP_APDU_MALFORMED' });
  });

  it('chains a long command in 255-byte blocks and fetches a long answer with GET RESPONSE', async () => {
    const log = new AirLog();
    const card = new ApduCard(echo);
    const seen: Uint8Array[] = [];
    const link = await ApduReaderLink.open(async (c) => (seen.push(c), card.process(c)), { log });
    const msg = Uint8Array.from({ length: 700 }, (_, i) => i & 0xff);
    assert.deepEqual(await link.exchange(msg), msg);
    const cmds = seen.map(decodeCommand);
    assert.deepEqual(cmds.map((c) => [c.ins.toString(16), c.cla, c.data.length]), [['a4', 0, 7], ['c3', 0x10, 255], ['c3', 0x10, 255], ['c3', 0, 190], ['c0', 0, 0], ['c0', 0, 0]]);
    assert.equal(cmds[4]!.le, 256);
    assert.equal(cmds[5]!.le, 700 - 512);
    assert.ok(log.frames.every((f) => f.bytes <= 261), 'short APDUs only');
  });

  it('answers each fault with its status word and stays ready for the next command', async () => {
    const card = new ApduCard(echo);
    const p = (b: number[]) => card.process(Uint8Array.from(b));
    assert.equal(sw(await p([0x00, 0xc3, 0, 0, 1, 0xaa, 0])), '6985', 'ENVELOPE before SELECT');
    assert.equal(sw(await p([0x00, 0xa4, 0x04, 0x0c, 3, 1, 2, 3])), '6A82', 'unknown AID');
    assert.equal(sw(await p([0x00, 0xa4, 0x04, 0x0c, TAP_AID.length, ...TAP_AID])), '9000');
    assert.equal(sw(await p([0x80, 0xc3, 0, 0, 1, 0xaa, 0])), '6E00', 'class not supported');
    assert.equal(sw(await p([0x00, 0xb0, 0, 0, 0])), '6D00', 'instruction not supported');
    assert.equal(sw(await p([0x00, 0xc0, 0, 0, 0])), '6985', 'GET RESPONSE with nothing pending');
    assert.equal(sw(await p([0x00, 0xc3, 0, 0, 0, 0, 1, 0xaa])), '6700', 'extended length');
    assert.equal(sw(await p([0x00, 0xc3, 1, 0, 1, 0xaa, 0])), '6A86', 'wrong P1');
    assert.equal(sw(await p([0x10, 0xc3, 0, 0, 1, 0xaa])), '9000', 'first block of a chain');
    assert.equal(sw(await p([0x00, 0xc0, 0, 0, 0])), '6883', 'the chain must end before anything else');
    for (let i = 0; i < Math.floor(MAX_FRAME / 255); i++) assert.equal(sw(await p([0x10, 0xc3, 0, 0, 255, ...new Uint8Array(255)])), '9000');
    assert.equal(sw(await p([0x10, 0xc3, 0, 0, 255, ...new Uint8Array(255)])), '6A84', 'a chain longer than any tap message');
    const ok = await p([0x00, 0xc3, 0, 0, 2, 7, 8, 0]);
    assert.deepEqual([...ok], [7, 8, 0x90, 0x00], 'ready again after every fault');
  });

  it('reports a card that does not know the applet as TAP_APDU_STATUS 6A82', async () => {
    const card = new ApduCard(echo, { aid: Uint8Array.of(1, 2, 3, 4, 5) });
    await assert.rejects(ApduReaderLink.open((c) => card.process(c)), (e: { code: string; details?: { sw?: string } }) => e.code === 'TAP_APDU_STATUS' && e.details?.sw === '6A82');
  });

  it('carries a full tap; the answer to the decision is a bare 9000', async () => {
    const w = await world();
    const card = new ApduCard(w.wallet([await w.credential({ resources: ['door:hq/**'] })]).responder);
    const log = new AirLog();
    const out = await w.reader.tap(await ApduReaderLink.open((c) => card.process(c), { log }));
    assert.equal(out.reason, 'GRANTED');
    assert.equal(log.frames.at(-1)!.bytes, 2);
  });
});

describe('BLE-like framing with an MTU', () => {
  it('fragments and reassembles every size up to the largest message, for MTUs of 244 and 23', () => {
    for (const mtu of [244, 23]) {
      for (const n of [0, 1, mtu - 2, mtu - 1, mtu, 2 * (mtu - 1), 1000, MAX_FRAME]) {
        const msg = Uint8Array.from({ length: n }, (_, i) => (i * 7) & 0xff);
        const packets = fragment(msg, mtu);
        assert.ok(packets.every((p) => p.length <= mtu && p.length >= 1));
        assert.equal(packets.length, Math.max(1, Math.ceil(n / (mtu - 1))));
        const r = new Reassembler();
        let out: Uint8Array | undefined;
        for (const p of packets) out = r.push(p);
        assert.deepEqual(out, msg);
      }
    }
  });

  it('refuses a bad header byte and a message longer than any tap message', () => {
    const r = new Reassembler();
    assert.throws(() => r.push(Uint8Array.of(0x02, 1)), { code: 'TAP_MESSAGE_MALFORMED' });
    assert.throws(() => {
      for (let i = 0; i < 100; i++) r.push(new Uint8Array(244).fill(0x01));
    }, { code: 'TAP_FRAME_TOO_LARGE' });
    assert.equal(r.pending, false, 'the assembler starts clean after a fault');
  });

  it('carries a full tap in packets of at most 244 bytes', async () => {
    const w = await world();
    const log = new AirLog();
    const [readerEnd, walletEnd] = packetPipePair(244, log);
    serveBle(walletEnd, w.wallet([await w.credential({ resources: ['door:hq/**'] })]).responder);
    const out = await w.reader.tap(new BleReaderLink(readerEnd));
    assert.equal(out.reason, 'GRANTED');
    assert.ok(log.frames.every((f) => f.bytes <= 244));
    assert.ok(log.frames.length > 6, 'the certificate chain took several packets');
  });

  it('ends a tap whose link drops inside a message with TAP_FRAME_TRUNCATED', async () => {
    const w = await world();
    const [readerEnd, walletEnd] = packetPipePair(244);
    walletEnd.onPacket(() => {
      walletEnd.send(Uint8Array.of(0x01, 1, 2, 3));
      walletEnd.close();
    });
    const out = await w.reader.tap(new BleReaderLink(readerEnd));
    assert.equal(out.reason, 'TAP_FRAME_TRUNCATED');
  });
});

describe('TCP', () => {
  it('carries a full tap and closes a connection that announces an oversized frame', async (t) => {
    const w = await world();
    const server = serveTcp(() => w.wallet([]).responder);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    t.after(() => server.close());
    const port = (server.address() as { port: number }).port;
    const link = await TcpReaderLink.connect(port);
    const out = await w.reader.tap(link);
    link.close();
    assert.equal(out.reason, 'TAP_NO_MATCHING_CREDENTIAL', 'the whole exchange crossed the socket');
    const s = connect({ port, host: '127.0.0.1' });
    await once(s, 'connect');
    s.write(Uint8Array.of(0xff, 0xff, 0));
    await once(s, 'close');
  });

  it('runs the reader here and the wallet in another process', async (t) => {
    const w = await world();
    const cred = await w.credential({ resources: ['door:hq/**'] });
    const child = spawn(process.execPath, [fileURLToPath(new URL('./fixtures/wallet-process.ts', import.meta.url))], { stdio: ['pipe', 'pipe', 'pipe'] });
    t.after(() => child.kill());
    child.stdin.write(
      `${JSON.stringify({
        now: w.clock.now(),
        credential: toBase64(cred.bytes),
        holderPkcs8: w.holder.privateKey.export({ type: 'pkcs8', format: 'der' }).toString('base64'),
        readerSpki: toBase64(exportSpkiPublicKey(w.readerCert.key.publicKey)),
        rootSpki: toBase64(exportSpkiPublicKey(w.root.verifier.key)),
        issuerCertificate: toBase64(w.issuer.certificate),
      })}\n`,
    );
    let outText = '';
    let errText = '';
    child.stderr.on('data', (d: Buffer) => (errText += d.toString()));
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        outText += d.toString();
        const line = outText.split('\n').find((l) => l.startsWith('{'));
        if (line) resolve((JSON.parse(line) as { port: number }).port);
      });
      child.on('exit', (code) => reject(new Error(`wallet process exited ${code}: ${errText}`)));
    });
    const link = await TcpReaderLink.connect(port);
    const out = await w.reader.tap(link);
    link.close();
    assert.equal(out.reason, 'GRANTED');
    child.stdin.end();
    await once(child, 'exit');
    const outcome = JSON.parse(errText.trim().split('\n').at(-1)!) as { state: string; result: { allow: boolean } };
    assert.equal(outcome.state, 'done');
    assert.equal(outcome.result.allow, true, 'the wallet process heard the decision');
  });
});

describe('the link model', () => {
  it('estimates a tap over NFC at 424 kbit/s and over BLE 2M from the frames actually sent', async () => {
    const w = await world();
    const card = new ApduCard(w.wallet([await w.credential({ resources: ['door:hq/**'] })]).responder);
    const log = new AirLog();
    await w.reader.tap(await ApduReaderLink.open((c) => card.process(c), { log }));
    const nfc = airTime(log.frames, NFC_424K);
    assert.equal(nfc.bytes, log.totalBytes);
    assert.ok(nfc.blocks > log.frames.length - 1, 'long APDUs take more than one ISO 14443-4 block');
    // Bytes alone at 424 kbit/s and 10 bits per byte are a strict lower bound of the estimate.
    assert.ok(nfc.ms > (log.totalBytes * 10) / 424 + 5);
    assert.ok(nfc.ms < 150, `on-air time ${nfc.ms.toFixed(1)} ms stays inside the tap budget`);
    const ble = airTime([{ direction: 'reader-to-wallet', bytes: 244 }, { direction: 'wallet-to-reader', bytes: 100 }], BLE_2M);
    assert.ok(ble.ms > BLE_2M.directionChange * 1000, 'a change of direction waits for a connection event');
  });
});
