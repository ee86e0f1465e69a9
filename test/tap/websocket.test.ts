/** The WebSocket transport (RFC 6455): node's WebSocket client as the reader, our minimal server as the wallet. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { ClientFrameParser, MAX_FRAME, serveWebSocket, TAP_WS_PROTOCOL, WebSocketReaderLink, websocketAccept, type TapResponder } from '../../src/tap/index.ts';
import { world } from './helpers.ts';

async function listen(server: Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as { port: number }).port;
}

/** Opens a raw connection and sends an upgrade request; resolves with the socket and the status line. */
async function rawUpgrade(port: number, headers: Record<string, string>): Promise<{ socket: Socket; status: string; rest: Buffer }> {
  const socket = connect({ port, host: '127.0.0.1' });
  await once(socket, 'connect');
  socket.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`);
  let buf = Buffer.alloc(0);
  for (;;) {
    const [chunk] = (await once(socket, 'data')) as [Buffer];
    buf = Buffer.concat([buf, chunk]);
    const end = buf.indexOf('\r\n\r\n');
    if (end >= 0) return { socket, status: buf.subarray(0, buf.indexOf('\r\n')).toString(), rest: buf.subarray(end + 4) };
  }
}

const UPGRADE = { Upgrade: 'websocket', Connection: 'Upgrade', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Protocol': TAP_WS_PROTOCOL };

/** A masked client frame (RFC 6455 §5.2), with a 7- or 16-bit length as the payload needs. */
function clientFrame(opcode: number, payload: Uint8Array, opts: { fin?: boolean; masked?: boolean } = {}): Buffer {
  const mask = Buffer.from([1, 2, 3, 4]);
  const masked = opts.masked ?? true;
  const len = payload.length < 126 ? Buffer.of(payload.length | (masked ? 0x80 : 0)) : Buffer.of(126 | (masked ? 0x80 : 0), payload.length >> 8, payload.length & 0xff);
  const body = Buffer.from(payload.map((b, i) => (masked ? b ^ (mask[i & 3] as number) : b)));
  return Buffer.concat([Buffer.of(((opts.fin ?? true) ? 0x80 : 0) | opcode), len, masked ? mask : Buffer.alloc(0), body]);
}

/** Reads until the server's close frame; returns its close code. */
async function closeCode(socket: Socket, already: Buffer): Promise<number> {
  let buf = already;
  while (buf.length < 4) buf = Buffer.concat([buf, ((await once(socket, 'data')) as [Buffer])[0]]);
  assert.equal(buf[0], 0x88, 'a close frame');
  return buf.readUInt16BE(2);
}

describe('WebSocket (RFC 6455)', () => {
  it('derives the accept key of RFC 6455 §1.3 from the sample nonce', () => {
    assert.equal(websocketAccept('dGhlIHNhbXBsZSBub25jZQ=='), 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  });

  it('carries a full tap from the reader to a wallet serving WebSocket, and a second tap on a new connection', async (t) => {
    const w = await world();
    const cred = await w.credential({ resources: ['door:hq/**'] });
    const server = serveWebSocket(() => w.wallet([cred]).responder);
    const port = await listen(server);
    t.after(() => server.close());
    for (let i = 0; i < 2; i++) {
      const link = await WebSocketReaderLink.connect(`ws://127.0.0.1:${port}/`);
      const out = await w.reader.tap(link);
      link.close();
      assert.equal(out.reason, 'GRANTED');
      assert.equal(out.answered, true, 'the decision crossed the WebSocket');
    }
  });

  it('answers plain HTTP with 426, an upgrade without the tap subprotocol or with a bad key with 400', async (t) => {
    const server = serveWebSocket(() => ({ handle: async (m) => m }));
    const port = await listen(server);
    t.after(() => server.close());
    const res = await fetch(`http://127.0.0.1:${port}/`);
    assert.equal(res.status, 426);
    const other = await rawUpgrade(port, { ...UPGRADE, 'Sec-WebSocket-Protocol': 'chat' });
    assert.match(other.status, / 400 /);
    other.socket.destroy();
    const badKey = await rawUpgrade(port, { ...UPGRADE, 'Sec-WebSocket-Key': 'c2hvcnQ=' });
    assert.match(badKey.status, / 400 /);
    badKey.socket.destroy();
    const good = await rawUpgrade(port, UPGRADE);
    assert.match(good.status, / 101 /);
    good.socket.destroy();
  });

  it('closes a connection on an oversized, text, unmasked or 64-bit-length frame, with its close code, and keeps serving', async (t) => {
    const w = await world();
    const cred = await w.credential({ resources: ['door:hq/**'] });
    const handled: Uint8Array[] = [];
    const server = serveWebSocket(() => {
      const r = w.wallet([cred]).responder;
      return { handle: (m) => (handled.push(m), r.handle(m)) } satisfies TapResponder;
    });
    const port = await listen(server);
    t.after(() => server.close());
    const faults: [string, Buffer, number][] = [
      ['oversized', clientFrame(0x2, new Uint8Array(MAX_FRAME + 1)), 1009],
      ['oversized in fragments', Buffer.concat([clientFrame(0x2, new Uint8Array(3000), { fin: false }), clientFrame(0x0, new Uint8Array(3000))]), 1009],
      ['text', clientFrame(0x1, new TextEncoder().encode('hello')), 1003],
      ['unmasked', clientFrame(0x2, Uint8Array.of(1, 2, 3), { masked: false }), 1002],
      ['64-bit length', Buffer.of(0x82, 0xff, 0, 0, 0, 0, 0, 0, 0x10, 0), 1009],
      ['continuation first', clientFrame(0x0, Uint8Array.of(1)), 1002],
    ];
    for (const [what, frame, code] of faults) {
      const { socket, rest } = await rawUpgrade(port, UPGRADE);
      socket.write(frame);
      assert.equal(await closeCode(socket, rest), code, what);
      socket.destroy();
    }
    assert.equal(handled.length, 0, 'no faulty frame reached the wallet');
    const link = await WebSocketReaderLink.connect(`ws://127.0.0.1:${port}/`);
    const out = await w.reader.tap(link);
    link.close();
    assert.equal(out.reason, 'GRANTED', 'the next tap is granted');
  });

  it('answers a ping with a pong carrying its data, and reassembles a message sent in fragments', async (t) => {
    const server = serveWebSocket(() => ({ handle: async (m) => m }));
    const port = await listen(server);
    t.after(() => server.close());
    const { socket, rest } = await rawUpgrade(port, UPGRADE);
    assert.equal(rest.length, 0);
    socket.write(clientFrame(0x9, Uint8Array.of(7, 7)));
    socket.write(Buffer.concat([clientFrame(0x2, Uint8Array.of(1, 2), { fin: false }), clientFrame(0x0, Uint8Array.of(3))]));
    let buf = Buffer.alloc(0);
    while (buf.length < 9) buf = Buffer.concat([buf, ((await once(socket, 'data')) as [Buffer])[0]]);
    assert.deepEqual([...buf.subarray(0, 4)], [0x8a, 2, 7, 7], 'pong');
    assert.deepEqual([...buf.subarray(4, 9)], [0x82, 3, 1, 2, 3], 'the echoed message, whole');
    socket.destroy();
  });

  it('ends a tap whose wallet drops the connection with TAP_TRANSPORT_CLOSED, and closing the server ends its connections', async (t) => {
    const w = await world();
    const server = serveWebSocket((req) => ({
      handle: () => {
        req.socket.destroy();
        return new Promise<Uint8Array>(() => undefined);
      },
    }));
    const port = await listen(server);
    t.after(() => server.close());
    const link = await WebSocketReaderLink.connect(`ws://127.0.0.1:${port}/`);
    const out = await w.reader.tap(link);
    assert.equal(out.reason, 'TAP_TRANSPORT_CLOSED');
    assert.equal(out.allow, false);
    const idle = serveWebSocket(() => ({ handle: async (m) => m }));
    const idlePort = await listen(idle);
    const { socket } = await rawUpgrade(idlePort, UPGRADE);
    idle.close();
    await once(socket, 'close');
  });

  it('refuses to connect to a WebSocket server that does not speak the tap subprotocol', async (t) => {
    const plain = createServer();
    plain.on('upgrade', (req: IncomingMessage, socket: Duplex) => {
      socket.end(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${websocketAccept(String(req.headers['sec-websocket-key']))}\r\n\r\n`);
    });
    const port = await listen(plain);
    t.after(() => plain.close());
    await assert.rejects(WebSocketReaderLink.connect(`ws://127.0.0.1:${port}/`), { code: 'TAP_TRANSPORT_CLOSED' });
    const parser = new ClientFrameParser();
    assert.deepEqual(parser.push(clientFrame(0x2, Uint8Array.of(9))), [{ kind: 'message', data: Uint8Array.of(9) }]);
  });
});
