/**
 * citytrust/reader: the infrastructure SDK (device-side; docs/reader.md). Configuration, the offline
 * trust cache, the decision engine, anti-passback and use counts, the persisted event queue and its
 * signed upload, enrolment. Every export is named here.
 */
export { validateReaderConfig, READER_DEFAULTS, type ReaderConfig } from './config.ts';
export { TrustCache, TRUST_FILE, type TrustBundle, type TrustUpdate } from './trust-cache.ts';
export { decide, READER_REASONS, type ReaderReason, type EngineDecision, type EngineContext } from './engine.ts';
export { encodeEvent, decodeEvent, eventToCbor, eventFromCbor, EVENT_LIMITS, type ReaderEvent } from './events.ts';
export { ReaderState } from './state.ts';
export { EventQueue, STATE_FILE } from './queue.ts';
export { MemoryEventSink } from './memory-sink.ts';
export { Reader, type ReaderOptions, type EventSink, type TapOptions, type TapOutcome } from './reader.ts';
export { writeFileAtomic } from './files.ts';
export { signEventBatch, signTrustRequest, openReaderMessage, readerChainOf, EVENTS_TYP, TRUST_TYP, MAX_BATCH, UPLOAD_LIMITS, type SignedBy, type ReaderMessage } from './upload.ts';
export { ReaderOnline, type ReaderOnlineOptions, type UploadQueue, type RunOptions } from './online.ts';
export { createCsr, enroll, toPemBlock, fromPemBlocks, type Enrolment } from './enrol.ts';
export { initReaderHome, openReaderHome, HOME_FILES, type ReaderHome } from './home.ts';
export { ReaderUpdates, parseTrustBundle, READER_TRUST_BUNDLE, READER_CONFIG_BUNDLE, READER_TRUST_BUNDLE_TYPE, type ReaderUpdatesOptions } from './firmware.ts';
// The tap protocol as a reader uses it (citytrust/reader is the package entry point for readers).
export {
  ReaderSession,
  ApduReaderLink,
  BleReaderLink,
  TcpReaderLink,
  WebSocketReaderLink,
  memoryLink,
  withDeadline,
  AirLog,
  airTime,
  NFC_424K,
  BLE_2M,
  validateRequest,
  type TapLink,
  type TapRequest,
  type TapResult,
  type ReaderKeyMaterial,
  type Transceive,
  type PacketPipe,
  type LinkModel,
} from '../tap/index.ts';
