package kv

/*
#include "shim.h"
*/
import "C"

import (
	"time"
	"unsafe"
)

// CompactionSummary is what one merge did.
type CompactionSummary struct {
	InputSegments  uint64        // segments merged and deleted; 0 when there was nothing to merge
	OutputSegments uint64        // segments written
	InputBytes     uint64        // total size of the inputs
	OutputBytes    uint64        // total size of the outputs
	ReclaimedBytes uint64        // disk bytes given back (InputBytes - OutputBytes, at least 0)
	RecordsCopied  uint64        // live records copied
	RecordsDropped uint64        // dead or expired records and obsolete tombstones dropped
	TombstonesKept uint64        // tombstones copied because older segments remain
	Duration       time.Duration // wall time of the merge (millisecond precision)
	// RemovalDuration is the part of Duration spent retiring the merged
	// inputs (removing their hints, renaming them to trash); a background
	// thread frees their disk blocks afterwards, and Close waits for it.
	RemovalDuration time.Duration
	// InputsCopiedFromIndex counts the inputs holding string puts only,
	// whose live records were copied from the index's list without reading
	// their dead records.
	InputsCopiedFromIndex uint64
}

// Compact merges every sealed segment now (rotating the active one first
// if it holds records): live records are rewritten with hint files and
// the old segments deleted, while other calls go on. It waits for a merge
// already running. ErrIO, ErrPoisoned.
func (db *DB) Compact() (CompactionSummary, error) {
	h, err := db.acquire("Compact")
	if err != nil {
		return CompactionSummary{}, err
	}
	defer db.mu.RUnlock()
	var s C.kv_compaction_summary
	var out C.kvg_out
	if st := C.kvg_compact(h, &s, &out); st != C.KV_OK {
		return CompactionSummary{}, newError("Compact", st, &out)
	}
	return CompactionSummary{
		InputSegments:         uint64(s.input_segments),
		OutputSegments:        uint64(s.output_segments),
		InputBytes:            uint64(s.input_bytes),
		OutputBytes:           uint64(s.output_bytes),
		ReclaimedBytes:        uint64(s.reclaimed_bytes),
		RecordsCopied:         uint64(s.records_copied),
		RecordsDropped:        uint64(s.records_dropped),
		TombstonesKept:        uint64(s.tombstones_kept),
		Duration:              time.Duration(s.duration_ms) * time.Millisecond,
		RemovalDuration:       time.Duration(s.removal_ms) * time.Millisecond,
		InputsCopiedFromIndex: uint64(s.inputs_copied_from_index),
	}, nil
}

// SegmentInfo describes one segment file.
type SegmentInfo struct {
	ID        uint32 // the number in its file name
	SizeBytes uint64 // bytes written (its length once sealed)
	DeadBytes uint64 // bytes of records no longer live
	Active    bool   // the appended-to segment, never merged
}

// Segments lists the segment files, oldest first.
func (db *DB) Segments() ([]SegmentInfo, error) {
	h, err := db.acquire("Segments")
	if err != nil {
		return nil, err
	}
	defer db.mu.RUnlock()
	var out C.kvg_out
	if st := C.kvg_segments(h, &out); st != C.KV_OK {
		return nil, newError("Segments", st, &out)
	}
	defer C.kvg_msg_free((*C.char)(out.ptr))
	cs := unsafe.Slice((*C.kv_segment_info)(out.ptr), int(out.u64))
	segs := make([]SegmentInfo, len(cs))
	for i, s := range cs {
		segs[i] = SegmentInfo{ID: uint32(s.id), SizeBytes: uint64(s.size_bytes), DeadBytes: uint64(s.dead_bytes), Active: bool(s.active)}
	}
	return segs, nil
}

// ExpiryCycleReport is what one active expiry cycle did.
type ExpiryCycleReport struct {
	Samples         uint64 // samples taken (of up to 20 keys with a TTL each)
	SampledKeys     uint64 // keys with a TTL looked at
	ExpiredKeys     uint64 // expired keys purged
	BudgetExhausted bool   // stopped because Options.ActiveExpiryBudget ran out
}

// RunExpiryCycle runs one active expiry cycle now (Redis's
// activeExpireCycle): samples keys with a TTL and purges the expired ones,
// repeating while more than 25% of a sample had expired, within the time
// budget. Useful with Options.DisableActiveExpiry.
func (db *DB) RunExpiryCycle() (ExpiryCycleReport, error) {
	h, err := db.acquire("RunExpiryCycle")
	if err != nil {
		return ExpiryCycleReport{}, err
	}
	defer db.mu.RUnlock()
	var r C.kv_expiry_cycle_report
	var out C.kvg_out
	if st := C.kvg_run_expiry_cycle(h, &r, &out); st != C.KV_OK {
		return ExpiryCycleReport{}, newError("RunExpiryCycle", st, &out)
	}
	return ExpiryCycleReport{
		Samples:         uint64(r.samples),
		SampledKeys:     uint64(r.sampled_keys),
		ExpiredKeys:     uint64(r.expired_keys),
		BudgetExhausted: bool(r.budget_exhausted),
	}, nil
}
