/**
 * NFC transport: tap messages in ISO/IEC 7816-4 short APDUs, as ISO 18013-5 §8.3.3.1.2 carries mdoc
 * messages: the reader (PCD) SELECTs the applet by AID, sends each message in ENVELOPE commands
 * (INS C3) with command chaining (CLA bit b5, §5.3.3) when it exceeds 255 bytes, and fetches answers
 * longer than 256 bytes with GET RESPONSE (INS C0) while the card says 61XX (§5.6).
 *
 * The card side is a small state machine over C-APDU bytes; any bytes it cannot accept get the
 * status word ISO 7816-4 names for the fault, and the card stays ready for the next command.
 */
import { CityTrustError } from '../../core/errors.ts';
import { bytesEqual, concatBytes, toHex } from '../../core/bytes.ts';
import { MAX_FRAME, TAP_AID } from '../constants.ts';
import { tapError } from '../errors.ts';
import type { AirLog, TapLink, TapResponder } from '../link.ts';

export const SW = {
  OK: 0x9000,
  WRONG_LENGTH: 0x6700,
  LAST_COMMAND_EXPECTED: 0x6883,
  CONDITIONS_NOT_SATISFIED: 0x6985,
  WRONG_DATA: 0x6a80,
  NOT_FOUND: 0x6a82,
  NO_MEMORY: 0x6a84,
  WRONG_P1P2: 0x6a86,
  INS_NOT_SUPPORTED: 0x6d00,
  CLA_NOT_SUPPORTED: 0x6e00,
} as const;

export const INS = { select: 0xa4, envelope: 0xc3, getResponse: 0xc0 } as const;
const CHAINING = 0x10;
/** Short APDUs: Nc ≤ 255, Ne ≤ 256 (ISO 7816-4 §5.1). */
export const MAX_LC = 255;
export const MAX_LE = 256;

export interface CommandApdu {
  readonly cla: number;
  readonly ins: number;
  readonly p1: number;
  readonly p2: number;
  readonly data: Uint8Array;
  /** Ne: expected response length, 1..256; undefined when absent (cases 1 and 3). */
  readonly le: number | undefined;
}

/** Encodes a short C-APDU (cases 1–4). */
export function encodeCommand(c: CommandApdu): Uint8Array {
  if (c.data.length > MAX_LC) throw new CityTrustError('TAP_APDU_MALFORMED', `a short APDU carries at most ${MAX_LC} data bytes`);
  if (c.le !== undefined && (c.le < 1 || c.le > MAX_LE)) throw new CityTrustError('TAP_APDU_MALFORMED', 'Ne is 1..256');
  const head = Uint8Array.of(c.cla, c.ins, c.p1, c.p2);
  const lc = c.data.length > 0 ? concatBytes(Uint8Array.of(c.data.length), c.data) : new Uint8Array(0);
  const le = c.le === undefined ? new Uint8Array(0) : Uint8Array.of(c.le & 0xff);
  return concatBytes(head, lc, le);
}

/** Parses a short C-APDU; extended lengths and inconsistent Lc are TAP_APDU_MALFORMED (SW 6700). */
export function decodeCommand(b: Uint8Array): CommandApdu {
  if (!(b instanceof Uint8Array) || b.length < 4) throw new CityTrustError('TAP_APDU_MALFORMED', 'a C-APDU has a 4-byte header');
  const [cla, ins, p1, p2] = b as unknown as [number, number, number, number];
  if (b.length === 4) return { cla, ins, p1, p2, data: new Uint8Array(0), le: undefined };
  if (b.length === 5) return { cla, ins, p1, p2, data: new Uint8Array(0), le: b[4] === 0 ? 256 : b[4] };
  const lc = b[4] as number;
  // Lc = 00 followed by more bytes announces an extended APDU, which this applet refuses (§5.1).
  if (lc === 0) throw new CityTrustError('TAP_APDU_MALFORMED', 'extended-length APDUs are not supported');
  if (b.length === 5 + lc) return { cla, ins, p1, p2, data: b.slice(5), le: undefined };
  if (b.length === 6 + lc) return { cla, ins, p1, p2, data: b.slice(5, 5 + lc), le: b[5 + lc] === 0 ? 256 : b[5 + lc] };
  throw new CityTrustError('TAP_APDU_MALFORMED', 'Lc does not match the data length');
}

function response(data: Uint8Array, sw: number): Uint8Array {
  return concatBytes(data, Uint8Array.of(sw >> 8, sw & 0xff));
}

function statusOnly(sw: number): Uint8Array {
  return Uint8Array.of(sw >> 8, sw & 0xff);
}

/**
 * The card (PICC) side: the wallet's applet. `process` takes one C-APDU and returns the R-APDU.
 * A SELECT of our AID starts afresh (any chain or pending answer is dropped).
 */
export class ApduCard {
  readonly #responder: TapResponder;
  readonly #aid: Uint8Array;
  #selected = false;
  #chain: Uint8Array[] = [];
  #chainBytes = 0;
  #pending: Uint8Array | undefined;

  constructor(responder: TapResponder, opts: { aid?: Uint8Array } = {}) {
    this.#responder = responder;
    this.#aid = opts.aid ?? TAP_AID;
  }

  async process(capdu: Uint8Array): Promise<Uint8Array> {
    let c: CommandApdu;
    try {
      c = decodeCommand(capdu);
    } catch {
      this.#resetChain();
      return statusOnly(SW.WRONG_LENGTH);
    }
    const chained = (c.cla & CHAINING) !== 0;
    const cla = c.cla & ~CHAINING;
    if (cla !== 0x00) return this.#fault(SW.CLA_NOT_SUPPORTED);
    if (this.#chain.length > 0 && !(c.ins === INS.envelope)) return this.#fault(SW.LAST_COMMAND_EXPECTED);
    switch (c.ins) {
      case INS.select:
        return this.#select(c, chained);
      case INS.envelope:
        return this.#envelope(c, chained);
      case INS.getResponse:
        return this.#getResponse(c, chained);
      default:
        return this.#fault(SW.INS_NOT_SUPPORTED);
    }
  }

  #fault(sw: number): Uint8Array {
    this.#resetChain();
    return statusOnly(sw);
  }

  #resetChain(): void {
    this.#chain = [];
    this.#chainBytes = 0;
  }

  #select(c: CommandApdu, chained: boolean): Uint8Array {
    if (chained) return this.#fault(SW.WRONG_P1P2);
    // P1 = 04: select by DF name (AID); P2 = 00/0C: first occurrence, FCI or no data (§11.1.1).
    if (c.p1 !== 0x04 || (c.p2 !== 0x00 && c.p2 !== 0x0c)) return this.#fault(SW.WRONG_P1P2);
    this.#resetChain();
    this.#pending = undefined;
    this.#selected = bytesEqual(c.data, this.#aid);
    return statusOnly(this.#selected ? SW.OK : SW.NOT_FOUND);
  }

  async #envelope(c: CommandApdu, chained: boolean): Promise<Uint8Array> {
    if (!this.#selected) return this.#fault(SW.CONDITIONS_NOT_SATISFIED);
    if (c.p1 !== 0 || c.p2 !== 0) return this.#fault(SW.WRONG_P1P2);
    this.#pending = undefined;
    this.#chainBytes += c.data.length;
    if (this.#chainBytes > MAX_FRAME) return this.#fault(SW.NO_MEMORY);
    this.#chain.push(c.data);
    if (chained) return statusOnly(SW.OK);
    const message = concatBytes(...this.#chain);
    this.#resetChain();
    const answer = await this.#responder.handle(message);
    return this.#send(answer, c.le ?? MAX_LE);
  }

  #getResponse(c: CommandApdu, chained: boolean): Uint8Array {
    if (chained || c.p1 !== 0 || c.p2 !== 0) return this.#fault(SW.WRONG_P1P2);
    if (this.#pending === undefined) return this.#fault(SW.CONDITIONS_NOT_SATISFIED);
    return this.#send(this.#pending, c.le ?? MAX_LE);
  }

  /** Answers with up to `ne` bytes; 61XX says how many remain (00: 256 or more). */
  #send(data: Uint8Array, ne: number): Uint8Array {
    const n = Math.min(ne, MAX_LE, data.length);
    const rest = data.subarray(n);
    this.#pending = rest.length > 0 ? rest : undefined;
    return response(data.subarray(0, n), rest.length > 0 ? 0x6100 | (rest.length >= 256 ? 0 : rest.length) : SW.OK);
  }
}

/** Sends one C-APDU to the card and returns its R-APDU: an NFC field, PC/SC, or a test pipe. */
export type Transceive = (capdu: Uint8Array) => Promise<Uint8Array>;

export interface ApduLinkOptions {
  readonly aid?: Uint8Array;
  /** Records every C-APDU and R-APDU as one frame for the link model. */
  readonly log?: AirLog;
}

/**
 * The reader (PCD) side: select() once per card in the field, then exchange() per message.
 * Non-success status words become TAP_APDU_STATUS with details.sw; a chain the card refuses is
 * never retried.
 */
export class ApduReaderLink implements TapLink {
  readonly #transceive: Transceive;
  readonly #opts: ApduLinkOptions;

  constructor(transceive: Transceive, opts: ApduLinkOptions = {}) {
    this.#transceive = transceive;
    this.#opts = opts;
  }

  /** A link to the card in the field, after SELECT of the tap applet. */
  static async open(transceive: Transceive, opts: ApduLinkOptions = {}): Promise<ApduReaderLink> {
    const link = new ApduReaderLink(transceive, opts);
    await link.select();
    return link;
  }

  async #send(c: CommandApdu): Promise<{ data: Uint8Array; sw: number }> {
    const capdu = encodeCommand(c);
    this.#opts.log?.record('reader-to-wallet', capdu.length);
    const r = await this.#transceive(capdu);
    this.#opts.log?.record('wallet-to-reader', r.length);
    if (!(r instanceof Uint8Array) || r.length < 2) throw tapError('TAP_FRAME_TRUNCATED', 'the R-APDU has no status word');
    if (r.length > MAX_LE + 2) throw tapError('TAP_APDU_MALFORMED', 'an R-APDU carries at most 256 data bytes');
    return { data: r.subarray(0, r.length - 2), sw: ((r[r.length - 2] as number) << 8) | (r[r.length - 1] as number) };
  }

  static #check(sw: number, what: string): void {
    if (sw !== SW.OK) throw tapError('TAP_APDU_STATUS', `${what} failed with status ${sw.toString(16).toUpperCase()}`, undefined, { sw: sw.toString(16).toUpperCase().padStart(4, '0') });
  }

  /** SELECT by AID (P2 = 0C: no FCI wanted). */
  async select(): Promise<void> {
    const { sw } = await this.#send({ cla: 0x00, ins: INS.select, p1: 0x04, p2: 0x0c, data: this.#opts.aid ?? TAP_AID, le: undefined });
    ApduReaderLink.#check(sw, `SELECT ${toHex(this.#opts.aid ?? TAP_AID)}`);
  }

  async exchange(message: Uint8Array): Promise<Uint8Array> {
    if (message.length > MAX_FRAME) throw tapError('TAP_FRAME_TOO_LARGE', `a tap message is at most ${MAX_FRAME} bytes`);
    // Command chaining: every block but the last has CLA b5 set and must be answered 9000 (§5.3.3).
    let off = 0;
    let last: { data: Uint8Array; sw: number };
    do {
      const block = message.subarray(off, off + MAX_LC);
      off += block.length;
      const final = off >= message.length;
      last = await this.#send({ cla: final ? 0x00 : CHAINING, ins: INS.envelope, p1: 0, p2: 0, data: block, le: final ? MAX_LE : undefined });
      if (!final) ApduReaderLink.#check(last.sw, 'a chained ENVELOPE');
    } while (off < message.length);
    const parts = [last.data];
    let total = last.data.length;
    while ((last.sw & 0xff00) === 0x6100) {
      const ne = (last.sw & 0xff) === 0 ? MAX_LE : last.sw & 0xff;
      last = await this.#send({ cla: 0x00, ins: INS.getResponse, p1: 0, p2: 0, data: new Uint8Array(0), le: ne });
      total += last.data.length;
      if (total > MAX_FRAME) throw tapError('TAP_FRAME_TOO_LARGE', `the card's answer exceeds ${MAX_FRAME} bytes`);
      parts.push(last.data);
    }
    ApduReaderLink.#check(last.sw, 'ENVELOPE');
    return concatBytes(...parts);
  }
}
