/* C tests of the sorted-set API (kv_zset_*), score helpers, compaction and
 * the on-demand expiry cycle. */
#include <math.h>
#include <time.h>

#include "runner.h"

#define K(s) ((const uint8_t *)(s)), (sizeof(s) - 1)
#define SL(s) {(const uint8_t *)(s), sizeof(s) - 1}

static kv_db *open_with(kv_options *o) {
    kv_db *db = NULL;
    kv_status st = kv_db_open(kv_t_tmpdir(), o, &db);
    if (st != KV_OK) {
        fprintf(stderr, "  open failed: %s\n", kv_last_error_message());
        kv_t_current_failed = 1;
    }
    return db;
}

static kv_db *open_default(void) {
    return open_with(NULL);
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Whether the last error message contains `text`. */
static int last_error_has(const char *text) {
    return strstr(kv_last_error_message(), text) != NULL;
}

/* Renders entries as "a:1 b:2.5" (scores with %g) for comparison. */
static const char *render(const kv_zset_entries *e) {
    static char out[1024];
    size_t used = 0;
    out[0] = '\0';
    if (e == NULL) return "(null)";
    for (size_t i = 0; i < kv_zset_entries_len(e); i++) {
        kv_slice m = {NULL, 0};
        double s = 0;
        if (kv_zset_entries_get(e, i, &m, &s) != KV_OK) return "(get failed)";
        int n = snprintf(out + used, sizeof out - used, "%s%.*s:%g", i ? " " : "", (int)m.len,
                         (const char *)m.data, s);
        if (n < 0 || (size_t)n >= sizeof out - used) return "(too long)";
        used += (size_t)n;
    }
    return out;
}

/* Checks that `entries` renders as `want`, then frees it. */
#define CHECK_ENTRIES(entries, want)                                                  \
    do {                                                                              \
        const char *kv_t_r_ = render(entries);                                        \
        if (strcmp(kv_t_r_, (want)) != 0) {                                           \
            fprintf(stderr, "  %s:%d: entries are \"%s\", want \"%s\"\n", __FILE__,  \
                    __LINE__, kv_t_r_, (want));                                       \
            kv_t_current_failed = 1;                                                  \
        }                                                                             \
        kv_zset_entries_free(entries);                                                \
        (entries) = NULL;                                                             \
    } while (0)

/* ZADD of the pairs "a"=1, "b"=2, "c"=3, "d"=4, "e"=5 (first `n`) to `key`. */
static void seed(kv_db *db, const uint8_t *key, size_t key_len, size_t n) {
    const double scores[] = {1, 2, 3, 4, 5};
    const kv_slice members[] = {SL("a"), SL("b"), SL("c"), SL("d"), SL("e")};
    kv_zadd_reply r;
    CHECK_OK(kv_zset_add(db, key, key_len, 0, scores, members, n, &r));
    CHECK(r.count == n);
}

static void test_add_and_flags(void) {
    kv_db *db = open_default();
    kv_zadd_reply r;
    const double s3[] = {1, 2, 3};
    const kv_slice m3[] = {SL("a"), SL("b"), SL("c")};
    CHECK_OK(kv_zset_add(db, K("z"), 0, s3, m3, 3, &r));
    CHECK(r.count == 3 && !r.has_score);
    /* Pairs apply in order: "a" ends at 20; one new member ("") counted. */
    const double s2[] = {10, 20, 7};
    const kv_slice m2[] = {SL("a"), SL("a"), SL("")};
    CHECK_OK(kv_zset_add(db, K("z"), 0, s2, m2, 3, &r));
    CHECK(r.count == 1);
    double s = 0;
    CHECK_OK(kv_zset_score(db, K("z"), K("a"), &s));
    CHECK(s == 20);
    CHECK_OK(kv_zset_score(db, K("z"), NULL, 0, &s)); /* the empty member */
    CHECK(s == 7);
    /* CH counts changed members too. */
    const double up[] = {5, 2, 9};
    const kv_slice um[] = {SL("a"), SL("b"), SL("new")};
    CHECK_OK(kv_zset_add(db, K("z"), KV_ZADD_CH, up, um, 3, &r));
    CHECK(r.count == 2); /* a changed, b unchanged, new added */
    /* NX: only new members; XX: only existing ones. */
    const double nx[] = {100, 100};
    const kv_slice nxm[] = {SL("a"), SL("nx")};
    CHECK_OK(kv_zset_add(db, K("z"), KV_ZADD_NX, nx, nxm, 2, &r));
    CHECK(r.count == 1);
    CHECK_OK(kv_zset_score(db, K("z"), K("a"), &s));
    CHECK(s == 5);
    const kv_slice xxm[] = {SL("a"), SL("xx")};
    CHECK_OK(kv_zset_add(db, K("z"), KV_ZADD_XX | KV_ZADD_CH, nx, xxm, 2, &r));
    CHECK(r.count == 1);
    CHECK_STATUS(kv_zset_score(db, K("z"), K("xx"), &s), KV_NOT_FOUND);
    CHECK_OK(kv_zset_score(db, K("z"), K("a"), &s));
    CHECK(s == 100);
    /* GT / LT only move the score one way. */
    const double lower[] = {50};
    const kv_slice am[] = {SL("a")};
    CHECK_OK(kv_zset_add(db, K("z"), KV_ZADD_GT | KV_ZADD_CH, lower, am, 1, &r));
    CHECK(r.count == 0);
    CHECK_OK(kv_zset_add(db, K("z"), KV_ZADD_LT | KV_ZADD_CH, lower, am, 1, &r));
    CHECK(r.count == 1);
    /* INCR replies the new score, or nil when a condition skips it. */
    const double inc[] = {1.5};
    CHECK_OK(kv_zset_add(db, K("z"), KV_ZADD_INCR, inc, am, 1, &r));
    CHECK(r.has_score && r.score == 51.5 && r.count == 1);
    CHECK_OK(kv_zset_add(db, K("z"), KV_ZADD_INCR | KV_ZADD_NX, inc, am, 1, &r));
    CHECK(!r.has_score && r.count == 0);
    const kv_slice fresh[] = {SL("fresh")};
    CHECK_OK(kv_zset_add(db, K("z"), KV_ZADD_INCR | KV_ZADD_XX, inc, fresh, 1, &r));
    CHECK(!r.has_score);
    /* out_reply may be NULL. */
    CHECK_OK(kv_zset_add(db, K("z"), 0, inc, fresh, 1, NULL));
    kv_db_free(db);
}

static void test_add_errors(void) {
    kv_db *db = open_default();
    kv_zadd_reply r = {9, 9, true};
    const double one[] = {1};
    const double two[] = {1, 2};
    const kv_slice am[] = {SL("a")};
    const kv_slice abm[] = {SL("a"), SL("b")};
    CHECK_STATUS(kv_zset_add(db, K("z"), KV_ZADD_NX | KV_ZADD_XX, one, am, 1, &r), KV_INVALID_ARGUMENT);
    CHECK(last_error_has("ERR XX and NX options at the same time are not compatible"));
    CHECK(r.count == 0 && !r.has_score); /* reset on failure */
    CHECK_STATUS(kv_zset_add(db, K("z"), KV_ZADD_GT | KV_ZADD_LT, one, am, 1, &r), KV_INVALID_ARGUMENT);
    CHECK(last_error_has("ERR GT, LT, and/or NX options at the same time are not compatible"));
    CHECK_STATUS(kv_zset_add(db, K("z"), KV_ZADD_NX | KV_ZADD_GT, one, am, 1, &r), KV_INVALID_ARGUMENT);
    CHECK_STATUS(kv_zset_add(db, K("z"), KV_ZADD_INCR, two, abm, 2, &r), KV_INVALID_ARGUMENT);
    CHECK(last_error_has("ERR INCR option supports a single increment-element pair"));
    CHECK_STATUS(kv_zset_add(db, K("z"), 0, NULL, NULL, 0, &r), KV_INVALID_ARGUMENT);
    CHECK(last_error_has("ERR syntax error"));
    CHECK_STATUS(kv_zset_add(db, K("z"), 64, one, am, 1, &r), KV_INVALID_ARGUMENT);
    CHECK(last_error_has("unknown zadd flags"));
    CHECK_STATUS(kv_zset_add(db, K("z"), 0, NULL, am, 1, &r), KV_INVALID_ARGUMENT);
    CHECK(last_error_has("scores is NULL"));
    CHECK_STATUS(kv_zset_add(db, K("z"), 0, one, NULL, 1, &r), KV_INVALID_ARGUMENT);
    CHECK(last_error_has("members is NULL"));
    const kv_slice bad_member[] = {{NULL, 3}};
    CHECK_STATUS(kv_zset_add(db, K("z"), 0, one, bad_member, 1, &r), KV_INVALID_ARGUMENT);
    CHECK(last_error_has("members[0] is NULL"));
    /* NaN score: not a float; nothing written, also for the valid pair. */
    const double with_nan[] = {1, NAN};
    CHECK_STATUS(kv_zset_add(db, K("z"), 0, with_nan, abm, 2, &r), KV_NOT_FLOAT);
    CHECK(last_error_has("ERR value is not a valid float"));
    bool exists = true;
    CHECK_OK(kv_db_exists(db, K("z"), &exists));
    CHECK(!exists);
    /* INCR to NaN: +inf plus -inf. */
    const double pinf[] = {INFINITY}, ninf[] = {-INFINITY};
    CHECK_OK(kv_zset_add(db, K("z"), 0, pinf, am, 1, &r));
    CHECK_STATUS(kv_zset_add(db, K("z"), KV_ZADD_INCR, ninf, am, 1, &r), KV_INVALID_ARGUMENT);
    CHECK(last_error_has("ERR resulting score is not a number (NaN)"));
    /* Key errors. */
    CHECK_STATUS(kv_zset_add(db, NULL, 1, 0, one, am, 1, &r), KV_INVALID_ARGUMENT);
    CHECK_STATUS(kv_zset_add(db, K(""), 0, one, am, 1, &r), KV_INVALID_ARGUMENT);
    CHECK_STATUS(kv_zset_add(NULL, K("z"), 0, one, am, 1, &r), KV_INVALID_ARGUMENT);
    kv_db_free(db);
}

static void test_member_too_large(void) {
    kv_options *o = kv_options_new();
    CHECK_OK(kv_options_set_max_value_size(o, 4));
    kv_db *db = open_with(o);
    kv_options_free(o);
    const double one[] = {1};
    const kv_slice big[] = {SL("12345")};
    CHECK_STATUS(kv_zset_add(db, K("z"), 0, one, big, 1, NULL), KV_VALUE_TOO_LARGE);
    kv_db_free(db);
}

static void test_incrby(void) {
    kv_db *db = open_default();
    double s = 0;
    CHECK_OK(kv_zset_incrby(db, K("z"), 2.5, K("m"), &s));
    CHECK(s == 2.5);
    CHECK_OK(kv_zset_incrby(db, K("z"), -1, K("m"), &s));
    CHECK(s == 1.5);
    CHECK_OK(kv_zset_incrby(db, K("z"), 1, K("m"), NULL));
    CHECK_OK(kv_zset_score(db, K("z"), K("m"), &s));
    CHECK(s == 2.5);
    CHECK_STATUS(kv_zset_incrby(db, K("z"), NAN, K("m"), &s), KV_NOT_FLOAT);
    CHECK_OK(kv_zset_incrby(db, K("z"), INFINITY, K("m"), &s));
    CHECK(isinf(s) && s > 0);
    CHECK_STATUS(kv_zset_incrby(db, K("z"), -INFINITY, K("m"), &s), KV_INVALID_ARGUMENT);
    CHECK(last_error_has("ERR resulting score is not a number (NaN)"));
    CHECK_STATUS(kv_zset_incrby(db, K("z"), 1, NULL, 2, &s), KV_INVALID_ARGUMENT);
    kv_db_free(db);
}

static void test_rem_score_mscore_card(void) {
    kv_db *db = open_default();
    seed(db, K("z"), 3);
    uint64_t n = 99;
    const kv_slice rm[] = {SL("a"), SL("a"), SL("nope")};
    CHECK_OK(kv_zset_rem(db, K("z"), rm, 3, &n));
    CHECK(n == 1); /* a duplicate member counts once */
    CHECK_STATUS(kv_zset_rem(db, K("z"), NULL, 0, &n), KV_INVALID_ARGUMENT);
    CHECK(last_error_has("ERR wrong number of arguments for 'zrem' command"));
    CHECK_STATUS(kv_zset_rem(db, K("z"), NULL, 2, &n), KV_INVALID_ARGUMENT);
    CHECK_OK(kv_zset_card(db, K("z"), &n));
    CHECK(n == 2);
    CHECK_OK(kv_zset_card(db, K("missing"), &n));
    CHECK(n == 0);
    CHECK_STATUS(kv_zset_card(db, K("z"), NULL), KV_INVALID_ARGUMENT);

    double s = 7;
    CHECK_STATUS(kv_zset_score(db, K("z"), K("a"), &s), KV_NOT_FOUND);
    CHECK(s == 0);
    CHECK_STATUS(kv_zset_score(db, K("missing"), K("a"), &s), KV_NOT_FOUND);
    CHECK_STATUS(kv_zset_score(db, K("z"), K("b"), NULL), KV_INVALID_ARGUMENT);

    const kv_slice q[] = {SL("b"), SL("a"), SL("c")};
    double scores[3] = {0, 0, 0};
    bool found[3] = {true, true, true};
    CHECK_OK(kv_zset_mscore(db, K("z"), q, 3, scores, found));
    CHECK(scores[0] == 2 && isnan(scores[1]) && scores[2] == 3);
    CHECK(found[0] && !found[1] && found[2]);
    CHECK_OK(kv_zset_mscore(db, K("z"), q, 3, scores, NULL));
    CHECK(isnan(scores[1]));
    CHECK_OK(kv_zset_mscore(db, K("missing"), q, 3, scores, found));
    CHECK(isnan(scores[0]) && !found[0] && !found[2]);
    CHECK_STATUS(kv_zset_mscore(db, K("z"), q, 0, scores, found), KV_INVALID_ARGUMENT);
    CHECK(last_error_has("ERR wrong number of arguments for 'zmscore' command"));
    CHECK_STATUS(kv_zset_mscore(db, K("z"), q, 3, NULL, found), KV_INVALID_ARGUMENT);

    /* Removing the last members deletes the key. */
    const kv_slice rest[] = {SL("b"), SL("c")};
    CHECK_OK(kv_zset_rem(db, K("z"), rest, 2, NULL));
    bool exists = true;
    CHECK_OK(kv_db_exists(db, K("z"), &exists));
    CHECK(!exists);
    CHECK_OK(kv_zset_rem(db, K("z"), rest, 2, &n));
    CHECK(n == 0);
    kv_db_free(db);
}

static void test_count_and_lexcount(void) {
    kv_db *db = open_default();
    seed(db, K("z"), 5);
    uint64_t n = 0;
    CHECK_OK(kv_zset_count(db, K("z"), K("-inf"), K("+inf"), &n));
    CHECK(n == 5);
    CHECK_OK(kv_zset_count(db, K("z"), K("(1"), K("3"), &n));
    CHECK(n == 2);
    CHECK_OK(kv_zset_count(db, K("z"), K("2"), K("(4"), &n));
    CHECK(n == 2);
    CHECK_OK(kv_zset_count(db, K("z"), K("4"), K("2"), &n));
    CHECK(n == 0);
    CHECK_OK(kv_zset_count(db, K("missing"), K("-inf"), K("+inf"), &n));
    CHECK(n == 0);
    n = 9;
    CHECK_STATUS(kv_zset_count(db, K("z"), K("abc"), K("3"), &n), KV_INVALID_ARGUMENT);
    CHECK(strcmp(kv_last_error_message(), "ERR min or max is not a float") == 0);
    CHECK(n == 0);
    CHECK_STATUS(kv_zset_count(db, K("z"), K("1"), K("nan"), &n), KV_INVALID_ARGUMENT);
    CHECK(last_error_has("ERR min or max is not a float"));
    CHECK_STATUS(kv_zset_count(db, K("z"), K("1"), NULL, 1, &n), KV_INVALID_ARGUMENT);
    CHECK_STATUS(kv_zset_count(db, K("z"), K("1"), K("2"), NULL), KV_INVALID_ARGUMENT);

    kv_score_range all = {-INFINITY, INFINITY, false, false};
    CHECK_OK(kv_zset_count_range(db, K("z"), &all, &n));
    CHECK(n == 5);
    kv_score_range excl = {1, 3, true, true};
    CHECK_OK(kv_zset_count_range(db, K("z"), &excl, &n));
    CHECK(n == 1);
    kv_score_range nan_range = {NAN, 3, false, false};
    CHECK_STATUS(kv_zset_count_range(db, K("z"), &nan_range, &n), KV_INVALID_ARGUMENT);
    CHECK(last_error_has("ERR min or max is not a float"));
    CHECK_STATUS(kv_zset_count_range(db, K("z"), NULL, &n), KV_INVALID_ARGUMENT);

    /* Lex ranges: all scores equal, as Redis requires. */
    const double zero[] = {0, 0, 0, 0};
    const kv_slice lm[] = {SL("a"), SL("b"), SL("c"), SL("d")};
    CHECK_OK(kv_zset_add(db, K("lex"), 0, zero, lm, 4, NULL));
    CHECK_OK(kv_zset_lexcount(db, K("lex"), K("-"), K("+"), &n));
    CHECK(n == 4);
    CHECK_OK(kv_zset_lexcount(db, K("lex"), K("[b"), K("(d"), &n));
    CHECK(n == 2);
    CHECK_OK(kv_zset_lexcount(db, K("lex"), K("(a"), K("[c"), &n));
    CHECK(n == 2);
    CHECK_STATUS(kv_zset_lexcount(db, K("lex"), K("b"), K("+"), &n), KV_INVALID_ARGUMENT);
    CHECK(strcmp(kv_last_error_message(), "ERR min or max not valid string range item") == 0);
    CHECK_STATUS(kv_zset_lexcount(db, K("lex"), NULL, 0, K("+"), &n), KV_INVALID_ARGUMENT);
    kv_db_free(db);
}

static void test_rank(void) {
    kv_db *db = open_default();
    seed(db, K("z"), 3);
    uint64_t rank = 9;
    double s = 0;
    CHECK_OK(kv_zset_rank(db, K("z"), K("a"), false, &rank, &s));
    CHECK(rank == 0 && s == 1);
    CHECK_OK(kv_zset_rank(db, K("z"), K("a"), true, &rank, &s));
    CHECK(rank == 2 && s == 1);
    CHECK_OK(kv_zset_rank(db, K("z"), K("c"), true, &rank, NULL));
    CHECK(rank == 0);
    CHECK_STATUS(kv_zset_rank(db, K("z"), K("x"), false, &rank, &s), KV_NOT_FOUND);
    CHECK_STATUS(kv_zset_rank(db, K("missing"), K("a"), false, &rank, &s), KV_NOT_FOUND);
    CHECK_STATUS(kv_zset_rank(db, K("z"), K("a"), false, NULL, &s), KV_INVALID_ARGUMENT);
    kv_db_free(db);
}

static void test_range(void) {
    kv_db *db = open_default();
    seed(db, K("z"), 5);
    kv_zset_entries *e = NULL;
    CHECK_OK(kv_zset_range_by_rank(db, K("z"), 0, -1, false, &e));
    CHECK_ENTRIES(e, "a:1 b:2 c:3 d:4 e:5");
    CHECK_OK(kv_zset_range_by_rank(db, K("z"), 0, 1, true, &e));
    CHECK_ENTRIES(e, "e:5 d:4");
    CHECK_OK(kv_zset_range_by_rank(db, K("z"), -2, 100, false, &e));
    CHECK_ENTRIES(e, "d:4 e:5");
    CHECK_OK(kv_zset_range_by_rank(db, K("z"), 3, 1, false, &e));
    CHECK_ENTRIES(e, "");
    CHECK_OK(kv_zset_range_by_rank(db, K("missing"), 0, -1, false, &e));
    CHECK(e != NULL);
    CHECK_ENTRIES(e, "");

    kv_zrange_args a;
    memset(&a, 0, sizeof a);
    a.by = KV_ZRANGE_BY_RANK;
    a.start = 1;
    a.stop = 2;
    CHECK_OK(kv_zset_range(db, K("z"), &a, &e));
    CHECK_ENTRIES(e, "b:2 c:3");
    a.has_limit = true;
    a.count = 1;
    CHECK_STATUS(kv_zset_range(db, K("z"), &a, &e), KV_INVALID_ARGUMENT);
    CHECK(last_error_has("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"));
    CHECK(e == NULL);

    memset(&a, 0, sizeof a);
    a.by = KV_ZRANGE_BY_SCORE;
    a.min = (kv_slice)SL("(1");
    a.max = (kv_slice)SL("+inf");
    CHECK_OK(kv_zset_range(db, K("z"), &a, &e));
    CHECK_ENTRIES(e, "b:2 c:3 d:4 e:5");
    a.has_limit = true;
    a.offset = 1;
    a.count = 2;
    CHECK_OK(kv_zset_range(db, K("z"), &a, &e));
    CHECK_ENTRIES(e, "c:3 d:4");
    a.rev = true; /* min/max stay named: no swapping as in ZREVRANGEBYSCORE */
    CHECK_OK(kv_zset_range(db, K("z"), &a, &e));
    CHECK_ENTRIES(e, "d:4 c:3");
    a.count = -1;
    a.offset = -1; /* negative offset selects nothing, as Redis */
    CHECK_OK(kv_zset_range(db, K("z"), &a, &e));
    CHECK_ENTRIES(e, "");
    a.min = (kv_slice)SL("x");
    CHECK_STATUS(kv_zset_range(db, K("z"), &a, &e), KV_INVALID_ARGUMENT);
    CHECK(last_error_has("ERR min or max is not a float"));

    const double zero[] = {0, 0, 0, 0};
    const kv_slice lm[] = {SL("a"), SL("b"), SL("c"), SL("d")};
    CHECK_OK(kv_zset_add(db, K("lex"), 0, zero, lm, 4, NULL));
    memset(&a, 0, sizeof a);
    a.by = KV_ZRANGE_BY_LEX;
    a.min = (kv_slice)SL("[b");
    a.max = (kv_slice)SL("+");
    CHECK_OK(kv_zset_range(db, K("lex"), &a, &e));
    CHECK_ENTRIES(e, "b:0 c:0 d:0");
    a.rev = true;
    a.has_limit = true;
    a.offset = 0;
    a.count = 2;
    CHECK_OK(kv_zset_range(db, K("lex"), &a, &e));
    CHECK_ENTRIES(e, "d:0 c:0");
    a.max = (kv_slice)SL("d");
    CHECK_STATUS(kv_zset_range(db, K("lex"), &a, &e), KV_INVALID_ARGUMENT);
    CHECK(last_error_has("ERR min or max not valid string range item"));

    a.by = 7;
    CHECK_STATUS(kv_zset_range(db, K("lex"), &a, &e), KV_INVALID_ARGUMENT);
    CHECK(last_error_has("unknown zrange kind"));
    CHECK_STATUS(kv_zset_range(db, K("lex"), NULL, &e), KV_INVALID_ARGUMENT);
    CHECK_STATUS(kv_zset_range(db, K("lex"), &a, NULL), KV_INVALID_ARGUMENT);
    CHECK_STATUS(kv_zset_range_by_rank(db, K("z"), 0, -1, false, NULL), KV_INVALID_ARGUMENT);
    kv_db_free(db);
}

static void test_entries_accessors(void) {
    kv_db *db = open_default();
    seed(db, K("z"), 2);
    kv_zset_entries *e = NULL;
    CHECK_OK(kv_zset_range_by_rank(db, K("z"), 0, -1, false, &e));
    CHECK(kv_zset_entries_len(e) == 2);
    kv_slice m = {NULL, 0};
    double s = 0;
    CHECK_OK(kv_zset_entries_get(e, 1, &m, &s));
    CHECK(m.len == 1 && m.data[0] == 'b' && s == 2);
    CHECK_OK(kv_zset_entries_get(e, 0, NULL, NULL));
    CHECK_STATUS(kv_zset_entries_get(e, 2, &m, &s), KV_INVALID_ARGUMENT);
    CHECK(last_error_has("out of range"));
    CHECK_STATUS(kv_zset_entries_get(NULL, 0, &m, &s), KV_INVALID_ARGUMENT);
    CHECK(kv_zset_entries_len(NULL) == 0);
    /* Entries are a snapshot: later writes do not change them. */
    CHECK_OK(kv_db_delete(db, K("z"), NULL));
    CHECK(kv_zset_entries_len(e) == 2);
    kv_zset_entries_free(e);
    kv_zset_entries_free(NULL);
    kv_db_free(db);
}

static void test_pop(void) {
    kv_db *db = open_default();
    seed(db, K("z"), 5);
    kv_zset_entries *e = NULL;
    CHECK_OK(kv_zset_popmin(db, K("z"), 2, &e));
    CHECK_ENTRIES(e, "a:1 b:2");
    CHECK_OK(kv_zset_popmax(db, K("z"), 1, &e));
    CHECK_ENTRIES(e, "e:5");
    CHECK_OK(kv_zset_popmin(db, K("z"), 0, &e));
    CHECK_ENTRIES(e, "");
    uint64_t n = 0;
    CHECK_OK(kv_zset_card(db, K("z"), &n));
    CHECK(n == 2);
    CHECK_OK(kv_zset_popmax(db, K("z"), 10, &e));
    CHECK_ENTRIES(e, "d:4 c:3");
    bool exists = true;
    CHECK_OK(kv_db_exists(db, K("z"), &exists));
    CHECK(!exists);
    CHECK_OK(kv_zset_popmin(db, K("z"), 1, &e));
    CHECK_ENTRIES(e, "");
    CHECK_STATUS(kv_zset_popmin(db, K("z"), 1, NULL), KV_INVALID_ARGUMENT);
    kv_db_free(db);
}

static void test_remrange(void) {
    kv_db *db = open_default();
    uint64_t n = 0;
    seed(db, K("z"), 5);
    CHECK_OK(kv_zset_remrangebyrank(db, K("z"), 0, 1, &n));
    CHECK(n == 2);
    CHECK_OK(kv_zset_remrangebyrank(db, K("z"), -1, -1, NULL));
    kv_zset_entries *e = NULL;
    CHECK_OK(kv_zset_range_by_rank(db, K("z"), 0, -1, false, &e));
    CHECK_ENTRIES(e, "c:3 d:4");

    seed(db, K("s"), 5);
    CHECK_OK(kv_zset_remrangebyscore(db, K("s"), K("(1"), K("3"), &n));
    CHECK(n == 2);
    CHECK_OK(kv_zset_remrangebyscore(db, K("s"), K("5"), K("+inf"), NULL));
    CHECK_OK(kv_zset_range_by_rank(db, K("s"), 0, -1, false, &e));
    CHECK_ENTRIES(e, "a:1 d:4");
    CHECK_STATUS(kv_zset_remrangebyscore(db, K("s"), K("1"), K("four"), &n), KV_INVALID_ARGUMENT);
    CHECK(last_error_has("ERR min or max is not a float"));

    const double zero[] = {0, 0, 0, 0};
    const kv_slice lm[] = {SL("a"), SL("b"), SL("c"), SL("d")};
    CHECK_OK(kv_zset_add(db, K("lex"), 0, zero, lm, 4, NULL));
    CHECK_OK(kv_zset_remrangebylex(db, K("lex"), K("(a"), K("[c"), &n));
    CHECK(n == 2);
    CHECK_OK(kv_zset_range_by_rank(db, K("lex"), 0, -1, false, &e));
    CHECK_ENTRIES(e, "a:0 d:0");
    CHECK_STATUS(kv_zset_remrangebylex(db, K("lex"), K("a"), K("+"), &n), KV_INVALID_ARGUMENT);
    CHECK(last_error_has("ERR min or max not valid string range item"));
    /* Missing key: nothing removed. */
    CHECK_OK(kv_zset_remrangebyrank(db, K("missing"), 0, -1, &n));
    CHECK(n == 0);
    kv_db_free(db);
}

/* Number of distinct members in `e`. */
static size_t distinct(const kv_zset_entries *e) {
    size_t len = kv_zset_entries_len(e), count = 0;
    for (size_t i = 0; i < len; i++) {
        kv_slice mi, mj;
        int dup = 0;
        kv_zset_entries_get(e, i, &mi, NULL);
        for (size_t j = 0; j < i && !dup; j++) {
            kv_zset_entries_get(e, j, &mj, NULL);
            dup = mi.len == mj.len && memcmp(mi.data, mj.data, mi.len) == 0;
        }
        count += !dup;
    }
    return count;
}

static void test_randmember(void) {
    kv_db *db = open_default();
    seed(db, K("z"), 5);
    kv_zset_entries *e = NULL;
    CHECK_OK(kv_zset_randmember(db, K("z"), 3, false, &e));
    CHECK(kv_zset_entries_len(e) == 3 && distinct(e) == 3);
    kv_zset_entries_free(e);
    CHECK_OK(kv_zset_randmember(db, K("z"), 10, true, &e));
    CHECK(kv_zset_entries_len(e) == 5 && distinct(e) == 5);
    /* Scores come with the members. */
    for (size_t i = 0; i < kv_zset_entries_len(e); i++) {
        kv_slice m;
        double s;
        CHECK_OK(kv_zset_entries_get(e, i, &m, &s));
        CHECK(m.len == 1 && s == (double)(m.data[0] - 'a' + 1));
    }
    kv_zset_entries_free(e);
    CHECK_OK(kv_zset_randmember(db, K("z"), -7, false, &e));
    CHECK(kv_zset_entries_len(e) == 7);
    kv_zset_entries_free(e);
    CHECK_OK(kv_zset_randmember(db, K("z"), 0, false, &e));
    CHECK_ENTRIES(e, "");
    CHECK_OK(kv_zset_randmember(db, K("missing"), 1, false, &e));
    CHECK_ENTRIES(e, "");
    CHECK_STATUS(kv_zset_randmember(db, K("z"), INT64_MIN, false, &e), KV_INVALID_ARGUMENT);
    CHECK(last_error_has("ERR value is out of range"));
    CHECK(e == NULL);
    CHECK_STATUS(kv_zset_randmember(db, K("z"), INT64_MAX, true, &e), KV_INVALID_ARGUMENT);
    CHECK(strcmp(kv_last_error_message(), "ERR value is out of range") == 0);
    CHECK_OK(kv_zset_randmember(db, K("z"), INT64_MAX, false, &e));
    CHECK(kv_zset_entries_len(e) == 5);
    kv_zset_entries_free(e);
    CHECK_STATUS(kv_zset_randmember(db, K("z"), -20000000, false, &e), KV_INVALID_ARGUMENT);
    kv_db_free(db);
}

static void test_store(void) {
    kv_db *db = open_default();
    const double s1[] = {1, 2, 3};
    const kv_slice m1[] = {SL("a"), SL("b"), SL("c")};
    const double s2[] = {10, 20};
    const kv_slice m2[] = {SL("b"), SL("d")};
    CHECK_OK(kv_zset_add(db, K("z1"), 0, s1, m1, 3, NULL));
    CHECK_OK(kv_zset_add(db, K("z2"), 0, s2, m2, 2, NULL));
    const kv_slice keys[] = {SL("z1"), SL("z2"), SL("missing")};
    uint64_t n = 0;
    kv_zset_entries *e = NULL;

    CHECK_OK(kv_zset_unionstore(db, K("u"), keys, 3, NULL, KV_AGGREGATE_SUM, &n));
    CHECK(n == 4);
    CHECK_OK(kv_zset_range_by_rank(db, K("u"), 0, -1, false, &e));
    CHECK_ENTRIES(e, "a:1 c:3 b:12 d:20");
    const double w[] = {2, 1, 5};
    CHECK_OK(kv_zset_unionstore(db, K("u"), keys, 3, w, KV_AGGREGATE_MIN, &n));
    CHECK_OK(kv_zset_range_by_rank(db, K("u"), 0, -1, false, &e));
    CHECK_ENTRIES(e, "a:2 b:4 c:6 d:20");
    CHECK_OK(kv_zset_unionstore(db, K("u"), keys, 2, w, KV_AGGREGATE_MAX, NULL));
    CHECK_OK(kv_zset_range_by_rank(db, K("u"), 0, -1, false, &e));
    CHECK_ENTRIES(e, "a:2 c:6 b:10 d:20");

    CHECK_OK(kv_zset_interstore(db, K("i"), keys, 2, NULL, KV_AGGREGATE_SUM, &n));
    CHECK(n == 1);
    CHECK_OK(kv_zset_range_by_rank(db, K("i"), 0, -1, false, &e));
    CHECK_ENTRIES(e, "b:12");
    /* With a missing input the intersection is empty and dest is deleted. */
    CHECK_OK(kv_zset_interstore(db, K("i"), keys, 3, NULL, KV_AGGREGATE_SUM, &n));
    CHECK(n == 0);
    bool exists = true;
    CHECK_OK(kv_db_exists(db, K("i"), &exists));
    CHECK(!exists);

    CHECK_OK(kv_zset_diffstore(db, K("d"), keys, 2, &n));
    CHECK(n == 2);
    CHECK_OK(kv_zset_range_by_rank(db, K("d"), 0, -1, false, &e));
    CHECK_ENTRIES(e, "a:1 c:3");

    /* dest is replaced whatever it held, also a string. */
    CHECK_OK(kv_db_put(db, K("str"), K("v")));
    CHECK_OK(kv_zset_diffstore(db, K("str"), keys, 1, &n));
    CHECK(n == 3);
    CHECK_OK(kv_zset_card(db, K("str"), &n));
    CHECK(n == 3);

    CHECK_STATUS(kv_zset_unionstore(db, K("u"), keys, 0, NULL, KV_AGGREGATE_SUM, &n), KV_INVALID_ARGUMENT);
    CHECK(last_error_has("ERR at least 1 input key is needed for 'zunionstore' command"));
    CHECK_STATUS(kv_zset_interstore(db, K("u"), keys, 0, NULL, KV_AGGREGATE_SUM, &n), KV_INVALID_ARGUMENT);
    CHECK(last_error_has("'zinterstore'"));
    CHECK_STATUS(kv_zset_diffstore(db, K("u"), keys, 0, &n), KV_INVALID_ARGUMENT);
    CHECK(last_error_has("'zdiffstore'"));
    const double wnan[] = {1, NAN};
    CHECK_STATUS(kv_zset_unionstore(db, K("u"), keys, 2, wnan, KV_AGGREGATE_SUM, &n), KV_INVALID_ARGUMENT);
    CHECK(last_error_has("ERR weight value is not a float"));
    CHECK_STATUS(kv_zset_unionstore(db, K("u"), keys, 2, NULL, 3, &n), KV_INVALID_ARGUMENT);
    CHECK(last_error_has("unknown aggregate"));
    CHECK_STATUS(kv_zset_unionstore(db, K("u"), NULL, 2, NULL, 0, &n), KV_INVALID_ARGUMENT);
    CHECK_STATUS(kv_zset_unionstore(db, NULL, 1, keys, 2, NULL, 0, &n), KV_INVALID_ARGUMENT);
    const kv_slice empty_key[] = {SL("z1"), SL("")};
    CHECK_STATUS(kv_zset_unionstore(db, K("u"), empty_key, 2, NULL, 0, &n), KV_INVALID_ARGUMENT);
    CHECK(last_error_has("keys[1] is empty"));
    kv_db_free(db);
}

static void test_wrong_type_both_directions(void) {
    kv_db *db = open_default();
    CHECK_OK(kv_db_put(db, K("s"), K("1")));
    seed(db, K("z"), 2);
    const double one[] = {1};
    const kv_slice am[] = {SL("a")};
    double s = 0;
    uint64_t n = 0;
    kv_zset_entries *e = NULL;
    kv_zrange_args a;
    memset(&a, 0, sizeof a);
    a.stop = -1;
    kv_score_range all = {-INFINITY, INFINITY, false, false};
    double scores[1];
    /* Sorted-set calls on a string key. */
    CHECK_STATUS(kv_zset_add(db, K("s"), 0, one, am, 1, NULL), KV_WRONG_TYPE);
    CHECK(last_error_has("WRONGTYPE"));
    CHECK_STATUS(kv_zset_incrby(db, K("s"), 1, K("a"), &s), KV_WRONG_TYPE);
    CHECK_STATUS(kv_zset_rem(db, K("s"), am, 1, &n), KV_WRONG_TYPE);
    CHECK_STATUS(kv_zset_score(db, K("s"), K("a"), &s), KV_WRONG_TYPE);
    CHECK_STATUS(kv_zset_mscore(db, K("s"), am, 1, scores, NULL), KV_WRONG_TYPE);
    CHECK_STATUS(kv_zset_card(db, K("s"), &n), KV_WRONG_TYPE);
    CHECK_STATUS(kv_zset_count(db, K("s"), K("-inf"), K("+inf"), &n), KV_WRONG_TYPE);
    CHECK_STATUS(kv_zset_count_range(db, K("s"), &all, &n), KV_WRONG_TYPE);
    CHECK_STATUS(kv_zset_lexcount(db, K("s"), K("-"), K("+"), &n), KV_WRONG_TYPE);
    CHECK_STATUS(kv_zset_rank(db, K("s"), K("a"), false, &n, NULL), KV_WRONG_TYPE);
    CHECK_STATUS(kv_zset_range(db, K("s"), &a, &e), KV_WRONG_TYPE);
    CHECK(e == NULL);
    CHECK_STATUS(kv_zset_range_by_rank(db, K("s"), 0, -1, false, &e), KV_WRONG_TYPE);
    CHECK_STATUS(kv_zset_popmin(db, K("s"), 1, &e), KV_WRONG_TYPE);
    CHECK_STATUS(kv_zset_popmax(db, K("s"), 1, &e), KV_WRONG_TYPE);
    CHECK_STATUS(kv_zset_popmin(db, K("s"), 0, &e), KV_WRONG_TYPE);
    CHECK_STATUS(kv_zset_remrangebyrank(db, K("s"), 0, -1, &n), KV_WRONG_TYPE);
    CHECK_STATUS(kv_zset_remrangebyscore(db, K("s"), K("-inf"), K("+inf"), &n), KV_WRONG_TYPE);
    CHECK_STATUS(kv_zset_remrangebylex(db, K("s"), K("-"), K("+"), &n), KV_WRONG_TYPE);
    CHECK_STATUS(kv_zset_randmember(db, K("s"), 1, false, &e), KV_WRONG_TYPE);
    const kv_slice keys[] = {SL("z"), SL("s")};
    CHECK_STATUS(kv_zset_unionstore(db, K("d"), keys, 2, NULL, 0, &n), KV_WRONG_TYPE);
    CHECK_STATUS(kv_zset_interstore(db, K("d"), keys, 2, NULL, 0, &n), KV_WRONG_TYPE);
    CHECK_STATUS(kv_zset_diffstore(db, K("d"), keys, 2, &n), KV_WRONG_TYPE);
    /* The string is untouched. */
    kv_buf v = {NULL, 0};
    CHECK_OK(kv_db_get(db, K("s"), &v));
    CHECK(v.len == 1 && v.data[0] == '1');
    kv_buf_free(&v);

    /* String calls on a sorted-set key. */
    CHECK_STATUS(kv_db_get(db, K("z"), &v), KV_WRONG_TYPE);
    CHECK_STATUS(kv_db_getdel(db, K("z"), &v), KV_WRONG_TYPE);
    CHECK_STATUS(kv_db_getex(db, K("z"), KV_GETEX_NONE, 0, &v), KV_WRONG_TYPE);
    CHECK_STATUS(kv_db_append(db, K("z"), K("x"), NULL), KV_WRONG_TYPE);
    CHECK_STATUS(kv_db_strlen(db, K("z"), &n), KV_WRONG_TYPE);
    CHECK_STATUS(kv_db_getrange(db, K("z"), 0, -1, &v), KV_WRONG_TYPE);
    CHECK_STATUS(kv_db_setrange(db, K("z"), 0, K("x"), NULL), KV_WRONG_TYPE);
    int64_t i = 0;
    CHECK_STATUS(kv_db_incrby(db, K("z"), 1, &i), KV_WRONG_TYPE);
    CHECK_STATUS(kv_db_decrby(db, K("z"), 1, &i), KV_WRONG_TYPE);
    CHECK_STATUS(kv_db_incrbyfloat(db, K("z"), K("1"), NULL), KV_WRONG_TYPE);
    kv_set_args get = {0};
    get.get = true;
    CHECK_STATUS(kv_db_set(db, K("z"), K("v"), &get, NULL, &v), KV_WRONG_TYPE);
    CHECK_STATUS(kv_db_compare_and_delete(db, K("z"), K("v"), NULL), KV_WRONG_TYPE);
    CHECK_STATUS(kv_db_compare_and_swap(db, K("z"), K("v"), K("w"), KV_EXPIRY_NONE, 0, NULL), KV_WRONG_TYPE);
    CHECK_OK(kv_zset_card(db, K("z"), &n));
    CHECK(n == 2);
    /* MGET reports a sorted set as missing, as Redis does. */
    const kv_slice mk[] = {SL("z"), SL("s")};
    kv_buf mv[2];
    CHECK_OK(kv_db_mget(db, mk, 2, mv));
    CHECK(mv[0].data == NULL && mv[1].len == 1);
    kv_buf_free(&mv[1]);
    /* A plain SET (and PUT) replaces a sorted set, as Redis SET does. */
    CHECK_OK(kv_db_set(db, K("z"), K("now a string"), NULL, NULL, NULL));
    CHECK_STATUS(kv_zset_card(db, K("z"), &n), KV_WRONG_TYPE);
    kv_db_free(db);
}

static void test_ttl_and_persistence(void) {
    kv_db *db = open_default();
    seed(db, K("z"), 3);
    seed(db, K("short"), 2);
    bool set = false;
    CHECK_OK(kv_db_expire(db, K("z"), 100, KV_EXPIRE_ALWAYS, &set));
    CHECK(set);
    int64_t ttl = 0;
    CHECK_OK(kv_db_ttl(db, K("z"), &ttl));
    CHECK(ttl > 98 && ttl <= 100);
    CHECK_OK(kv_db_pexpire(db, K("short"), 30, KV_EXPIRE_ALWAYS, &set));
    CHECK(set);
    CHECK_OK(kv_db_close(db));
    kv_db_free(db);

    db = open_default();
    uint64_t n = 0;
    CHECK_OK(kv_db_ttl(db, K("z"), &ttl));
    CHECK(ttl > 98 && ttl <= 100);
    CHECK_OK(kv_zset_card(db, K("z"), &n));
    CHECK(n == 3);
    sleep_ms(40);
    CHECK_OK(kv_zset_card(db, K("short"), &n));
    CHECK(n == 0);
    double s = 0;
    CHECK_STATUS(kv_zset_score(db, K("short"), K("a"), &s), KV_NOT_FOUND);
    /* A new set at an expired key does not inherit its members. */
    CHECK_OK(kv_zset_incrby(db, K("short"), 5, K("x"), &s));
    CHECK(s == 5);
    CHECK_OK(kv_zset_card(db, K("short"), &n));
    CHECK(n == 1);
    CHECK_OK(kv_db_pttl(db, K("short"), &ttl));
    CHECK(ttl == -1);
    kv_db_free(db);
}

static void test_score_parse_and_format(void) {
    double s = 0;
    CHECK_OK(kv_score_parse(K("1e3"), &s));
    CHECK(s == 1000);
    CHECK_OK(kv_score_parse(K("-inf"), &s));
    CHECK(isinf(s) && s < 0);
    CHECK_OK(kv_score_parse(K("+inf"), &s));
    CHECK(isinf(s) && s > 0);
    CHECK_STATUS(kv_score_parse(K("nan"), &s), KV_NOT_FLOAT);
    CHECK_STATUS(kv_score_parse(K(" 1"), &s), KV_NOT_FLOAT);
    CHECK_STATUS(kv_score_parse(K("1x"), &s), KV_NOT_FLOAT);
    CHECK_STATUS(kv_score_parse(K("1e400"), &s), KV_NOT_FLOAT);
    CHECK_STATUS(kv_score_parse(NULL, 0, &s), KV_NOT_FLOAT); /* empty */
    CHECK_STATUS(kv_score_parse(K("1"), NULL), KV_INVALID_ARGUMENT);

    const struct {
        double v;
        const char *text;
    } cases[] = {{1.5, "1.5"}, {0.1, "0.1"}, {1e7, "10000000"}, {1e20, "1e+20"}, {-2, "-2"},
                 {INFINITY, "inf"}, {-INFINITY, "-inf"}, {1e-7, "1e-7"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        kv_buf b = {NULL, 0};
        CHECK_OK(kv_score_format(cases[i].v, &b));
        if (b.len != strlen(cases[i].text) || memcmp(b.data, cases[i].text, b.len) != 0) {
            fprintf(stderr, "  format(%g) = \"%.*s\", want \"%s\"\n", cases[i].v, (int)b.len,
                    (const char *)b.data, cases[i].text);
            kv_t_current_failed = 1;
        }
        kv_buf_free(&b);
    }
    CHECK_STATUS(kv_score_format(1, NULL), KV_INVALID_ARGUMENT);
}

static void test_null_db_and_closed(void) {
    const double one[] = {1};
    const kv_slice am[] = {SL("a")};
    double s;
    uint64_t n;
    kv_zset_entries *e = (kv_zset_entries *)1;
    CHECK_STATUS(kv_zset_add(NULL, K("z"), 0, one, am, 1, NULL), KV_INVALID_ARGUMENT);
    CHECK(last_error_has("db is NULL"));
    CHECK_STATUS(kv_zset_score(NULL, K("z"), K("a"), &s), KV_INVALID_ARGUMENT);
    CHECK_STATUS(kv_zset_range_by_rank(NULL, K("z"), 0, -1, false, &e), KV_INVALID_ARGUMENT);
    CHECK(e == NULL);
    CHECK_STATUS(kv_zset_unionstore(NULL, K("d"), am, 1, NULL, 0, &n), KV_INVALID_ARGUMENT);
    CHECK_STATUS(kv_db_compact(NULL, NULL), KV_INVALID_ARGUMENT);
    CHECK_STATUS(kv_db_run_expiry_cycle(NULL, NULL), KV_INVALID_ARGUMENT);

    kv_db *db = open_default();
    CHECK_OK(kv_db_close(db));
    CHECK_STATUS(kv_zset_add(db, K("z"), 0, one, am, 1, NULL), KV_CLOSED);
    CHECK_STATUS(kv_zset_card(db, K("z"), &n), KV_CLOSED);
    CHECK_STATUS(kv_zset_popmin(db, K("z"), 1, &e), KV_CLOSED);
    CHECK_STATUS(kv_db_compact(db, NULL), KV_CLOSED);
    CHECK_STATUS(kv_db_run_expiry_cycle(db, NULL), KV_CLOSED);
    kv_db_free(db);
}

/* A database of 64 KiB segments, merged only on request. */
static kv_db *open_for_compaction(void) {
    kv_options *o = kv_options_new();
    CHECK_OK(kv_options_set_max_segment_size(o, 64 * 1024));
    CHECK_OK(kv_options_set_auto_compaction(o, false));
    CHECK_OK(kv_options_set_fsync(o, KV_FSYNC_NO));
    kv_db *db = open_with(o);
    kv_options_free(o);
    return db;
}

/* Puts keys k0..k49, 512-byte values, `rounds` times over. */
static void overwrite_keys(kv_db *db, int rounds) {
    char value[512];
    memset(value, 'v', sizeof value);
    for (int round = 0; round < rounds; round++) {
        for (int i = 0; i < 50; i++) {
            char key[16];
            int kl = snprintf(key, sizeof key, "k%d", i);
            CHECK_OK(kv_db_put(db, (const uint8_t *)key, (size_t)kl, (const uint8_t *)value, sizeof value));
        }
    }
}

static void test_compact(void) {
    kv_db *db = open_for_compaction();
    /* Overwrite 50 keys 8 times: most of the log is dead. */
    overwrite_keys(db, 8);
    seed(db, K("z"), 5);
    const kv_slice rm[] = {SL("a"), SL("b")};
    CHECK_OK(kv_zset_rem(db, K("z"), rm, 2, NULL));
    kv_stats before;
    CHECK_OK(kv_db_stats(db, &before));
    CHECK(before.segments >= 3 && before.dead_bytes > 0 && before.merges == 0);

    size_t nseg = 0;
    CHECK_STATUS(kv_db_segments(db, NULL, 0, &nseg), KV_BUFFER_TOO_SMALL);
    CHECK(nseg == before.segments);
    kv_segment_info segs[64];
    CHECK_STATUS(kv_db_segments(db, segs, 1, &nseg), KV_BUFFER_TOO_SMALL);
    CHECK_OK(kv_db_segments(db, segs, 64, &nseg));
    CHECK(nseg == before.segments && segs[nseg - 1].active && !segs[0].active);
    uint32_t bad = segs[nseg - 1].id; /* the active segment is not sealed */
    CHECK_STATUS(kv_db_segments(db, segs, 64, NULL), KV_INVALID_ARGUMENT);
    CHECK_STATUS(kv_db_segments(db, NULL, 4, &nseg), KV_INVALID_ARGUMENT);
    CHECK(nseg == 0); /* reset on failure */

    /* Merging chosen segments: the oldest one alone is a band of its own. */
    kv_compaction_summary sum;
    CHECK_STATUS(kv_db_compact_segments(db, &bad, 1, &sum), KV_INVALID_ARGUMENT);
    CHECK(last_error_has("sealed"));
    CHECK_STATUS(kv_db_compact_segments(db, NULL, 1, &sum), KV_INVALID_ARGUMENT);
    CHECK_OK(kv_db_compact_segments(db, NULL, 0, &sum));
    CHECK(sum.input_segments == 0);
    CHECK_OK(kv_db_compact_segments(db, &segs[0].id, 1, &sum));
    CHECK(sum.input_segments == 1 && sum.input_bytes > 0);

    CHECK_OK(kv_db_compact(db, &sum));
    CHECK(sum.input_segments >= 2 && sum.output_segments >= 1);
    CHECK(sum.records_dropped > 0 && sum.records_copied > 0);
    CHECK(sum.reclaimed_bytes == sum.input_bytes - sum.output_bytes && sum.reclaimed_bytes > 0);
    kv_stats after;
    CHECK_OK(kv_db_stats(db, &after));
    CHECK(after.merges == 2 && after.merge_failures == 0);
    CHECK(after.merge_reclaimed_bytes >= sum.reclaimed_bytes);
    CHECK(after.disk_bytes < before.disk_bytes);
    CHECK(after.zset_heap_bytes > 0);
    CHECK_OK(kv_db_compact(db, NULL));

    /* Everything is still there, and again after a reopen (hint files). */
    kv_zset_entries *e = NULL;
    CHECK_OK(kv_zset_range_by_rank(db, K("z"), 0, -1, false, &e));
    CHECK_ENTRIES(e, "c:3 d:4 e:5");
    CHECK_OK(kv_db_close(db));
    kv_db_free(db);
    db = open_default();
    uint64_t len = 0;
    CHECK_OK(kv_db_len(db, &len));
    CHECK(len == 51);
    CHECK_OK(kv_zset_range_by_rank(db, K("z"), 0, -1, false, &e));
    CHECK_ENTRIES(e, "c:3 d:4 e:5");
    kv_stats reopened;
    CHECK_OK(kv_db_stats(db, &reopened));
    CHECK(reopened.recovery_segments_from_hints >= 1);
    kv_db_free(db);
}

/* ABI version 2: kv_compaction_summary reports removal_ms and
 * inputs_copied_from_index. The summary starts as 0xff bytes so a field the
 * library does not write (a layout mismatch) cannot pass as zero. */
static void test_compact_summary_reports_inputs_copied_from_index(void) {
    kv_db *db = open_for_compaction();
    /* String puts only, over several segments: every input is copied from
     * the index's list. */
    overwrite_keys(db, 8);
    kv_compaction_summary sum;
    memset(&sum, 0xff, sizeof sum);
    CHECK_OK(kv_db_compact(db, &sum));
    CHECK(sum.input_segments >= 3);
    CHECK(sum.inputs_copied_from_index == sum.input_segments);
    CHECK(sum.removal_ms <= sum.duration_ms);
    CHECK(sum.records_copied == 50);

    /* A segment holding deletes is scanned; the merge output (puts only) is
     * still copied from the list. */
    for (int i = 0; i < 50; i += 5) {
        char key[16];
        int kl = snprintf(key, sizeof key, "k%d", i);
        CHECK_OK(kv_db_delete(db, (const uint8_t *)key, (size_t)kl, NULL));
    }
    memset(&sum, 0xff, sizeof sum);
    CHECK_OK(kv_db_compact(db, &sum));
    CHECK(sum.input_segments >= 2);
    CHECK(sum.inputs_copied_from_index == sum.input_segments - 1);
    CHECK(sum.removal_ms <= sum.duration_ms);
    CHECK(sum.records_copied == 40);
    kv_db_free(db);
}

/* Regression: the cycle's report counted a key twice (and staged two
 * tombstones) when a sample lapped back into its starting shard. */
static void test_run_expiry_cycle_counts_each_key_once(void) {
    kv_options *o = kv_options_new();
    CHECK_OK(kv_options_set_active_expiry(o, false));
    CHECK_OK(kv_options_set_fsync(o, KV_FSYNC_NO));
    kv_db *db = open_with(o);
    kv_options_free(o);
    kv_set_args px = {0};
    px.expiry_kind = KV_EXPIRY_PX;
    px.expiry = 1;
    for (int i = 0; i < 30; i++) {
        char key[16];
        int kl = snprintf(key, sizeof key, "t%d", i);
        CHECK_OK(kv_db_set(db, (const uint8_t *)key, (size_t)kl, K("v"), &px, NULL, NULL));
    }
    seed(db, K("z"), 2);
    CHECK_OK(kv_db_pexpire(db, K("z"), 1, KV_EXPIRE_ALWAYS, NULL));
    CHECK_OK(kv_db_put(db, K("keep"), K("v")));
    sleep_ms(5);
    kv_expiry_cycle_report r;
    memset(&r, 0xff, sizeof r);
    CHECK_OK(kv_db_run_expiry_cycle(db, &r));
    CHECK(r.samples >= 1 && r.sampled_keys >= r.expired_keys);
    /* Within its budget, one cycle purges all 31: every sample is over 25%
     * expired. A cycle can run out of its 25 ms budget (valgrind, a loaded
     * machine) at any point, even before its first purge. */
    if (!r.budget_exhausted) CHECK(r.sampled_keys >= 31 && r.expired_keys == 31);
    /* Run until a cycle ends within its budget having found nothing: every
     * expired key is purged by active expiry, and counted once. */
    uint64_t total = r.expired_keys;
    for (int i = 0; i < 10000 && (r.expired_keys > 0 || r.budget_exhausted); i++) {
        CHECK_OK(kv_db_run_expiry_cycle(db, &r));
        total += r.expired_keys;
    }
    CHECK(r.expired_keys == 0 && !r.budget_exhausted);
    if (total != 31) fprintf(stderr, "  expired %llu keys, want 31\n", (unsigned long long)total);
    CHECK(total == 31);
    CHECK_OK(kv_db_run_expiry_cycle(db, NULL));
    kv_stats st;
    CHECK_OK(kv_db_stats(db, &st));
    CHECK(st.expired_keys_active == 31 && st.expired_keys_lazy == 0 && st.expired_keys == 31);
    CHECK(st.keys == 1 && st.keys_with_ttl == 0);
    kv_db_free(db);
}

int main(void) {
    RUN(test_add_and_flags);
    RUN(test_add_errors);
    RUN(test_member_too_large);
    RUN(test_incrby);
    RUN(test_rem_score_mscore_card);
    RUN(test_count_and_lexcount);
    RUN(test_rank);
    RUN(test_range);
    RUN(test_entries_accessors);
    RUN(test_pop);
    RUN(test_remrange);
    RUN(test_randmember);
    RUN(test_store);
    RUN(test_wrong_type_both_directions);
    RUN(test_ttl_and_persistence);
    RUN(test_score_parse_and_format);
    RUN(test_null_db_and_closed);
    RUN(test_compact);
    RUN(test_compact_summary_reports_inputs_copied_from_index);
    RUN(test_run_expiry_cycle_counts_each_key_once);
    return kv_test_summary();
}
