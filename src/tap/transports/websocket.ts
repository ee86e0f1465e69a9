/**
 * WebSocket transport (RFC 6455): a reader and a wallet in separate processes where only HTTP gets
 * through (a browser wallet, a gate controller behind a web proxy). One tap message per binary
 * WebSocket message; WebSocket's own framing replaces the 2-byte length of the TCP transport.
 *
 * As with TCP, the wallet serves and the reader connects. The reader side is node's global
 * WebSocket client. The serving side is the minimal RFC 6455 server a tap needs, on node:http with
 * no library: the opening handshake (§4.2), masked client frames (§5.3), binary and continuation
 * frames up to MAX_FRAME in all, ping/pong and close; text frames, unmasked frames, reserved bits
 * and anything larger end the connection with a close code (§7.4.1) before a byte more is buffered.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { concatBytes } from '../../core/bytes.ts';
import { MAX_FRAME } from '../constants.ts';
import { tapError } from '../errors.ts';
import type { TapLink, TapResponder } from '../link.ts';

/** RFC 6455 §1.3: the GUID the accept key is derived with. */
const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
/** The subprotocol both sides name, so a tap never talks to some other WebSocket service. */
export const TAP_WS_PROTOCOL = 'citytrust-tap.v1';

const OP = { continuation: 0x0, text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa } as const;
/** RFC 6455 §7.4.1 close codes. */
const CLOSE = { normal: 1000, protocolError: 1002, unsupportedData: 1003, tooBig: 1009 } as const;

/** RFC 6455 §4.2.2: Sec-WebSocket-Accept for a client's Sec-WebSocket-Key. */
export function websocketAccept(key: string): string {
  return createHash('sha1').update(key + WS_GUID).digest('base64');
}

/** A server frame: FIN, opcode, no mask, payload of at most 65535 bytes (§5.2). */
export function encodeServerFrame(opcode: number, payload: Uint8Array): Uint8Array {
  if (payload.length > 0xffff) throw tapError('TAP_FRAME_TOO_LARGE', 'a tap WebSocket frame is at most 65535 bytes');
  const head = payload.length < 126 ? Uint8Array.of(0x80 | opcode, payload.length) : Uint8Array.of(0x80 | opcode, 126, payload.length >> 8, payload.length & 0xff);
  return concatBytes(head, payload);
}

type Parsed = { kind: 'message'; data: Uint8Array } | { kind: 'ping'; data: Uint8Array } | { kind: 'close' };

/** Parses client frames (§5.2) into whole messages; throws a close code for any fault. */
export class ClientFrameParser {
  #buf: Uint8Array = new Uint8Array(0);
  #fragments: Uint8Array[] = [];
  #fragmentBytes = 0;

  /** Feeds bytes; returns what they completed. Throws `{ close }` for a fault. */
  push(chunk: Uint8Array): Parsed[] {
    this.#buf = this.#buf.length === 0 ? new Uint8Array(chunk) : concatBytes(this.#buf, chunk);
    const out: Parsed[] = [];
    for (;;) {
      const b = this.#buf;
      if (b.length < 2) break;
      const b0 = b[0] as number;
      const b1 = b[1] as number;
      const fin = (b0 & 0x80) !== 0;
      const opcode = b0 & 0x0f;
      if ((b0 & 0x70) !== 0) throw new WsFault(CLOSE.protocolError, 'reserved bits set');
      // §5.1: a server closes the connection on an unmasked client frame.
      if ((b1 & 0x80) === 0) throw new WsFault(CLOSE.protocolError, 'client frames are masked');
      let len = b1 & 0x7f;
      let pos = 2;
      if (len === 126) {
        if (b.length < 4) break;
        len = ((b[2] as number) << 8) | (b[3] as number);
        pos = 4;
      } else if (len === 127) {
        // No tap message comes near 64 KiB: a 64-bit length is refused unread.
        throw new WsFault(CLOSE.tooBig, `a tap message is at most ${MAX_FRAME} bytes`);
      }
      const control = (opcode & 0x8) !== 0;
      if (control && (!fin || len > 125)) throw new WsFault(CLOSE.protocolError, 'control frames are whole and at most 125 bytes');
      if (!control && this.#fragmentBytes + len > MAX_FRAME) throw new WsFault(CLOSE.tooBig, `a tap message is at most ${MAX_FRAME} bytes`);
      if (b.length < pos + 4 + len) break;
      const mask = b.subarray(pos, pos + 4);
      const data = b.slice(pos + 4, pos + 4 + len);
      for (let i = 0; i < data.length; i++) data[i] = (data[i] as number) ^ (mask[i & 3] as number);
      this.#buf = b.subarray(pos + 4 + len);
      if (opcode === OP.close) {
        out.push({ kind: 'close' });
        return out;
      }
      if (opcode === OP.ping) out.push({ kind: 'ping', data });
      else if (opcode === OP.pong) continue;
      else if (opcode === OP.text) throw new WsFault(CLOSE.unsupportedData, 'tap messages are binary');
      else if (opcode === OP.binary || opcode === OP.continuation) {
        if ((opcode === OP.binary) === (this.#fragments.length > 0)) throw new WsFault(CLOSE.protocolError, 'a continuation frame must follow an unfinished message, and only then');
        this.#fragments.push(data);
        this.#fragmentBytes += data.length;
        if (fin) {
          out.push({ kind: 'message', data: this.#fragments.length === 1 ? (this.#fragments[0] as Uint8Array) : concatBytes(...this.#fragments) });
          this.#fragments = [];
          this.#fragmentBytes = 0;
        }
      } else throw new WsFault(CLOSE.protocolError, `unknown opcode ${opcode}`);
    }
    return out;
  }
}

class WsFault extends Error {
  readonly close: number;
  constructor(close: number, message: string) {
    super(message);
    this.close = close;
  }
}

function refuse(socket: Duplex, status: string): void {
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

/**
 * Serves wallets over WebSocket on a new HTTP server: one responder per connection, messages
 * answered in order. Anything that is not a version-13 upgrade naming TAP_WS_PROTOCOL is refused
 * with an HTTP error; a framing fault closes that connection only.
 */
export function serveWebSocket(responderFor: (req: IncomingMessage) => TapResponder, onError?: (e: unknown) => void): Server {
  const server = createServer((_req, res) => {
    res.writeHead(426, { upgrade: 'websocket', connection: 'close', 'content-length': 0 }).end();
  });
  // The HTTP server neither idles nor ends upgraded connections, and would wait for them forever on
  // close(): they are tracked here, and close() ends them first.
  const open = new Set<Duplex>();
  const close = server.close.bind(server);
  server.close = ((cb?: (err?: Error) => void) => {
    for (const s of open) s.destroy();
    return close(cb);
  }) as Server['close'];
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => undefined);
    open.add(socket);
    socket.on('close', () => open.delete(socket));
    const key = req.headers['sec-websocket-key'];
    const protocols = String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
    if (req.method !== 'GET' || String(req.headers.upgrade).toLowerCase() !== 'websocket' || typeof key !== 'string' || Buffer.from(key, 'base64').length !== 16) {
      refuse(socket, '400 Bad Request');
      return;
    }
    if (req.headers['sec-websocket-version'] !== '13') {
      socket.end('HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    if (!protocols.includes(TAP_WS_PROTOCOL)) {
      refuse(socket, '400 Bad Request');
      return;
    }
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${websocketAccept(key)}\r\nSec-WebSocket-Protocol: ${TAP_WS_PROTOCOL}\r\n\r\n`,
    );
    const responder = responderFor(req);
    const parser = new ClientFrameParser();
    let chain: Promise<void> = Promise.resolve();
    let closed = false;
    const close = (code: number): void => {
      if (closed) return;
      closed = true;
      socket.end(encodeServerFrame(OP.close, Uint8Array.of(code >> 8, code & 0xff)));
    };
    const onData = (chunk: Uint8Array): void => {
      if (closed) return;
      let parsed: Parsed[];
      try {
        parsed = parser.push(chunk);
      } catch (e) {
        onError?.(tapError(e instanceof WsFault && e.close === CLOSE.tooBig ? 'TAP_FRAME_TOO_LARGE' : 'TAP_MESSAGE_MALFORMED', e instanceof Error ? e.message : 'bad WebSocket frame'));
        close(e instanceof WsFault ? e.close : CLOSE.protocolError);
        return;
      }
      for (const p of parsed) {
        if (p.kind === 'close') {
          chain = chain.then(() => close(CLOSE.normal));
          return;
        }
        if (p.kind === 'ping') {
          socket.write(encodeServerFrame(OP.pong, p.data));
          continue;
        }
        chain = chain
          .then(async () => {
            const answer = await responder.handle(p.data);
            if (!closed) socket.write(encodeServerFrame(OP.binary, answer));
          })
          .catch((e: unknown) => {
            onError?.(e);
            close(CLOSE.protocolError);
          });
      }
    };
    socket.on('data', onData);
    if (head.length > 0) onData(head);
  });
  return server;
}

/** The reader's link over one WebSocket (node's global WebSocket client). */
export class WebSocketReaderLink implements TapLink {
  readonly #ws: WebSocket;
  readonly #queue: Uint8Array[] = [];
  #waiting: { resolve: (m: Uint8Array) => void; reject: (e: unknown) => void } | undefined;
  #error: unknown;

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.addEventListener('message', (ev: MessageEvent) => {
      if (!(ev.data instanceof ArrayBuffer)) return this.#fail(tapError('TAP_MESSAGE_MALFORMED', 'tap messages are binary'), true);
      if (ev.data.byteLength > MAX_FRAME) return this.#fail(tapError('TAP_FRAME_TOO_LARGE', `a tap message is at most ${MAX_FRAME} bytes`), true);
      const m = new Uint8Array(ev.data);
      const w = this.#waiting;
      this.#waiting = undefined;
      if (w) w.resolve(m);
      else this.#queue.push(m);
    });
    ws.addEventListener('close', () => this.#fail(tapError('TAP_TRANSPORT_CLOSED', 'the WebSocket closed'), false));
    ws.addEventListener('error', () => this.#fail(tapError('TAP_TRANSPORT_CLOSED', 'the WebSocket failed'), false));
  }

  /** Connects to `url` (ws:// or wss://) asking for TAP_WS_PROTOCOL. */
  static connect(url: string): Promise<WebSocketReaderLink> {
    return new Promise((resolve, reject) => {
      let ws: WebSocket;
      try {
        ws = new WebSocket(url, TAP_WS_PROTOCOL);
      } catch (e) {
        reject(tapError('TAP_TRANSPORT_CLOSED', `cannot open a WebSocket to ${url}`, e));
        return;
      }
      ws.binaryType = 'arraybuffer';
      const fail = (): void => reject(tapError('TAP_TRANSPORT_CLOSED', `cannot open a WebSocket to ${url}`));
      ws.addEventListener('error', fail, { once: true });
      ws.addEventListener(
        'open',
        () => {
          ws.removeEventListener('error', fail);
          if (ws.protocol !== TAP_WS_PROTOCOL) {
            ws.close();
            reject(tapError('TAP_TRANSPORT_CLOSED', `the server does not speak ${TAP_WS_PROTOCOL}`));
            return;
          }
          resolve(new WebSocketReaderLink(ws));
        },
        { once: true },
      );
    });
  }

  #fail(e: unknown, close: boolean): void {
    this.#error ??= e;
    const w = this.#waiting;
    this.#waiting = undefined;
    w?.reject(this.#error);
    if (close) this.#ws.close(CLOSE.protocolError);
  }

  exchange(message: Uint8Array): Promise<Uint8Array> {
    if (this.#waiting) return Promise.reject(tapError('TAP_STATE_INVALID', 'one exchange at a time'));
    if (this.#error !== undefined) return Promise.reject(this.#error);
    if (message.length > MAX_FRAME) return Promise.reject(tapError('TAP_FRAME_TOO_LARGE', `a tap message is at most ${MAX_FRAME} bytes`));
    if (this.#queue.length > 0) {
      // An answer nobody asked for is a protocol fault of the peer.
      return Promise.reject(tapError('TAP_UNEXPECTED_MESSAGE', 'the peer sent a message before being asked'));
    }
    return new Promise<Uint8Array>((resolve, reject) => {
      this.#waiting = { resolve, reject };
      this.#ws.send(message);
    });
  }

  close(): void {
    this.#ws.close(CLOSE.normal);
  }
}
