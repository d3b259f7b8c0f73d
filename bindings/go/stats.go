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
	ExpiredKeys                    uint64        // expired keys purged, lazy plus active (Redis expired_keys)
	Merges                         uint64        // merges (compactions) completed since open
	MergeReclaimedBytes            uint64        // disk bytes those merges gave back
	LastMergeDuration              time.Duration // wall time of the latest merge
	MergeFailures                  uint64        // merges that failed (a failed merge changes nothing)
	RecoverySegmentsScanned        uint64        // segments whose records were scanned on open
	RecoverySegmentsFromHints      uint64        // segments loaded from hint files on open
	RecoveryZeroTailBytesTrimmed   uint64        // zero-filled tail bytes trimmed on open
	RecoveryIncompleteFilesRemoved uint64        // files of an interrupted write or merge removed on open
	RecoveryMergesCompleted        uint64        // committed but unfinished merges completed on open
	ZSetHeapBytes                  uint64        // approximate heap bytes of every sorted set's members
	// GroupCommitHistogram[i] counts fsyncs covering 2^i to 2^(i+1)-1
	// writes (the last bucket open-ended).
	GroupCommitHistogram [GroupCommitBuckets]uint64
}

// GroupCommitBuckets is the length of Stats.GroupCommitHistogram.
const GroupCommitBuckets = C.KV_GROUP_COMMIT_BUCKETS

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
	st := Stats{
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
		ExpiredKeys:                    uint64(s.expired_keys),
		Merges:                         uint64(s.merges),
		MergeReclaimedBytes:            uint64(s.merge_reclaimed_bytes),
		LastMergeDuration:              time.Duration(s.last_merge_duration_ms) * time.Millisecond,
		MergeFailures:                  uint64(s.merge_failures),
		RecoverySegmentsScanned:        uint64(s.recovery_segments_scanned),
		RecoverySegmentsFromHints:      uint64(s.recovery_segments_from_hints),
		RecoveryZeroTailBytesTrimmed:   uint64(s.recovery_zero_tail_bytes_trimmed),
		RecoveryIncompleteFilesRemoved: uint64(s.recovery_incomplete_files_removed),
		RecoveryMergesCompleted:        uint64(s.recovery_merges_completed),
		ZSetHeapBytes:                  uint64(s.zset_heap_bytes),
	}
	for i := range st.GroupCommitHistogram {
		st.GroupCommitHistogram[i] = uint64(s.group_commit_histogram[i])
	}
	return st, nil
}
