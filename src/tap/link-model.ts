/**
 * A link model: on-air time of a tap from the frames a transport actually sent (docs/tap-protocol.md
 * §7). It is an estimate with its assumptions stated, not a radio simulation.
 *
 * NFC (ISO/IEC 14443-4 at 424 kbit/s): each APDU travels in I-blocks of at most `blockPayload` bytes
 * (FSC = 256 leaves 253 after PCB and CRC_B); a chained block is acknowledged by an R-block; every
 * block costs its bytes at `bitsPerByte` bits (Type B characters are 10 etu) plus `blockOverhead`
 * bytes (PCB, CRC, SOF/EOF) and one turnaround (frame delay time plus firmware latency).
 *
 * BLE (2M PHY): each packet costs its ATT value plus link-layer, L2CAP and ATT headers at 2 Mbit/s,
 * an inter-frame space and the peer's empty acknowledgement; every change of direction waits for a
 * connection event, on average half a connection interval.
 */
import { CityTrustError } from '../core/errors.ts';
import type { AirFrame } from './link.ts';

export interface LinkModel {
  readonly name: string;
  /** Bits per second on the air. */
  readonly bitRate: number;
  /** Bits per byte on the air (start/stop or parity bits included). */
  readonly bitsPerByte: number;
  /** Bytes of framing per block or packet (headers, CRC, preamble). */
  readonly blockOverhead: number;
  /** Largest payload per block or packet; a longer frame is cut into blocks. */
  readonly blockPayload: number;
  /** Seconds per block for turnaround (FDT, inter-frame space, firmware). */
  readonly blockTurnaround: number;
  /** Seconds per acknowledgement of a chained block (NFC R-block) or per packet (BLE empty PDU). */
  readonly ackTime: number;
  /** BLE acknowledges every packet; NFC only the blocks of a chain but the last. */
  readonly ackEveryBlock: boolean;
  /** Seconds each time the sending side changes. */
  readonly directionChange: number;
  /** Seconds of link set-up before the first frame (NFC activation); 0 for an established BLE link. */
  readonly setup: number;
}

/** ISO/IEC 14443 Type B at 424 kbit/s, FSC = FSD = 256, after activation (REQB, ATTRIB, PPS ≈ 5 ms). */
export const NFC_424K: LinkModel = Object.freeze({
  name: 'ISO 14443-4, 424 kbit/s',
  bitRate: 424_000,
  bitsPerByte: 10,
  blockOverhead: 5,
  blockPayload: 253,
  // FDT PCD→PICC ≥ 1172/fc ≈ 86 µs (ISO/IEC 14443-3 §6.2.1.1) plus reader and card firmware: 0.3 ms.
  blockTurnaround: 0.0003,
  // An R(ACK) block: 3 bytes (PCB, CRC) + SOF/EOF at 10 bits, plus its own turnaround.
  ackTime: (5 * 10) / 424_000 + 0.0003,
  ackEveryBlock: false,
  directionChange: 0,
  setup: 0.005,
});

/** BLE 5 2M PHY, LE Data Length Extension (251-byte LL payload), ATT_MTU 247 (244-byte values), 7.5 ms interval. */
export const BLE_2M: LinkModel = Object.freeze({
  name: 'BLE 2M PHY, 7.5 ms connection interval',
  bitRate: 2_000_000,
  bitsPerByte: 8,
  // LL: preamble 2 + access address 4 + header 2 + CRC 3; L2CAP 4; ATT opcode + handle 3.
  blockOverhead: 18,
  blockPayload: 244,
  // T_IFS = 150 µs (Core Spec Vol 6 Part B §4.1.1).
  blockTurnaround: 0.00015,
  // The peer's empty PDU (11 bytes at 2 Mbit/s = 44 µs) and a second T_IFS.
  ackTime: (11 * 8) / 2_000_000 + 0.00015,
  ackEveryBlock: true,
  directionChange: 0.00375,
  setup: 0,
});

export interface AirTime {
  readonly model: string;
  readonly frames: number;
  readonly blocks: number;
  readonly bytes: number;
  /** Estimated on-air time in milliseconds, link set-up included. */
  readonly ms: number;
}

/** The on-air time of a sequence of frames under `model`. */
export function airTime(frames: readonly AirFrame[], model: LinkModel): AirTime {
  if (!Array.isArray(frames)) throw new CityTrustError('INPUT_INVALID', 'frames is a list');
  let seconds = model.setup;
  let blocks = 0;
  let bytes = 0;
  let last: AirFrame['direction'] | undefined;
  for (const f of frames) {
    const n = Math.max(1, Math.ceil(f.bytes / model.blockPayload));
    blocks += n;
    bytes += f.bytes;
    seconds += ((f.bytes + n * model.blockOverhead) * model.bitsPerByte) / model.bitRate + n * model.blockTurnaround;
    seconds += (model.ackEveryBlock ? n : n - 1) * model.ackTime;
    if (last !== undefined && last !== f.direction) seconds += model.directionChange;
    last = f.direction;
  }
  return { model: model.name, frames: frames.length, blocks, bytes, ms: seconds * 1000 };
}
