/* shim.h: C helpers of the Go binding. Each helper makes one libkv call and,
 * on failure, copies the thread-local last-error message in the same C call,
 * so the message always belongs to that call whatever OS thread the
 * goroutine runs on next. No helper keeps a pointer it is given. */

#ifndef KV_GO_SHIM_H
#define KV_GO_SHIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kv.h"

/* Out-parameters of one call. Go allocates it; it holds only C pointers. */
typedef struct {
    kv_buf buf;   /* value returned by libkv; freed with kv_buf_free */
    kv_slice key; /* iterator item key (borrowed from the iterator) */
    kv_slice val; /* iterator item value (borrowed from the iterator) */
    int64_t i64;
    uint64_t u64;
    double f64;
    bool flag;
    void *ptr;    /* kv_db * or kv_iter * handed to Go */
    char *msg;    /* malloc'd last-error message on failure, else NULL */
} kvg_out;

/* Options of kvg_open; zero fields (and -1 tri-states) keep the default. */
typedef struct {
    int fsync;
    int recovery;
    uint64_t max_segment_size_bytes;
    size_t max_key_size_bytes;
    size_t max_value_size_bytes;
    size_t max_batch_ops;
    size_t max_batch_size_bytes;
    size_t compression_threshold_bytes;
    int preallocate;     /* -1 default, 0 false, 1 true */
    int auto_compaction; /* -1 default, 0 false, 1 true */
    int active_expiry;   /* -1 default, 0 false, 1 true */
    int compaction_direct_io; /* -1 default, 0 false, 1 true */
    double compaction_min_dead_ratio;
    uint64_t compaction_min_dead_bytes;
    uint64_t compaction_rate_limit_bytes_per_sec;
    uint64_t compaction_busy_rate_limit_bytes_per_sec; /* 0 default, UINT64_MAX unthrottled */
    uint32_t compaction_threads; /* 0 default */
    uint64_t active_expiry_interval_ms;
    uint64_t active_expiry_budget_ms;
} kvg_open_opts;

/* A byte to point at for empty byte strings. */
extern uint8_t kvg_empty[1];

void kvg_msg_free(char *msg);

kv_status kvg_open(const char *path, const kvg_open_opts *o, kvg_out *out);
kv_status kvg_close(kv_db *db, kvg_out *out);
kv_status kvg_get(kv_db *db, const uint8_t *k, size_t kl, uint8_t *dst, size_t dst_cap, kvg_out *out);
kv_status kvg_put(kv_db *db, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl, kvg_out *out);
kv_status kvg_delete(kv_db *db, const uint8_t *k, size_t kl, kvg_out *out);
kv_status kvg_exists(kv_db *db, const uint8_t *k, size_t kl, kvg_out *out);
kv_status kvg_len(kv_db *db, kvg_out *out);
kv_status kvg_sync(kv_db *db, kvg_out *out);
kv_status kvg_stats(kv_db *db, kv_stats *stats, kvg_out *out);

kv_status kvg_set(kv_db *db, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl, int32_t expiry_kind,
                  int64_t expiry, int32_t condition, bool get, kvg_out *out);
kv_status kvg_getex(kv_db *db, const uint8_t *k, size_t kl, int32_t kind, int64_t t, kvg_out *out);
kv_status kvg_getdel(kv_db *db, const uint8_t *k, size_t kl, kvg_out *out);
kv_status kvg_append(kv_db *db, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl, kvg_out *out);
kv_status kvg_strlen(kv_db *db, const uint8_t *k, size_t kl, kvg_out *out);
kv_status kvg_getrange(kv_db *db, const uint8_t *k, size_t kl, int64_t start, int64_t end, kvg_out *out);
kv_status kvg_setrange(kv_db *db, const uint8_t *k, size_t kl, int64_t off, const uint8_t *v, size_t vl,
                       kvg_out *out);
kv_status kvg_incrby(kv_db *db, const uint8_t *k, size_t kl, int64_t delta, kvg_out *out);
kv_status kvg_decrby(kv_db *db, const uint8_t *k, size_t kl, int64_t delta, kvg_out *out);
kv_status kvg_incrbyfloat(kv_db *db, const uint8_t *k, size_t kl, const uint8_t *inc, size_t incl, kvg_out *out);
kv_status kvg_pexpire(kv_db *db, const uint8_t *k, size_t kl, int64_t ms, int32_t cond, kvg_out *out);
kv_status kvg_pexpireat(kv_db *db, const uint8_t *k, size_t kl, int64_t unix_ms, int32_t cond, kvg_out *out);
kv_status kvg_persist(kv_db *db, const uint8_t *k, size_t kl, kvg_out *out);
kv_status kvg_pttl(kv_db *db, const uint8_t *k, size_t kl, kvg_out *out);
kv_status kvg_pexpiretime(kv_db *db, const uint8_t *k, size_t kl, kvg_out *out);
kv_status kvg_compare_and_delete(kv_db *db, const uint8_t *k, size_t kl, const uint8_t *t, size_t tl, kvg_out *out);
kv_status kvg_compare_and_swap(kv_db *db, const uint8_t *k, size_t kl, const uint8_t *e, size_t el,
                               const uint8_t *v, size_t vl, int32_t expiry_kind, int64_t expiry, kvg_out *out);

/* Multi-key calls take the keys (and values) packed end to end in one
 * buffer plus their lengths, so no Go memory holding Go pointers crosses. */
kv_status kvg_mget(kv_db *db, const uint8_t *keys, const size_t *key_lens, size_t n, kv_buf *values, kvg_out *out);
kv_status kvg_mset(kv_db *db, const uint8_t *keys, const size_t *key_lens, const uint8_t *vals,
                   const size_t *val_lens, size_t n, bool nx, kvg_out *out);

/* Batch op kinds of kvg_write_batch. */
enum { KVG_BATCH_PUT = 0, KVG_BATCH_DELETE = 1 };
kv_status kvg_write_batch(kv_db *db, size_t n, const uint8_t *kinds, const uint8_t *keys, const size_t *key_lens,
                          const uint8_t *vals, const size_t *val_lens, const uint64_t *expire_at_ms, kvg_out *out);

kv_status kvg_scan(kv_db *db, const uint8_t *prefix, size_t prefix_len, bool keys_only, kvg_out *out);
kv_status kvg_iter_next(kv_iter *it, kvg_out *out);

/* Sorted sets. Members (and keys of the *store calls) come packed like
 * the keys of kvg_mget. A call returning members leaves the
 * kv_zset_entries in out->ptr, its length in out->u64 and the total bytes
 * of its members in out->i64; the caller then sizes Go buffers and calls
 * kvg_entries_take, which copies and frees it. */
kv_status kvg_zadd(kv_db *db, const uint8_t *k, size_t kl, uint32_t flags, const double *scores,
                   const uint8_t *members, const size_t *member_lens, size_t n, kvg_out *out);
kv_status kvg_zincrby(kv_db *db, const uint8_t *k, size_t kl, double inc, const uint8_t *m, size_t ml, kvg_out *out);
kv_status kvg_zrem(kv_db *db, const uint8_t *k, size_t kl, const uint8_t *members, const size_t *member_lens, size_t n,
                   kvg_out *out);
kv_status kvg_zscore(kv_db *db, const uint8_t *k, size_t kl, const uint8_t *m, size_t ml, kvg_out *out);
kv_status kvg_zmscore(kv_db *db, const uint8_t *k, size_t kl, const uint8_t *members, const size_t *member_lens,
                      size_t n, double *scores, bool *found, kvg_out *out);
kv_status kvg_zcard(kv_db *db, const uint8_t *k, size_t kl, kvg_out *out);
/* kind: 0 ZCOUNT, 1 ZLEXCOUNT, 2 ZREMRANGEBYSCORE, 3 ZREMRANGEBYLEX */
enum { KVG_ZCOUNT = 0, KVG_ZLEXCOUNT = 1, KVG_ZREMRANGEBYSCORE = 2, KVG_ZREMRANGEBYLEX = 3 };
kv_status kvg_zbounds(kv_db *db, int kind, const uint8_t *k, size_t kl, const uint8_t *min, size_t minl,
                      const uint8_t *max, size_t maxl, kvg_out *out);
kv_status kvg_zrank(kv_db *db, const uint8_t *k, size_t kl, const uint8_t *m, size_t ml, bool rev, kvg_out *out);
kv_status kvg_zrange(kv_db *db, const uint8_t *k, size_t kl, int32_t by, int64_t start, int64_t stop,
                     const uint8_t *min, size_t minl, const uint8_t *max, size_t maxl, bool rev, bool has_limit,
                     int64_t offset, int64_t count, kvg_out *out);
kv_status kvg_zpop(kv_db *db, const uint8_t *k, size_t kl, uint64_t count, bool max, kvg_out *out);
kv_status kvg_zremrangebyrank(kv_db *db, const uint8_t *k, size_t kl, int64_t start, int64_t stop, kvg_out *out);
kv_status kvg_zrandmember(kv_db *db, const uint8_t *k, size_t kl, int64_t count, kvg_out *out);
enum { KVG_ZUNIONSTORE = 0, KVG_ZINTERSTORE = 1, KVG_ZDIFFSTORE = 2 };
kv_status kvg_zstore(kv_db *db, int kind, const uint8_t *dest, size_t dl, const uint8_t *keys, const size_t *key_lens,
                     size_t n, const double *weights, int32_t aggregate, kvg_out *out);
/* Copies the members of `e` end to end into `dst` (out->i64 bytes), their
 * lengths into `lens` and scores into `scores` (out->u64 elements each;
 * NULL when 0), then frees `e`. */
void kvg_entries_take(kv_zset_entries *e, uint8_t *dst, size_t *lens, double *scores);

/* Compaction and expiry. kvg_segments leaves a malloc'd kv_segment_info
 * array in out->ptr (free with kvg_msg_free) and its length in out->u64. */
kv_status kvg_compact(kv_db *db, kv_compaction_summary *summary, kvg_out *out);
kv_status kvg_run_expiry_cycle(kv_db *db, kv_expiry_cycle_report *report, kvg_out *out);
kv_status kvg_segments(kv_db *db, kvg_out *out);

#endif
