// Node command-line flags for Warren's long-running programs (the helper, warren-wg,
// warren-relay). V8's memory reducer starts full mark-compact collections on its own schedule
// (about 8 s after start, then when the heap looks idle); they were measured at 2-43 ms inside a
// ping window, pauses on the packet path far beyond 1 ms (docs/architecture.md, "Where a lone
// packet waits"). These programs' heaps are small and bounded, so giving up the reducer's
// shrinking costs little. V8 reads the flag when it sets the heap up: `v8.setFlagsFromString`
// at the top of a program was measured not to stop the reducer, and NODE_OPTIONS refuses it, so
// it has to be on node's command line. The launchers (bin/*, packaging/warren) carry it in their
// first line; programs that start another Warren process add it with withPacketPathFlags.

/** PACKET_PATH_NODE_FLAGS go on node's command line before the script. */
export const PACKET_PATH_NODE_FLAGS: readonly string[] = ['--no-memory-reducer'];

/** withPacketPathFlags is execArgv with the packet-path flags it lacks appended. */
export function withPacketPathFlags(execArgv: readonly string[]): string[] {
  return [...execArgv, ...PACKET_PATH_NODE_FLAGS.filter((f) => !execArgv.includes(f))];
}
