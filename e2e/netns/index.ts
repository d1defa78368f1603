// The e2e network-namespace harness: topology, peers (Warren and wireguard-go), traffic tools.
export { cleanupStale, CONFORMANCE_PREFIX, KEPT_LOGS_MARKER, PREFIX, runPid, listNamespaces } from './names.js';
export { exec, TrackedProcess, type ExecOptions, type ExecResult } from './process.js';
export { Topology, Namespace, type Link, type Switch, type SpawnOptions } from './topology.js';
export { pairLayout, routedLayout, moveAddress, type PairLayout, type RoutedLayout } from './layouts.js';
export { genKeyPair, publicKeyOf, type KeyPair } from './keys.js';
export {
  startWireguardGo,
  parseWgDump,
  type WireguardGo,
  type WireguardGoOptions,
  type WgPeerConfig,
  type WgPeerState,
} from './wireguard-go.js';
export {
  startWarren,
  warrenCli,
  warrenArgv,
  warrenCliPath,
  repoRoot,
  waitForHandshake,
  jsSliceWords,
  type Warren,
  type WarrenOptions,
} from './warren.js';
export { warrenProfile, type ProfileOptions, type ProfilePeer } from './profile.js';
export { ping, waitForPing, parsePing, percentile, type PingResult, type PingOptions } from './ping.js';
export { iperf3, parseIperf, type IperfResult, type IperfOptions } from './iperf.js';
export { tcpTransfer, type TransferResult, type TransferOptions } from './tcp.js';
export { startHandshakeFlood, ownRange, type Flood, type FloodOptions, type FloodReport } from './flood.js';
export { udpFuzz, udpKernelDrops, startUdpRelay, type FuzzResult, type UdpRelay, type UdpRelayOptions } from './udp.js';
export { procStats, parseStatTicks, parseVmHwm, type ProcStats } from './procstats.js';
export { describeE2E, missingRequirement, onPath, type Needs } from './requirements.js';
export { lastLineTime, sleep, waitUntil } from './wait.js';
