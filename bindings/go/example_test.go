package kv_test

import (
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	kv "github.com/libkv/libkv/bindings/go"
)

// openExample opens a database in a fresh temporary directory.
func openExample() (*kv.DB, func()) {
	dir, err := os.MkdirTemp("", "kv-example")
	if err != nil {
		log.Fatal(err)
	}
	db, err := kv.Open(dir, kv.Options{Fsync: kv.FsyncAlways})
	if err != nil {
		log.Fatal(err)
	}
	return db, func() { db.Close(); os.RemoveAll(dir) }
}

func Example() {
	db, done := openExample()
	defer done()

	if err := db.Put([]byte("greeting"), []byte("hello")); err != nil {
		log.Fatal(err)
	}
	v, err := db.Get([]byte("greeting"))
	fmt.Println(string(v), err)

	_, err = db.Get([]byte("missing"))
	fmt.Println(errors.Is(err, kv.ErrNotFound))
	// Output:
	// hello <nil>
	// true
}

// allow is a fixed-window rate limiter: at most limit hits per window. The
// first hit of a window starts its clock (Expire NX), so later hits do not
// extend it — the seed's INCR + EXPIRE pattern, without a script, because
// each call is atomic.
func allow(db *kv.DB, client string, limit int64, window time.Duration) (bool, error) {
	key := []byte("ratelimit:" + client)
	n, err := db.Incr(key)
	if err != nil {
		return false, err
	}
	if _, err := db.Expire(key, window, kv.ExpireNX); err != nil {
		return false, err
	}
	return n <= limit, nil
}

func Example_rateLimiter() {
	db, done := openExample()
	defer done()

	for i := 1; i <= 5; i++ {
		ok, err := allow(db, "192.168.1.1", 3, time.Minute)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("request %d allowed: %v\n", i, ok)
	}
	ttl, _ := db.TTL([]byte("ratelimit:192.168.1.1"))
	fmt.Println("window has a TTL:", ttl > 0 && ttl <= time.Minute)
	// Output:
	// request 1 allowed: true
	// request 2 allowed: true
	// request 3 allowed: true
	// request 4 allowed: false
	// request 5 allowed: false
	// window has a TTL: true
}

// acquire takes a lock for owner: SET lock token NX PX ttl.
func acquire(db *kv.DB, name, owner string, ttl time.Duration) bool {
	r, err := db.Set([]byte("lock:"+name), []byte(owner), &kv.SetOptions{NX: true, TTL: ttl})
	if err != nil {
		log.Fatal(err)
	}
	return r.Written
}

// release frees the lock only if owner still holds it (compare-and-delete,
// the seed's Lua script): a worker whose lock expired and was taken by
// another cannot release the other's lock.
func release(db *kv.DB, name, owner string) bool {
	ok, err := db.CompareAndDelete([]byte("lock:"+name), []byte(owner))
	if err != nil {
		log.Fatal(err)
	}
	return ok
}

func Example_lock() {
	db, done := openExample()
	defer done()

	fmt.Println("a acquires:", acquire(db, "report", "worker-a", 30*time.Second))
	fmt.Println("b acquires:", acquire(db, "report", "worker-b", 30*time.Second))
	fmt.Println("b releases:", release(db, "report", "worker-b"))
	fmt.Println("a releases:", release(db, "report", "worker-a"))
	fmt.Println("b acquires:", acquire(db, "report", "worker-b", 30*time.Second))
	// Output:
	// a acquires: true
	// b acquires: false
	// b releases: false
	// a releases: true
	// b acquires: true
}

func Example_session() {
	db, done := openExample()
	defer done()

	// SETEX session:abc 1800 {...}
	_, err := db.Set([]byte("session:abc123"), []byte(`{"page_views":1}`), &kv.SetOptions{TTL: 30 * time.Minute})
	if err != nil {
		log.Fatal(err)
	}
	// Reading it slides the expiry (GETEX ... EX 1800).
	v, err := db.GetEx([]byte("session:abc123"), &kv.GetExOptions{TTL: 30 * time.Minute})
	fmt.Println(string(v), err)
	// Output: {"page_views":1} <nil>
}

func ExampleDB_Batch() {
	db, done := openExample()
	defer done()

	// All or nothing, also across a crash.
	err := db.Batch(func(b *kv.Batch) error {
		b.Put([]byte("user:1:name"), []byte("Alice"))
		b.PutTTL([]byte("user:1:token"), []byte("t0k"), time.Hour)
		b.Delete([]byte("user:1:old"))
		return nil
	})
	fmt.Println(err)
	// Output: <nil>
}

func ExampleDB_ScanPrefix() {
	db, done := openExample()
	defer done()

	for _, k := range []string{"order:7", "user:2", "user:1"} {
		if err := db.Put([]byte(k), []byte("v")); err != nil {
			log.Fatal(err)
		}
	}
	items, errf := db.ScanPrefix([]byte("user:"))
	for k := range items {
		fmt.Println(string(k))
	}
	if err := errf(); err != nil {
		log.Fatal(err)
	}
	// Output:
	// user:1
	// user:2
}

// The seed's leaderboard: ZADD the players in one atomic write, ZINCRBY
// after a game, the top ten with ZREVRANGE 0 9 WITHSCORES, and a player's
// position with ZREVRANK.
func Example_leaderboard() {
	db, done := openExample()
	defer done()
	board := []byte("leaderboard")

	names := []string{"ada", "bob", "cy", "dee", "eve", "fay", "gus", "hal", "ivy", "jo", "kim", "lu"}
	players := make([]kv.Z, len(names))
	for i, name := range names {
		players[i] = kv.Z{Member: []byte(name), Score: float64(100 * ((i * 7) % len(names)))}
	}
	if _, err := db.ZAdd(board, players, nil); err != nil {
		log.Fatal(err)
	}
	// A game ends: bob gains 950 points.
	if _, err := db.ZIncrBy(board, 950, []byte("bob")); err != nil {
		log.Fatal(err)
	}

	top, err := db.ZRevRange(board, 0, 9)
	if err != nil {
		log.Fatal(err)
	}
	for i, p := range top {
		fmt.Printf("%2d. %-4s %5.0f\n", i+1, p.Member, p.Score)
	}

	rank, err := db.ZRevRank(board, []byte("eve"))
	fmt.Println("eve is #", rank+1, err)
	_, err = db.ZRevRank(board, []byte("zed"))
	fmt.Println("zed ranked:", !errors.Is(err, kv.ErrNotFound))
	// Output:
	//  1. bob   1650
	//  2. fay   1100
	//  3. kim   1000
	//  4. dee    900
	//  5. ivy    800
	//  6. gus    600
	//  7. lu     500
	//  8. eve    400
	//  9. jo     300
	// 10. cy     200
	// eve is # 8 <nil>
	// zed ranked: false
}
