// Node command-line flags for Warren's long-running programs (the helper, warren-wg,
// warren-relay).
//
// --no-memory-reducer: V8's memory reducer starts full mark-compact collections on its own schedule
// (about 8 s after start, then when the heap looks idle); they were measured at 2-43 ms inside a
// ping window, pauses on the packet path far beyond 1 ms (docs/architecture.md, "Where a lone
// packet waits"). These programs' heaps are small and bounded, so giving up the reducer's
// shrinking costs little. V8 reads the flag when it sets the heap up: `v8.setFlagsFromString`
// at the top of a program was measured not to stop the reducer, and NODE_OPTIONS refuses it, so
// it has to be on node's command line.
//
// --interrupt-budget=4096: V8 optimizes a function with TurboFan only after it has run through
// its interrupt budget (66 KiB of its own bytecode by default) three times or more. The packet
// path runs once per batch, a few hundred bytecodes a call, so at ping rates (one packet every
// 10 ms) it stayed in the baseline tier (Sparkplug, with an inline-cache stub call for every
// property load) for thousands of packets: a profile of an idle tunnel had its JS at 110-140 µs
// per packet and side, most of a ping's round trip. A sixteenth of the budget has it optimized
// after a few dozen packets (docs/architecture.md, "Where a lone packet waits"); the cost is
// that more of the rest of the program is compiled too, on V8's background thread.
//
// NODE_OPTIONS refuses both. The launchers (bin/*, packaging/warren) carry it in their
// first line; programs that start another Warren process add it with withPacketPathFlags.

/** PACKET_PATH_NODE_FLAGS go on node's command line before the script. */
export const PACKET_PATH_NODE_FLAGS: readonly string[] = ['--no-memory-reducer', '--interrupt-budget=4096'];

/** withPacketPathFlags is execArgv with the packet-path flags it lacks appended. */
export function withPacketPathFlags(execArgv: readonly string[]): string[] {
  return [...execArgv, ...PACKET_PATH_NODE_FLAGS.filter((f) => !execArgv.includes(f))];
}
