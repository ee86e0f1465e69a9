/**
 * TCP transport for a reader and a wallet in separate processes (development, simulation, a phone
 * app talking to a gate controller over a LAN). Each message is a frame: 2-byte big-endian length,
 * then the message. A length over MAX_FRAME ends the connection before anything is buffered.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { concatBytes } from '../../core/bytes.ts';
import { MAX_FRAME } from '../constants.ts';
import { tapError } from '../errors.ts';
import type { TapLink, TapResponder } from '../link.ts';

/** Splits a byte stream into length-prefixed frames. */
export class FrameDecoder {
  #buf: Uint8Array = new Uint8Array(0);

  /** Feeds bytes; returns every frame completed by them. Throws TAP_FRAME_TOO_LARGE on a bad length. */
  push(chunk: Uint8Array): Uint8Array[] {
    this.#buf = this.#buf.length === 0 ? new Uint8Array(chunk) : concatBytes(this.#buf, chunk);
    const out: Uint8Array[] = [];
    while (this.#buf.length >= 2) {
      const len = ((this.#buf[0] as number) << 8) | (this.#buf[1] as number);
      if (len > MAX_FRAME) throw tapError('TAP_FRAME_TOO_LARGE', `a frame announces ${len} bytes; at most ${MAX_FRAME}`);
      if (this.#buf.length < 2 + len) break;
      out.push(this.#buf.slice(2, 2 + len));
      this.#buf = this.#buf.subarray(2 + len);
    }
    return out;
  }

  /** Bytes of an incomplete frame are waiting. */
  get pending(): boolean {
    return this.#buf.length > 0;
  }
}

export function encodeFrame(message: Uint8Array): Uint8Array {
  if (message.length > MAX_FRAME) throw tapError('TAP_FRAME_TOO_LARGE', `a tap message is at most ${MAX_FRAME} bytes`);
  return concatBytes(Uint8Array.of(message.length >> 8, message.length & 0xff), message);
}

/** The reader's link over one TCP connection. */
export class TcpReaderLink implements TapLink {
  readonly #socket: Socket;
  readonly #rx = new FrameDecoder();
  readonly #queue: Uint8Array[] = [];
  #waiting: { resolve: (m: Uint8Array) => void; reject: (e: unknown) => void } | undefined;
  #error: unknown;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const f of this.#rx.push(chunk)) this.#deliver(f);
      } catch (e) {
        this.#failAll(e);
        socket.destroy();
      }
    });
    socket.on('close', () => this.#failAll(tapError(this.#rx.pending ? 'TAP_FRAME_TRUNCATED' : 'TAP_TRANSPORT_CLOSED', this.#rx.pending ? 'the connection closed inside a frame' : 'the connection closed')));
    socket.on('error', () => undefined);
  }

  static connect(port: number, host = '127.0.0.1'): Promise<TcpReaderLink> {
    return new Promise((resolve, reject) => {
      const s = connect({ port, host, noDelay: true });
      s.once('connect', () => resolve(new TcpReaderLink(s)));
      s.once('error', (e) => reject(tapError('TAP_TRANSPORT_CLOSED', `cannot connect to ${host}:${port}`, e)));
    });
  }

  #deliver(f: Uint8Array): void {
    const w = this.#waiting;
    this.#waiting = undefined;
    if (w) w.resolve(f);
    else this.#queue.push(f);
  }

  #failAll(e: unknown): void {
    this.#error ??= e;
    const w = this.#waiting;
    this.#waiting = undefined;
    w?.reject(this.#error);
  }

  exchange(message: Uint8Array): Promise<Uint8Array> {
    if (this.#waiting) return Promise.reject(tapError('TAP_STATE_INVALID', 'one exchange at a time'));
    if (this.#error !== undefined) return Promise.reject(this.#error);
    let frame: Uint8Array;
    try {
      frame = encodeFrame(message);
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise<Uint8Array>((resolve, reject) => {
      const early = this.#queue.shift();
      if (early) {
        // An answer nobody asked for is a protocol fault of the peer.
        reject(tapError('TAP_UNEXPECTED_MESSAGE', 'the peer sent a frame before being asked'));
        return;
      }
      this.#waiting = { resolve, reject };
      this.#socket.write(frame);
    });
  }

  close(): void {
    this.#socket.end();
  }
}

/**
 * Serves wallets over TCP: one responder per connection (`responderFor`), frames answered in order.
 * A framing fault closes that connection only.
 */
export function serveTcp(responderFor: (socket: Socket) => TapResponder, onError?: (e: unknown) => void): Server {
  return createServer({ noDelay: true }, (socket) => {
    const responder = responderFor(socket);
    const rx = new FrameDecoder();
    let chain: Promise<void> = Promise.resolve();
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      let frames: Uint8Array[];
      try {
        frames = rx.push(chunk);
      } catch (e) {
        onError?.(e);
        socket.destroy();
        return;
      }
      for (const f of frames) {
        chain = chain
          .then(async () => {
            const answer = await responder.handle(f);
            if (!socket.destroyed) socket.write(encodeFrame(answer));
          })
          .catch((e: unknown) => {
            onError?.(e);
            socket.destroy();
          });
      }
    });
  });
}
