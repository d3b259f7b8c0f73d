package kv

import (
	"fmt"
	"testing"
)

var policies = []struct {
	name   string
	policy FsyncPolicy
}{{"always", FsyncAlways}, {"everysec", FsyncEverySec}, {"no", FsyncNo}}

// BenchmarkSet: one goroutine, 16-byte keys over a 10k key space, 100-byte
// values. Under FsyncAlways each Set waits for its fsync.
func BenchmarkSet(b *testing.B) {
	for _, p := range policies {
		b.Run(p.name, func(b *testing.B) {
			db, _ := openTest(b, Options{Fsync: p.policy})
			val := make([]byte, 100)
			b.SetBytes(int64(len(val)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := db.Put([]byte(fmt.Sprintf("key-%010d", i%10000)), val); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSetParallel: GOMAXPROCS goroutines (group commit shares fsyncs).
func BenchmarkSetParallel(b *testing.B) {
	for _, p := range policies {
		b.Run(p.name, func(b *testing.B) {
			db, _ := openTest(b, Options{Fsync: p.policy})
			val := make([]byte, 100)
			b.SetBytes(int64(len(val)))
			b.SetParallelism(8) // many writers, so fsyncs can be shared
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					if err := db.Put([]byte(fmt.Sprintf("key-%010d", i%10000)), val); err != nil {
						b.Error(err)
						return
					}
					i++
				}
			})
		})
	}
}

// BenchmarkGet: hits on 10k keys of 100-byte values (the fsync policy does
// not touch reads; measured per policy all the same).
func BenchmarkGet(b *testing.B) {
	for _, p := range policies {
		b.Run(p.name, func(b *testing.B) {
			db, _ := openTest(b, Options{Fsync: p.policy})
			val := make([]byte, 100)
			keys := make([][]byte, 10000)
			bt := NewBatch()
			for i := range keys {
				keys[i] = []byte(fmt.Sprintf("key-%010d", i))
				bt.Put(keys[i], val)
			}
			if err := db.Write(bt); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(val)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := db.Get(keys[i%len(keys)]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkGetMiss: lookups of absent keys (ErrNotFound path).
func BenchmarkGetMiss(b *testing.B) {
	db, _ := openTest(b, Options{Fsync: FsyncNo})
	key := []byte("absent")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := db.Get(key); err != ErrNotFound {
			b.Fatal(err)
		}
	}
}
