package main

import "runtime/debug"

// defaultGCPercent is -gc-percent's default: the heap may grow half again
// over what the last collection found live before the next one, rather
// than Go's default of doubling. A server of many streams makes garbage
// at every connection (net/http's 4 KiB reader and writer, which a taken
// over connection never gives back) and at every tick, over a live heap
// that is mostly the streams' own small state, the replay ring and the
// bars; what it holds beyond that is this headroom. Measured at scenario C
// (BENCHMARKS.md), 1,000 streams at 1,000 ticks/s: the resident memory per
// connection falls from 7.5–7.9 KiB at 100 to 4.6–6.2 KiB at 50 (4.0–4.3
// at 25), and the collector's share of CPU stays below what a CPU
// profile can see at each: nearly all of it is the writes.
const defaultGCPercent = 50

// applyGCPercent sets the collector's target, -gc-percent, which replaces
// GOGC.
func applyGCPercent(percent int) { debug.SetGCPercent(percent) }
