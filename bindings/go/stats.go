package kv

/*
#include "shim.h"
*/
import "C"

import "time"

// Stats is a snapshot of a database's counters and sizes.
type Stats struct {
	Keys                           uint64        // live keys of every type
	KeysWithTTL                    uint64        // keys carrying a TTL
	Segments                       uint64        // segment files
	DiskBytes                      uint64        // sum of segment sizes
	DeadBytes                      uint64        // bytes of records no longer live
	Reads                          uint64        // records read from disk
	ReadBytes                      uint64        // bytes read from disk
	Writes                         uint64        // records appended (a batch counts once)
	WrittenBytes                   uint64        // bytes appended
	Fsyncs                         uint64        // fdatasync calls on segments
	SyncedWrites                   uint64        // writes made durable by those fsyncs
	MeanGroupCommit                float64       // mean writes per fsync
	KeyspaceHits                   uint64        // lookups that found a live key
	KeyspaceMisses                 uint64        // lookups that did not
	ExpiredKeysLazy                uint64        // keys purged on access
	ExpiredKeysActive              uint64        // keys purged by the active expiry cycle
	Rotations                      uint64        // segment rotations since open
	KeydirHeapBytes                uint64        // heap bytes of the key index
	RecoveryRecordsReplayed        uint64        // records replayed on open
	RecoveryTornTailBytesTruncated uint64        // torn-tail bytes truncated on open
	RecoverySalvagedBytesSkipped   uint64        // damaged bytes skipped under salvage
	RecoveryDuration               time.Duration // time spent recovering on open
	Poisoned                       bool          // writes refused until reopen
}

// Stats returns a snapshot of the database's counters.
func (db *DB) Stats() (Stats, error) {
	h, err := db.acquire("Stats")
	if err != nil {
		return Stats{}, err
	}
	defer db.mu.RUnlock()
	var s C.kv_stats
	var out C.kvg_out
	if st := C.kvg_stats(h, &s, &out); st != C.KV_OK {
		return Stats{}, newError("Stats", st, &out)
	}
	return Stats{
		Keys:                           uint64(s.keys),
		KeysWithTTL:                    uint64(s.keys_with_ttl),
		Segments:                       uint64(s.segments),
		DiskBytes:                      uint64(s.disk_bytes),
		DeadBytes:                      uint64(s.dead_bytes),
		Reads:                          uint64(s.reads),
		ReadBytes:                      uint64(s.read_bytes),
		Writes:                         uint64(s.writes),
		WrittenBytes:                   uint64(s.written_bytes),
		Fsyncs:                         uint64(s.fsyncs),
		SyncedWrites:                   uint64(s.synced_writes),
		MeanGroupCommit:                float64(s.mean_group_commit),
		KeyspaceHits:                   uint64(s.keyspace_hits),
		KeyspaceMisses:                 uint64(s.keyspace_misses),
		ExpiredKeysLazy:                uint64(s.expired_keys_lazy),
		ExpiredKeysActive:              uint64(s.expired_keys_active),
		Rotations:                      uint64(s.rotations),
		KeydirHeapBytes:                uint64(s.keydir_heap_bytes),
		RecoveryRecordsReplayed:        uint64(s.recovery_records_replayed),
		RecoveryTornTailBytesTruncated: uint64(s.recovery_torn_tail_bytes_truncated),
		RecoverySalvagedBytesSkipped:   uint64(s.recovery_salvaged_bytes_skipped),
		RecoveryDuration:               time.Duration(s.recovery_duration_ms) * time.Millisecond,
		Poisoned:                       bool(s.poisoned),
	}, nil
}
