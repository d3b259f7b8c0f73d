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

// zsetBench opens an FsyncNo database holding one sorted set of n members
// ("p-0000000042" scored 42), written in one ZAdd.
func zsetBench(b *testing.B, n int) (*DB, []byte, [][]byte) {
	db, _ := openTest(b, Options{Fsync: FsyncNo})
	key := []byte("board")
	members := make([][]byte, n)
	zs := make([]Z, n)
	for i := range zs {
		members[i] = []byte(fmt.Sprintf("p-%010d", i))
		zs[i] = Z{Member: members[i], Score: float64(i)}
	}
	if _, err := db.ZAdd(key, zs, nil); err != nil {
		b.Fatal(err)
	}
	return db, key, members
}

// BenchmarkZAdd: score updates of existing members of a 10k-member set,
// one ZAdd of one member per op (FsyncNo: the binding and engine cost,
// not the disk's).
func BenchmarkZAdd(b *testing.B) {
	db, key, members := zsetBench(b, 10000)
	one := make([]Z, 1)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		one[0] = Z{Member: members[i%len(members)], Score: float64(i)}
		if _, err := db.ZAdd(key, one, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkZIncrBy: the leaderboard's update, on a 10k-member set.
func BenchmarkZIncrBy(b *testing.B) {
	db, key, members := zsetBench(b, 10000)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := db.ZIncrBy(key, 1, members[i%len(members)]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkZScore: point lookups in a 10k-member set.
func BenchmarkZScore(b *testing.B) {
	db, key, members := zsetBench(b, 10000)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := db.ZScore(key, members[i%len(members)]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkZRevRank: a player's position in a 10k-member set.
func BenchmarkZRevRank(b *testing.B) {
	db, key, members := zsetBench(b, 10000)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := db.ZRevRank(key, members[i%len(members)]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkZRevRangeTop10: the leaderboard's top ten with scores
// (ZREVRANGE 0 9 WITHSCORES) of a 10k-member set.
func BenchmarkZRevRangeTop10(b *testing.B) {
	db, key, _ := zsetBench(b, 10000)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if top, err := db.ZRevRange(key, 0, 9); err != nil || len(top) != 10 {
			b.Fatal(len(top), err)
		}
	}
}

// BenchmarkZRangeByScore100: 100 members by score with LIMIT from a
// 10k-member set.
func BenchmarkZRangeByScore100(b *testing.B) {
	db, key, _ := zsetBench(b, 10000)
	args := ZRangeArgs{By: ByScore, Min: "(5000", Max: "+inf", Limit: true, Count: 100}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if r, err := db.ZRange(key, args); err != nil || len(r) != 100 {
			b.Fatal(len(r), err)
		}
	}
}
