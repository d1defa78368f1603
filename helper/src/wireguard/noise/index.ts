// Public surface of the sans-IO WireGuard protocol core (WireGuard whitepaper §5 and §6).
// The device layer imports from here only.
export * from './constants.js';
export type { DropReason, Endpoint } from './types.js';
export { NoiseCore, type Admit, type ControlResult, type NoiseCoreOptions } from './core.js';
export { NoisePeer, type TickAction } from './peer.js';
export { Keypair } from './keypair.js';
export { ReplayWindow, WINDOW_SIZE } from './replay.js';
export {
  MessageType,
  messageType,
  parseTransportHeader,
  writeTransportHeader,
  INITIATION_SIZE,
  RESPONSE_SIZE,
  COOKIE_REPLY_SIZE,
  TRANSPORT_HEADER_SIZE,
  TRANSPORT_MIN_SIZE,
  type MessageTypeValue,
  type TransportHeader,
} from './messages.js';
export { sealTransport, openTransport, paddingFor, PADDING_MULTIPLE } from './transport.js';
export { counterNonce } from './crypto.js';
