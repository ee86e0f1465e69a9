/**
 * BLE-like transport: messages cut into packets of at most `mtu` bytes (ATT value length; 244 with
 * an ATT_MTU of 247 on LE Data Length Extension links). As in ISO 18013-5 §8.3.3.1.1.6, the first
 * byte of each packet says whether more packets of the same message follow (0x01) or this is the
 * last (0x00); the rest is payload. An empty message is one packet holding only 0x00.
 *
 * A PacketPipe is the GATT characteristic pair (write / notify) or, in tests, an in-memory pair.
 */
import { CityTrustError } from '../../core/errors.ts';
import { concatBytes } from '../../core/bytes.ts';
import { MAX_FRAME } from '../constants.ts';
import { tapError } from '../errors.ts';
import type { AirDirection, AirLog, TapLink, TapResponder } from '../link.ts';

export const BLE_DEFAULT_MTU = 244;
const MORE = 0x01;
const LAST = 0x00;

/** One end of a packet channel. `send` refuses packets over the MTU; `close` ends the link. */
export interface PacketPipe {
  readonly mtu: number;
  send(packet: Uint8Array): void;
  onPacket(handler: (packet: Uint8Array) => void): void;
  onClose(handler: () => void): void;
  close(): void;
}

/** Splits a message into packets of at most `mtu` bytes (header included). */
export function fragment(message: Uint8Array, mtu: number): Uint8Array[] {
  if (!Number.isInteger(mtu) || mtu < 2) throw new CityTrustError('INPUT_INVALID', 'the MTU leaves room for the header and one byte');
  const room = mtu - 1;
  const out: Uint8Array[] = [];
  for (let off = 0; off === 0 || off < message.length; off += room) {
    const chunk = message.subarray(off, off + room);
    out.push(concatBytes(Uint8Array.of(off + room < message.length ? MORE : LAST), chunk));
    if (message.length === 0) break;
  }
  return out;
}

/**
 * Reassembles packets into messages. A header other than 0x00/0x01, an empty packet or a message
 * growing past MAX_FRAME is a protocol fault: the assembler reports it and drops what it had.
 */
export class Reassembler {
  #parts: Uint8Array[] = [];
  #bytes = 0;

  /** Returns the completed message, or undefined while more packets are due. Throws on a fault. */
  push(packet: Uint8Array): Uint8Array | undefined {
    const header = packet[0];
    if (packet.length === 0 || (header !== MORE && header !== LAST)) {
      this.reset();
      throw tapError('TAP_MESSAGE_MALFORMED', 'a packet starts with 0x00 (last) or 0x01 (more)');
    }
    this.#bytes += packet.length - 1;
    if (this.#bytes > MAX_FRAME) {
      this.reset();
      throw tapError('TAP_FRAME_TOO_LARGE', `a tap message is at most ${MAX_FRAME} bytes`);
    }
    this.#parts.push(packet.subarray(1));
    if (header === MORE) return undefined;
    const message = concatBytes(...this.#parts);
    this.reset();
    return message;
  }

  get pending(): boolean {
    return this.#parts.length > 0;
  }

  reset(): void {
    this.#parts = [];
    this.#bytes = 0;
  }
}

interface PipeEnd extends PacketPipe {
  peer: PipeEnd | undefined;
  deliver(packet: Uint8Array): void;
  closed(): void;
}

/** Two connected in-memory pipe ends (reader, wallet) with the same MTU; delivery is asynchronous. */
export function packetPipePair(mtu = BLE_DEFAULT_MTU, log?: AirLog): [PacketPipe, PacketPipe] {
  const make = (direction: AirDirection): PipeEnd => {
    let handler: ((p: Uint8Array) => void) | undefined;
    const closeHandlers: (() => void)[] = [];
    let open = true;
    const end: PipeEnd = {
      mtu,
      peer: undefined,
      send(packet) {
        if (!open) throw tapError('TAP_TRANSPORT_CLOSED', 'the BLE link is closed');
        if (packet.length > mtu) throw tapError('TAP_FRAME_TOO_LARGE', `a packet is at most ${mtu} bytes`);
        log?.record(direction, packet.length);
        const copy = new Uint8Array(packet);
        const to = end.peer as PipeEnd;
        setImmediate(() => to.deliver(copy));
      },
      onPacket(h) {
        handler = h;
      },
      onClose(h) {
        closeHandlers.push(h);
      },
      close() {
        if (!open) return;
        end.closed();
        const to = end.peer as PipeEnd;
        setImmediate(() => to.closed());
      },
      deliver(p) {
        if (open) handler?.(p);
      },
      closed() {
        if (!open) return;
        open = false;
        for (const h of closeHandlers) h();
      },
    };
    return end;
  };
  const reader = make('reader-to-wallet');
  const wallet = make('wallet-to-reader');
  reader.peer = wallet;
  wallet.peer = reader;
  return [reader, wallet];
}

/** The reader's link over a packet pipe: send a message's packets, wait for the answer's. */
export class BleReaderLink implements TapLink {
  readonly #pipe: PacketPipe;
  readonly #rx = new Reassembler();
  #waiting: { resolve: (m: Uint8Array) => void; reject: (e: unknown) => void } | undefined;
  #closed = false;

  constructor(pipe: PacketPipe) {
    this.#pipe = pipe;
    pipe.onPacket((p) => {
      try {
        const m = this.#rx.push(p);
        if (m === undefined) return;
        const w = this.#waiting;
        this.#waiting = undefined;
        if (w) w.resolve(m);
      } catch (e) {
        const w = this.#waiting;
        this.#waiting = undefined;
        w?.reject(e);
      }
    });
    pipe.onClose(() => {
      this.#closed = true;
      const w = this.#waiting;
      this.#waiting = undefined;
      w?.reject(tapError(this.#rx.pending ? 'TAP_FRAME_TRUNCATED' : 'TAP_TRANSPORT_CLOSED', this.#rx.pending ? 'the link closed inside a message' : 'the BLE link closed'));
    });
  }

  exchange(message: Uint8Array): Promise<Uint8Array> {
    if (this.#closed) return Promise.reject(tapError('TAP_TRANSPORT_CLOSED', 'the BLE link is closed'));
    if (this.#waiting) return Promise.reject(tapError('TAP_STATE_INVALID', 'one exchange at a time'));
    if (message.length > MAX_FRAME) return Promise.reject(tapError('TAP_FRAME_TOO_LARGE', `a tap message is at most ${MAX_FRAME} bytes`));
    return new Promise<Uint8Array>((resolve, reject) => {
      this.#waiting = { resolve, reject };
      try {
        for (const p of fragment(message, this.#pipe.mtu)) this.#pipe.send(p);
      } catch (e) {
        this.#waiting = undefined;
        reject(e);
      }
    });
  }

  close(): void {
    this.#pipe.close();
  }
}

/**
 * Serves a responder on the wallet's end of a pipe. A malformed packet sequence is answered with
 * nothing and the pipe is closed: a BLE peripheral cannot trust anything more on that link.
 */
export function serveBle(pipe: PacketPipe, responder: TapResponder, onError?: (e: unknown) => void): void {
  const rx = new Reassembler();
  let chain: Promise<void> = Promise.resolve();
  pipe.onPacket((p) => {
    let message: Uint8Array | undefined;
    try {
      message = rx.push(p);
    } catch (e) {
      onError?.(e);
      pipe.close();
      return;
    }
    if (message === undefined) return;
    const m = message;
    chain = chain.then(async () => {
      const answer = await responder.handle(m);
      for (const packet of fragment(answer, pipe.mtu)) pipe.send(packet);
    }).catch((e: unknown) => {
      onError?.(e);
      pipe.close();
    });
  });
}
