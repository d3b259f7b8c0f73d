/* shim.c: see shim.h. */

#include <stdlib.h>
#include <string.h>

#include "shim.h"

/* Copies the calling thread's last-error message into out->msg when `st` is
 * a failure. KV_NOT_FOUND is an answer, not a failure: no message. */
static kv_status finish(kv_status st, kvg_out *out) {
    if (st == KV_OK || st == KV_NOT_FOUND) {
        return st;
    }
    const char *m = kv_last_error_message();
    size_t n = strlen(m);
    out->msg = malloc(n + 1);
    if (out->msg != NULL) {
        memcpy(out->msg, m, n + 1);
    }
    return st;
}

uint8_t kvg_empty[1];

void kvg_msg_free(char *msg) { free(msg); }

kv_status kvg_open(const char *path, const kvg_open_opts *o, kvg_out *out) {
    kv_options *opts = kv_options_new();
    if (opts == NULL) {
        return finish(KV_INTERNAL, out);
    }
    kv_status st = kv_options_set_fsync(opts, o->fsync);
    if (st == KV_OK) st = kv_options_set_recovery(opts, o->recovery);
    if (st == KV_OK && o->max_segment_size_bytes) st = kv_options_set_max_segment_size(opts, o->max_segment_size_bytes);
    if (st == KV_OK && o->max_key_size_bytes) st = kv_options_set_max_key_size(opts, o->max_key_size_bytes);
    if (st == KV_OK && o->max_value_size_bytes) st = kv_options_set_max_value_size(opts, o->max_value_size_bytes);
    if (st == KV_OK && o->max_batch_ops) st = kv_options_set_max_batch_ops(opts, o->max_batch_ops);
    if (st == KV_OK && o->max_batch_size_bytes) st = kv_options_set_max_batch_size(opts, o->max_batch_size_bytes);
    if (st == KV_OK && o->compression_threshold_bytes)
        st = kv_options_set_compression_threshold(opts, o->compression_threshold_bytes);
    if (st == KV_OK && o->preallocate >= 0) st = kv_options_set_preallocate(opts, o->preallocate != 0);
    if (st == KV_OK && o->auto_compaction >= 0) st = kv_options_set_auto_compaction(opts, o->auto_compaction != 0);
    if (st == KV_OK && o->active_expiry >= 0) st = kv_options_set_active_expiry(opts, o->active_expiry != 0);
    if (st == KV_OK && o->compaction_direct_io >= 0)
        st = kv_options_set_compaction_direct_io(opts, o->compaction_direct_io != 0);
    if (st == KV_OK && o->compaction_min_dead_ratio != 0.0)
        st = kv_options_set_compaction_min_dead_ratio(opts, o->compaction_min_dead_ratio);
    if (st == KV_OK && o->compaction_min_dead_bytes)
        st = kv_options_set_compaction_min_dead_bytes(opts, o->compaction_min_dead_bytes);
    if (st == KV_OK && o->compaction_rate_limit_bytes_per_sec)
        st = kv_options_set_compaction_rate_limit(opts, o->compaction_rate_limit_bytes_per_sec);
    if (st == KV_OK && o->compaction_busy_rate_limit_bytes_per_sec)
        st = kv_options_set_compaction_busy_rate_limit(
            opts, o->compaction_busy_rate_limit_bytes_per_sec == UINT64_MAX ? 0 : o->compaction_busy_rate_limit_bytes_per_sec);
    if (st == KV_OK && o->compaction_threads)
        st = kv_options_set_compaction_threads(opts, o->compaction_threads);
    if (st == KV_OK && o->active_expiry_interval_ms)
        st = kv_options_set_active_expiry_interval_ms(opts, o->active_expiry_interval_ms);
    if (st == KV_OK && o->active_expiry_budget_ms)
        st = kv_options_set_active_expiry_budget_ms(opts, o->active_expiry_budget_ms);
    if (st == KV_OK) {
        kv_db *db = NULL;
        st = kv_db_open(path, opts, &db);
        out->ptr = db;
    }
    st = finish(st, out); /* before kv_options_free, which must not matter but is a libkv call */
    kv_options_free(opts);
    return st;
}

kv_status kvg_close(kv_db *db, kvg_out *out) { return finish(kv_db_close(db), out); }

kv_status kvg_get(kv_db *db, const uint8_t *k, size_t kl, uint8_t *dst, size_t dst_cap, kvg_out *out) {
    /* Small values land straight in the caller's buffer (one crossing, no
     * kv_buf to free); a larger one comes back in out->buf. */
    size_t len = 0;
    kv_status st = kv_db_get_into(db, k, kl, dst, dst_cap, &len);
    out->u64 = len;
    if (st == KV_BUFFER_TOO_SMALL) {
        st = kv_db_get(db, k, kl, &out->buf);
    }
    return finish(st, out);
}

kv_status kvg_put(kv_db *db, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl, kvg_out *out) {
    return finish(kv_db_put(db, k, kl, v, vl), out);
}

kv_status kvg_delete(kv_db *db, const uint8_t *k, size_t kl, kvg_out *out) {
    return finish(kv_db_delete(db, k, kl, &out->flag), out);
}

kv_status kvg_exists(kv_db *db, const uint8_t *k, size_t kl, kvg_out *out) {
    return finish(kv_db_exists(db, k, kl, &out->flag), out);
}

kv_status kvg_len(kv_db *db, kvg_out *out) { return finish(kv_db_len(db, &out->u64), out); }

kv_status kvg_sync(kv_db *db, kvg_out *out) { return finish(kv_db_sync(db), out); }

kv_status kvg_stats(kv_db *db, kv_stats *stats, kvg_out *out) { return finish(kv_db_stats(db, stats), out); }

kv_status kvg_set(kv_db *db, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl, int32_t expiry_kind,
                  int64_t expiry, int32_t condition, bool get, kvg_out *out) {
    kv_set_args a = {.expiry_kind = expiry_kind, .expiry = expiry, .condition = condition, .get = get};
    return finish(kv_db_set(db, k, kl, v, vl, &a, &out->flag, &out->buf), out);
}

kv_status kvg_getex(kv_db *db, const uint8_t *k, size_t kl, int32_t kind, int64_t t, kvg_out *out) {
    return finish(kv_db_getex(db, k, kl, kind, t, &out->buf), out);
}

kv_status kvg_getdel(kv_db *db, const uint8_t *k, size_t kl, kvg_out *out) {
    return finish(kv_db_getdel(db, k, kl, &out->buf), out);
}

kv_status kvg_append(kv_db *db, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl, kvg_out *out) {
    return finish(kv_db_append(db, k, kl, v, vl, &out->u64), out);
}

kv_status kvg_strlen(kv_db *db, const uint8_t *k, size_t kl, kvg_out *out) {
    return finish(kv_db_strlen(db, k, kl, &out->u64), out);
}

kv_status kvg_getrange(kv_db *db, const uint8_t *k, size_t kl, int64_t start, int64_t end, kvg_out *out) {
    return finish(kv_db_getrange(db, k, kl, start, end, &out->buf), out);
}

kv_status kvg_setrange(kv_db *db, const uint8_t *k, size_t kl, int64_t off, const uint8_t *v, size_t vl,
                       kvg_out *out) {
    return finish(kv_db_setrange(db, k, kl, off, v, vl, &out->u64), out);
}

kv_status kvg_incrby(kv_db *db, const uint8_t *k, size_t kl, int64_t delta, kvg_out *out) {
    return finish(kv_db_incrby(db, k, kl, delta, &out->i64), out);
}

kv_status kvg_decrby(kv_db *db, const uint8_t *k, size_t kl, int64_t delta, kvg_out *out) {
    return finish(kv_db_decrby(db, k, kl, delta, &out->i64), out);
}

kv_status kvg_incrbyfloat(kv_db *db, const uint8_t *k, size_t kl, const uint8_t *inc, size_t incl, kvg_out *out) {
    return finish(kv_db_incrbyfloat(db, k, kl, inc, incl, &out->buf), out);
}

kv_status kvg_pexpire(kv_db *db, const uint8_t *k, size_t kl, int64_t ms, int32_t cond, kvg_out *out) {
    return finish(kv_db_pexpire(db, k, kl, ms, cond, &out->flag), out);
}

kv_status kvg_pexpireat(kv_db *db, const uint8_t *k, size_t kl, int64_t unix_ms, int32_t cond, kvg_out *out) {
    return finish(kv_db_pexpireat(db, k, kl, unix_ms, cond, &out->flag), out);
}

kv_status kvg_persist(kv_db *db, const uint8_t *k, size_t kl, kvg_out *out) {
    return finish(kv_db_persist(db, k, kl, &out->flag), out);
}

kv_status kvg_pttl(kv_db *db, const uint8_t *k, size_t kl, kvg_out *out) {
    return finish(kv_db_pttl(db, k, kl, &out->i64), out);
}

kv_status kvg_pexpiretime(kv_db *db, const uint8_t *k, size_t kl, kvg_out *out) {
    return finish(kv_db_pexpiretime(db, k, kl, &out->i64), out);
}

kv_status kvg_compare_and_delete(kv_db *db, const uint8_t *k, size_t kl, const uint8_t *t, size_t tl, kvg_out *out) {
    return finish(kv_db_compare_and_delete(db, k, kl, t, tl, &out->flag), out);
}

kv_status kvg_compare_and_swap(kv_db *db, const uint8_t *k, size_t kl, const uint8_t *e, size_t el,
                               const uint8_t *v, size_t vl, int32_t expiry_kind, int64_t expiry, kvg_out *out) {
    return finish(kv_db_compare_and_swap(db, k, kl, e, el, v, vl, expiry_kind, expiry, &out->flag), out);
}

/* Slices over `n` byte strings packed end to end in `buf`; malloc'd (the
 * caller frees), NULL when out of memory. A NULL `buf` (every string
 * empty) gives NULL pointers, which libkv reads as empty. */
static kv_slice *unpack(const uint8_t *buf, const size_t *lens, size_t n) {
    kv_slice *s = malloc((n ? n : 1) * sizeof *s);
    if (s == NULL) {
        return NULL;
    }
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        s[i].data = buf ? buf + off : NULL;
        s[i].len = lens[i];
        off += lens[i];
    }
    return s;
}

kv_status kvg_mget(kv_db *db, const uint8_t *keys, const size_t *key_lens, size_t n, kv_buf *values, kvg_out *out) {
    kv_slice *ks = unpack(keys, key_lens, n);
    if (ks == NULL) {
        return KV_INTERNAL;
    }
    kv_status st = kv_db_mget(db, ks, n, values);
    free(ks);
    return finish(st, out);
}

kv_status kvg_mset(kv_db *db, const uint8_t *keys, const size_t *key_lens, const uint8_t *vals,
                   const size_t *val_lens, size_t n, bool nx, kvg_out *out) {
    kv_slice *ks = unpack(keys, key_lens, n);
    kv_slice *vs = unpack(vals, val_lens, n);
    kv_status st = KV_INTERNAL;
    if (ks != NULL && vs != NULL) {
        if (nx) {
            st = kv_db_msetnx(db, ks, vs, n, &out->flag);
        } else {
            st = kv_db_mset(db, ks, vs, n);
            out->flag = st == KV_OK;
        }
        st = finish(st, out);
    }
    free(ks);
    free(vs);
    return st;
}

kv_status kvg_write_batch(kv_db *db, size_t n, const uint8_t *kinds, const uint8_t *keys, const size_t *key_lens,
                          const uint8_t *vals, const size_t *val_lens, const uint64_t *expire_at_ms, kvg_out *out) {
    kv_batch *b = kv_batch_new();
    if (b == NULL) {
        return finish(KV_INTERNAL, out);
    }
    kv_status st = KV_OK;
    size_t koff = 0, voff = 0;
    for (size_t i = 0; i < n && st == KV_OK; i++) {
        const uint8_t *k = keys ? keys + koff : NULL;
        koff += key_lens[i];
        if (kinds[i] == KVG_BATCH_DELETE) {
            st = kv_batch_delete(b, k, key_lens[i]);
        } else {
            const uint8_t *v = vals ? vals + voff : NULL;
            voff += val_lens[i];
            st = kv_batch_put_ex(b, k, key_lens[i], v, val_lens[i], expire_at_ms[i]);
        }
    }
    if (st == KV_OK) {
        st = kv_db_write_batch(db, b);
    }
    st = finish(st, out);
    kv_batch_free(b);
    return st;
}

kv_status kvg_scan(kv_db *db, const uint8_t *prefix, size_t prefix_len, bool keys_only, kvg_out *out) {
    kv_iter *it = NULL;
    kv_status st = keys_only ? kv_db_keys(db, prefix, prefix_len, &it) : kv_db_scan_prefix(db, prefix, prefix_len, &it);
    out->ptr = it;
    return finish(st, out);
}

kv_status kvg_iter_next(kv_iter *it, kvg_out *out) { return finish(kv_iter_next(it, &out->key, &out->val), out); }

/* ---- Sorted sets ---- */

/* Leaves a successful call's entries for kvg_entries_take (see shim.h). */
static kv_status entries_out(kv_status st, kv_zset_entries *e, kvg_out *out) {
    if (st == KV_OK) {
        size_t n = kv_zset_entries_len(e);
        uint64_t total = 0;
        for (size_t i = 0; i < n; i++) {
            kv_slice m = {NULL, 0};
            kv_zset_entries_get(e, i, &m, NULL);
            total += m.len;
        }
        out->ptr = e;
        out->u64 = n;
        out->i64 = (int64_t)total;
    } else {
        kv_zset_entries_free(e); /* NULL on failure; freed to be safe */
    }
    return finish(st, out);
}

void kvg_entries_take(kv_zset_entries *e, uint8_t *dst, size_t *lens, double *scores) {
    size_t n = kv_zset_entries_len(e);
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        kv_slice m = {NULL, 0};
        double s = 0;
        kv_zset_entries_get(e, i, &m, &s);
        if (m.len > 0) {
            memcpy(dst + off, m.data, m.len);
        }
        off += m.len;
        lens[i] = m.len;
        scores[i] = s;
    }
    kv_zset_entries_free(e);
}

kv_status kvg_zadd(kv_db *db, const uint8_t *k, size_t kl, uint32_t flags, const double *scores,
                   const uint8_t *members, const size_t *member_lens, size_t n, kvg_out *out) {
    kv_slice *ms = unpack(members, member_lens, n);
    if (ms == NULL) {
        return KV_INTERNAL;
    }
    kv_zadd_reply r = {0};
    kv_status st = kv_zset_add(db, k, kl, flags, scores, ms, n, &r);
    free(ms);
    out->u64 = r.count;
    out->f64 = r.score;
    out->flag = r.has_score;
    return finish(st, out);
}

kv_status kvg_zincrby(kv_db *db, const uint8_t *k, size_t kl, double inc, const uint8_t *m, size_t ml, kvg_out *out) {
    return finish(kv_zset_incrby(db, k, kl, inc, m, ml, &out->f64), out);
}

kv_status kvg_zrem(kv_db *db, const uint8_t *k, size_t kl, const uint8_t *members, const size_t *member_lens, size_t n,
                   kvg_out *out) {
    kv_slice *ms = unpack(members, member_lens, n);
    if (ms == NULL) {
        return KV_INTERNAL;
    }
    kv_status st = kv_zset_rem(db, k, kl, ms, n, &out->u64);
    free(ms);
    return finish(st, out);
}

kv_status kvg_zscore(kv_db *db, const uint8_t *k, size_t kl, const uint8_t *m, size_t ml, kvg_out *out) {
    return finish(kv_zset_score(db, k, kl, m, ml, &out->f64), out);
}

kv_status kvg_zmscore(kv_db *db, const uint8_t *k, size_t kl, const uint8_t *members, const size_t *member_lens,
                      size_t n, double *scores, bool *found, kvg_out *out) {
    kv_slice *ms = unpack(members, member_lens, n);
    if (ms == NULL) {
        return KV_INTERNAL;
    }
    kv_status st = kv_zset_mscore(db, k, kl, ms, n, scores, found);
    free(ms);
    return finish(st, out);
}

kv_status kvg_zcard(kv_db *db, const uint8_t *k, size_t kl, kvg_out *out) {
    return finish(kv_zset_card(db, k, kl, &out->u64), out);
}

kv_status kvg_zbounds(kv_db *db, int kind, const uint8_t *k, size_t kl, const uint8_t *min, size_t minl,
                      const uint8_t *max, size_t maxl, kvg_out *out) {
    kv_status st;
    switch (kind) {
    case KVG_ZCOUNT:
        st = kv_zset_count(db, k, kl, min, minl, max, maxl, &out->u64);
        break;
    case KVG_ZLEXCOUNT:
        st = kv_zset_lexcount(db, k, kl, min, minl, max, maxl, &out->u64);
        break;
    case KVG_ZREMRANGEBYSCORE:
        st = kv_zset_remrangebyscore(db, k, kl, min, minl, max, maxl, &out->u64);
        break;
    default:
        st = kv_zset_remrangebylex(db, k, kl, min, minl, max, maxl, &out->u64);
        break;
    }
    return finish(st, out);
}

kv_status kvg_zrank(kv_db *db, const uint8_t *k, size_t kl, const uint8_t *m, size_t ml, bool rev, kvg_out *out) {
    return finish(kv_zset_rank(db, k, kl, m, ml, rev, &out->u64, &out->f64), out);
}

kv_status kvg_zrange(kv_db *db, const uint8_t *k, size_t kl, int32_t by, int64_t start, int64_t stop,
                     const uint8_t *min, size_t minl, const uint8_t *max, size_t maxl, bool rev, bool has_limit,
                     int64_t offset, int64_t count, kvg_out *out) {
    kv_zrange_args a = {
        .by = by,
        .start = start,
        .stop = stop,
        .min = {min, minl},
        .max = {max, maxl},
        .rev = rev,
        .has_limit = has_limit,
        .offset = offset,
        .count = count,
    };
    kv_zset_entries *e = NULL;
    /* Separate statement: the order of evaluation of call arguments is
     * unspecified, so `e` must be read after the call has set it. */
    kv_status st = kv_zset_range(db, k, kl, &a, &e);
    return entries_out(st, e, out);
}

kv_status kvg_zpop(kv_db *db, const uint8_t *k, size_t kl, uint64_t count, bool max, kvg_out *out) {
    kv_zset_entries *e = NULL;
    kv_status st = max ? kv_zset_popmax(db, k, kl, count, &e) : kv_zset_popmin(db, k, kl, count, &e);
    return entries_out(st, e, out);
}

kv_status kvg_zremrangebyrank(kv_db *db, const uint8_t *k, size_t kl, int64_t start, int64_t stop, kvg_out *out) {
    return finish(kv_zset_remrangebyrank(db, k, kl, start, stop, &out->u64), out);
}

kv_status kvg_zrandmember(kv_db *db, const uint8_t *k, size_t kl, int64_t count, kvg_out *out) {
    kv_zset_entries *e = NULL;
    kv_status st = kv_zset_randmember(db, k, kl, count, true, &e); /* before reading e, as in kvg_zrange */
    return entries_out(st, e, out);
}

kv_status kvg_zstore(kv_db *db, int kind, const uint8_t *dest, size_t dl, const uint8_t *keys, const size_t *key_lens,
                     size_t n, const double *weights, int32_t aggregate, kvg_out *out) {
    kv_slice *ks = unpack(keys, key_lens, n);
    if (ks == NULL) {
        return KV_INTERNAL;
    }
    kv_status st;
    switch (kind) {
    case KVG_ZUNIONSTORE:
        st = kv_zset_unionstore(db, dest, dl, ks, n, weights, aggregate, &out->u64);
        break;
    case KVG_ZINTERSTORE:
        st = kv_zset_interstore(db, dest, dl, ks, n, weights, aggregate, &out->u64);
        break;
    default:
        st = kv_zset_diffstore(db, dest, dl, ks, n, &out->u64);
        break;
    }
    free(ks);
    return finish(st, out);
}

/* ---- Compaction and expiry ---- */

kv_status kvg_compact(kv_db *db, kv_compaction_summary *summary, kvg_out *out) {
    return finish(kv_db_compact(db, summary), out);
}

kv_status kvg_run_expiry_cycle(kv_db *db, kv_expiry_cycle_report *report, kvg_out *out) {
    return finish(kv_db_run_expiry_cycle(db, report), out);
}

kv_status kvg_segments(kv_db *db, kvg_out *out) {
    /* Ask for the count, then list; a rotation or merge in between changes
     * the count, so retry until the array was large enough. */
    for (;;) {
        size_t n = 0;
        kv_status st = kv_db_segments(db, NULL, 0, &n);
        if (st != KV_OK && st != KV_BUFFER_TOO_SMALL) {
            return finish(st, out);
        }
        size_t cap = n + 4;
        kv_segment_info *a = malloc(cap * sizeof *a);
        if (a == NULL) {
            return KV_INTERNAL;
        }
        st = kv_db_segments(db, a, cap, &n);
        if (st == KV_OK) {
            out->ptr = a;
            out->u64 = n;
            return st;
        }
        free(a);
        if (st != KV_BUFFER_TOO_SMALL) {
            return finish(st, out);
        }
    }
}
