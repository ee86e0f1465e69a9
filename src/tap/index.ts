/**
 * citytrust tap protocol (device-side; docs/tap-protocol.md): messages, transcript, key schedule,
 * the reader's and the wallet's state machines, transports and the link model. Every export is
 * named here; everything else in this folder is internal.
 */
export {
  TAP_VERSION,
  MSG,
  FRAME_LIMIT,
  MAX_FRAME,
  TAP_AID,
  X5CHAIN,
  READER_AUTH_CONTEXT,
  HOLDER_AUTH_CONTEXT,
  INFO_READER_TO_WALLET,
  INFO_WALLET_TO_READER,
  DIRECTION,
  type MessageType,
} from './constants.ts';
export {
  validateRequest,
  requestToCbor,
  requestFromCbor,
  decodeFrame,
  encodeErrorFrame,
  holderSignedData,
  type TapRequest,
  type TapResult,
  type Presentation,
  type Decline,
  type WalletReply,
  type UserVerification,
} from './messages.ts';
export { Transcript, deriveSessionKeys, sessionIv, SessionCipher, type DirectionKeys } from './session-crypto.ts';
export { systemRandomness, type TapRandomness } from './random.ts';
export { ReplayCache } from './replay-cache.ts';
export { ReaderSession, type ReaderSessionOptions, type ReceivedPresentation, type ReceivedReply } from './reader-session.ts';
export { WalletSession, type WalletSessionOptions, type WalletOutcome, type WalletState } from './wallet-session.ts';
export type { ReaderKeyMaterial, ReaderIdentity, ReaderAuthenticator, AuthenticatedReader, PresentationInput, Presenter } from './types.ts';
export { AirLog, withDeadline, type DeadlineLink, type TapLink, type TapResponder, type AirFrame, type AirDirection } from './link.ts';
export { NFC_424K, BLE_2M, airTime, type LinkModel, type AirTime } from './link-model.ts';
export { memoryLink, type MemoryLinkOptions } from './transports/memory.ts';
export { ApduCard, ApduReaderLink, encodeCommand, decodeCommand, SW, INS, MAX_LC, MAX_LE, type CommandApdu, type Transceive, type ApduLinkOptions } from './transports/apdu.ts';
export { BLE_DEFAULT_MTU, fragment, Reassembler, packetPipePair, BleReaderLink, serveBle, type PacketPipe } from './transports/ble.ts';
export { FrameDecoder, encodeFrame, TcpReaderLink, serveTcp } from './transports/tcp.ts';
export { WebSocketReaderLink, serveWebSocket, websocketAccept, encodeServerFrame, ClientFrameParser, TAP_WS_PROTOCOL } from './transports/websocket.ts';
