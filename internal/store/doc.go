// Package store is Weir's embedded history: an SQLite file (pure Go driver,
// modernc.org/sqlite) holding per-minute traffic aggregates, the top hosts
// of each minute, enforcement events and the policies that were loaded. The
// dashboard (internal/web) and `weir report` read it; `weir run` and
// `weir inspect --store` write it.
//
// Writing: [Store.Sink] and [Store.EventSink] return a [record.Sink] and a
// [record.EventSink]. Their Write/Event copy the few fields the store keeps
// into a fixed-size item and hand it to one writer goroutine through a
// bounded channel: `select { case q <- it: default: drops.Add(1) }`. The
// datapath therefore never waits on SQLite and Write allocates nothing
// (TestSinkNoAllocs). Strings are retained as they are: internal/dissect
// promises that Meta strings never alias packet buffers, so keeping them
// after Write returns is safe. The writer sums items per minute in memory and
// writes them in one transaction per [Config.FlushInterval] (UPSERTs that
// add to the stored counters), so a minute may be written many times and the
// stored values are always the exact sums of what was accepted.
//
// Top hosts are bounded: every flush trims each minute it touched to
// [Config.TopHosts] rows by bytes once the minute is over, and to
// 10*TopHosts while it is still current (so a heavy hitter seen late in the
// minute is not lost to the trim). Counts are exact while a minute has fewer
// distinct hosts than that; past it the table keeps the heaviest hosts
// (space-saving style) and the rest are dropped. Per flush the in-memory host
// table is bounded too (MaxPendingHosts; overflow is counted, not stored),
// since hostnames are attacker-controlled and could otherwise grow memory
// without limit.
//
// Durability: WAL journal with synchronous=NORMAL. In WAL mode NORMAL never
// corrupts the database; it may lose the last transactions on power loss or
// an OS crash, but not when only the process dies (kill -9): committed WAL
// frames are in the OS page cache and are replayed on the next open.
// TestCrashKill9 kills a writing child process repeatedly and checks
// PRAGMA integrity_check and the data. FULL would add an fsync per flush for
// no gain against the failure the store is built for (a crashed or killed
// Weir); aggregates are telemetry, not a ledger.
//
// Reading: the query methods ([Store.Traffic], [Store.TopApps], ...) are
// safe for concurrent use with the writer; WAL lets readers see the last
// committed flush without blocking it. Open with [Config.ReadOnly] for tools
// that only read (`weir report`).
//
// Schema: versioned by the schema_version table; [Open] applies missing
// migrations in order, each in its own transaction, and refuses a file
// written by a newer Weir (ErrNewerSchema).
package store
