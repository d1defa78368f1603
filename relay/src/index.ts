// The relay engine's public face. warren-relay (main.ts) runs it on sockets of its own; the
// coordinator embeds the same engine on its UDP port. This file is the only part of relay/
// another program may import (.dependency-cruiser.cjs, coordinator-stays-home).
export { Relay, DEFAULT_RELAY_NAME, type RelayOptions } from './server.js';
