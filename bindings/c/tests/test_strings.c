/* C tests of the Redis string and TTL API: kv_db_set with its options,
 * GETEX/GETDEL, APPEND, STRLEN, GETRANGE/SETRANGE, the INCR family, the
 * EXPIRE/TTL family, PERSIST, compare-and-delete/swap and MGET/MSET/MSETNX. */
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

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Whether this process runs under valgrind (which preloads its vgpreload
 * libraries). valgrind computes x87 `long double` in 64-bit precision, so
 * INCRBYFLOAT's long double overflow to infinity is not observable there. */
static int under_valgrind(void) {
    const char *p = getenv("LD_PRELOAD");
    return p != NULL && strstr(p, "vgpreload") != NULL;
}

static int last_error_is(const char *text) {
    return strcmp(kv_last_error_message(), text) == 0;
}

/* Whether `b` holds exactly the NUL-terminated `want`. */
static int buf_is(const kv_buf *b, const char *want) {
    return b->data != NULL && b->len == strlen(want) && memcmp(b->data, want, b->len) == 0;
}

/* Checks that `key` holds `want` (NULL: missing). */
static void check_value(kv_db *db, const uint8_t *key, size_t key_len, const char *want, int line) {
    kv_buf v = {NULL, 0};
    kv_status st = kv_db_get(db, key, key_len, &v);
    int good = want == NULL ? st == KV_NOT_FOUND : st == KV_OK && buf_is(&v, want);
    if (!good) {
        fprintf(stderr, "  %s:%d: key \"%.*s\": status %d, value \"%.*s\", want %s%s%s\n", __FILE__, line,
                (int)key_len, (const char *)key, (int)st, (int)v.len, v.data ? (const char *)v.data : "",
                want ? "\"" : "", want ? want : "missing", want ? "\"" : "");
        kv_t_current_failed = 1;
    }
    kv_buf_free(&v);
}

#define CHECK_VALUE(db, key_literal, want) check_value((db), K(key_literal), (want), __LINE__)

static int64_t pttl_of(kv_db *db, const uint8_t *key, size_t key_len) {
    int64_t t = -100;
    CHECK_OK(kv_db_pttl(db, key, key_len, &t));
    return t;
}

static void test_set_conditions_and_get(void) {
    kv_db *db = open_default();
    bool written = false;
    kv_buf old = {NULL, 0};
    CHECK_OK(kv_db_set(db, K("k"), K("v1"), NULL, &written, NULL));
    CHECK(written);
    kv_set_args a = {0};
    a.condition = KV_SET_NX;
    CHECK_OK(kv_db_set(db, K("k"), K("v2"), &a, &written, NULL));
    CHECK(!written);
    CHECK_VALUE(db, "k", "v1");
    CHECK_OK(kv_db_set(db, K("new"), K("n"), &a, &written, NULL));
    CHECK(written);
    a.condition = KV_SET_XX;
    CHECK_OK(kv_db_set(db, K("missing"), K("x"), &a, &written, NULL));
    CHECK(!written);
    CHECK_VALUE(db, "missing", NULL);
    CHECK_OK(kv_db_set(db, K("k"), K("v3"), &a, &written, NULL));
    CHECK(written);
    /* GET: the old value, or {NULL, 0} when there was none. */
    a.condition = KV_SET_ALWAYS;
    a.get = true;
    CHECK_OK(kv_db_set(db, K("k"), K("v4"), &a, &written, &old));
    CHECK(written && buf_is(&old, "v3"));
    kv_buf_free(&old);
    CHECK_OK(kv_db_set(db, K("fresh"), K("f"), &a, &written, &old));
    CHECK(written && old.data == NULL && old.len == 0);
    /* NX GET on an existing key: not written, old value returned. */
    a.condition = KV_SET_NX;
    CHECK_OK(kv_db_set(db, K("k"), K("v5"), &a, &written, &old));
    CHECK(!written && buf_is(&old, "v4"));
    kv_buf_free(&old);
    /* Empty value, NULL with length 0. */
    CHECK_OK(kv_db_set(db, K("empty"), NULL, 0, NULL, NULL, NULL));
    CHECK_VALUE(db, "empty", "");
    /* Errors. */
    a.condition = 3;
    CHECK_STATUS(kv_db_set(db, K("k"), K("v"), &a, &written, NULL), KV_INVALID_ARGUMENT);
    CHECK(strstr(kv_last_error_message(), "unknown set condition 3") != NULL);
    a.condition = KV_SET_ALWAYS;
    a.expiry_kind = 6;
    CHECK_STATUS(kv_db_set(db, K("k"), K("v"), &a, &written, NULL), KV_INVALID_ARGUMENT);
    CHECK(strstr(kv_last_error_message(), "unknown expiry kind 6") != NULL);
    CHECK_STATUS(kv_db_set(db, K("k"), NULL, 2, NULL, NULL, NULL), KV_INVALID_ARGUMENT);
    CHECK(strstr(kv_last_error_message(), "value is NULL but its length is 2") != NULL);
    CHECK_STATUS(kv_db_set(db, NULL, 1, K("v"), NULL, NULL, NULL), KV_INVALID_ARGUMENT);
    CHECK_STATUS(kv_db_set(db, K(""), K("v"), NULL, NULL, NULL), KV_INVALID_ARGUMENT);
    CHECK_STATUS(kv_db_set(NULL, K("k"), K("v"), NULL, NULL, NULL), KV_INVALID_ARGUMENT);
    CHECK_VALUE(db, "k", "v4");
    kv_db_free(db);
}

static void test_set_expiry_kinds(void) {
    kv_db *db = open_default();
    kv_set_args a = {0};
    a.expiry_kind = KV_EXPIRY_EX;
    a.expiry = 100;
    CHECK_OK(kv_db_set(db, K("ex"), K("v"), &a, NULL, NULL));
    int64_t t = pttl_of(db, K("ex"));
    CHECK(t > 99000 && t <= 100000);
    a.expiry_kind = KV_EXPIRY_PX;
    a.expiry = 5000;
    CHECK_OK(kv_db_set(db, K("px"), K("v"), &a, NULL, NULL));
    t = pttl_of(db, K("px"));
    CHECK(t > 4000 && t <= 5000);
    int64_t at_s = now_ms() / 1000 + 1000;
    a.expiry_kind = KV_EXPIRY_EXAT;
    a.expiry = at_s;
    CHECK_OK(kv_db_set(db, K("exat"), K("v"), &a, NULL, NULL));
    int64_t et = 0;
    CHECK_OK(kv_db_expiretime(db, K("exat"), &et));
    CHECK(et == at_s);
    a.expiry_kind = KV_EXPIRY_PXAT;
    a.expiry = at_s * 1000 + 123;
    CHECK_OK(kv_db_set(db, K("pxat"), K("v"), &a, NULL, NULL));
    CHECK_OK(kv_db_pexpiretime(db, K("pxat"), &et));
    CHECK(et == at_s * 1000 + 123);
    /* KEEPTTL keeps it; a plain SET drops it. */
    a.expiry_kind = KV_EXPIRY_KEEPTTL;
    CHECK_OK(kv_db_set(db, K("pxat"), K("v2"), &a, NULL, NULL));
    CHECK_OK(kv_db_pexpiretime(db, K("pxat"), &et));
    CHECK(et == at_s * 1000 + 123);
    CHECK_VALUE(db, "pxat", "v2");
    CHECK_OK(kv_db_set(db, K("pxat"), K("v3"), NULL, NULL, NULL));
    CHECK(pttl_of(db, K("pxat")) == -1);
    /* Non-positive times are Redis's error. */
    a.expiry_kind = KV_EXPIRY_EX;
    a.expiry = 0;
    CHECK_STATUS(kv_db_set(db, K("bad"), K("v"), &a, NULL, NULL), KV_INVALID_ARGUMENT);
    CHECK(last_error_is("ERR invalid expire time in 'set' command"));
    a.expiry_kind = KV_EXPIRY_PX;
    a.expiry = -5;
    CHECK_STATUS(kv_db_set(db, K("bad"), K("v"), &a, NULL, NULL), KV_INVALID_ARGUMENT);
    CHECK(last_error_is("ERR invalid expire time in 'set' command"));
    a.expiry = INT64_MAX; /* overflows when added to now */
    CHECK_STATUS(kv_db_set(db, K("bad"), K("v"), &a, NULL, NULL), KV_INVALID_ARGUMENT);
    CHECK_VALUE(db, "bad", NULL);
    /* The expiry takes effect (short PX and one short sleep). */
    a.expiry = 20;
    int64_t started = now_ms();
    CHECK_OK(kv_db_set(db, K("short"), K("v"), &a, NULL, NULL));
    kv_buf sv = {NULL, 0};
    kv_status sst = kv_db_get(db, K("short"), &sv);
    /* Still there unless the process stalled past the TTL between the two
     * calls (valgrind on a loaded machine can): judged by the clock libkv
     * reads, with a millisecond for its rounding. */
    if (now_ms() - started < 19) CHECK(sst == KV_OK && buf_is(&sv, "v"));
    kv_buf_free(&sv);
    sleep_ms(30);
    CHECK_VALUE(db, "short", NULL);
    bool exists = true;
    CHECK_OK(kv_db_exists(db, K("short"), &exists));
    CHECK(!exists);
    kv_db_free(db);
}

static void test_getex_getdel(void) {
    kv_db *db = open_default();
    kv_buf v = {NULL, 0};
    CHECK_OK(kv_db_put(db, K("k"), K("val")));
    CHECK_OK(kv_db_getex(db, K("k"), KV_GETEX_NONE, 0, &v));
    CHECK(buf_is(&v, "val"));
    kv_buf_free(&v);
    CHECK(pttl_of(db, K("k")) == -1);
    CHECK_OK(kv_db_getex(db, K("k"), KV_GETEX_EX, 100, &v));
    kv_buf_free(&v);
    int64_t t = pttl_of(db, K("k"));
    CHECK(t > 99000 && t <= 100000);
    CHECK_OK(kv_db_getex(db, K("k"), KV_GETEX_PX, 5000, &v));
    kv_buf_free(&v);
    t = pttl_of(db, K("k"));
    CHECK(t > 4000 && t <= 5000);
    int64_t at_ms = now_ms() + 60000;
    CHECK_OK(kv_db_getex(db, K("k"), KV_GETEX_PXAT, at_ms, &v));
    kv_buf_free(&v);
    int64_t et = 0;
    CHECK_OK(kv_db_pexpiretime(db, K("k"), &et));
    CHECK(et == at_ms);
    CHECK_OK(kv_db_getex(db, K("k"), KV_GETEX_EXAT, at_ms / 1000 + 10, &v));
    kv_buf_free(&v);
    CHECK_OK(kv_db_expiretime(db, K("k"), &et));
    CHECK(et == at_ms / 1000 + 10);
    CHECK_OK(kv_db_getex(db, K("k"), KV_GETEX_PERSIST, 0, &v));
    CHECK(buf_is(&v, "val"));
    kv_buf_free(&v);
    CHECK(pttl_of(db, K("k")) == -1);
    CHECK_STATUS(kv_db_getex(db, K("missing"), KV_GETEX_EX, 10, &v), KV_NOT_FOUND);
    CHECK(v.data == NULL);
    CHECK_STATUS(kv_db_getex(db, K("k"), 6, 0, &v), KV_INVALID_ARGUMENT);
    CHECK(strstr(kv_last_error_message(), "unknown getex kind 6") != NULL);
    CHECK_STATUS(kv_db_getex(db, K("k"), KV_GETEX_EX, 0, &v), KV_INVALID_ARGUMENT);
    CHECK(last_error_is("ERR invalid expire time in 'getex' command"));
    CHECK_STATUS(kv_db_getex(db, K("k"), KV_GETEX_NONE, 0, NULL), KV_INVALID_ARGUMENT);

    CHECK_OK(kv_db_getdel(db, K("k"), &v));
    CHECK(buf_is(&v, "val"));
    kv_buf_free(&v);
    CHECK_VALUE(db, "k", NULL);
    CHECK_STATUS(kv_db_getdel(db, K("k"), &v), KV_NOT_FOUND);
    CHECK(v.data == NULL);
    CHECK_STATUS(kv_db_getdel(db, K("k"), NULL), KV_INVALID_ARGUMENT);
    kv_db_free(db);
}

static void test_append_strlen_ranges(void) {
    kv_db *db = open_default();
    uint64_t n = 0;
    CHECK_OK(kv_db_append(db, K("k"), K("Hello"), &n));
    CHECK(n == 5);
    CHECK_OK(kv_db_pexpire(db, K("k"), 100000, KV_EXPIRE_ALWAYS, NULL));
    CHECK_OK(kv_db_append(db, K("k"), K(" World"), &n));
    CHECK(n == 11);
    CHECK(pttl_of(db, K("k")) > 0); /* APPEND keeps the expiry */
    CHECK_OK(kv_db_append(db, K("k"), NULL, 0, NULL));
    CHECK_STATUS(kv_db_append(db, K("k"), NULL, 1, NULL), KV_INVALID_ARGUMENT);
    CHECK_OK(kv_db_strlen(db, K("k"), &n));
    CHECK(n == 11);
    CHECK_OK(kv_db_strlen(db, K("missing"), &n));
    CHECK(n == 0);
    CHECK_STATUS(kv_db_strlen(db, K("k"), NULL), KV_INVALID_ARGUMENT);

    kv_buf v = {NULL, 0};
    CHECK_OK(kv_db_getrange(db, K("k"), 0, 4, &v));
    CHECK(buf_is(&v, "Hello"));
    kv_buf_free(&v);
    CHECK_OK(kv_db_getrange(db, K("k"), -5, -1, &v));
    CHECK(buf_is(&v, "World"));
    kv_buf_free(&v);
    CHECK_OK(kv_db_getrange(db, K("k"), 5, 100, &v));
    CHECK(buf_is(&v, " World"));
    kv_buf_free(&v);
    CHECK_OK(kv_db_getrange(db, K("k"), 8, 2, &v));
    CHECK(v.data != NULL && v.len == 0); /* empty, not NULL */
    kv_buf_free(&v);
    CHECK_OK(kv_db_getrange(db, K("missing"), 0, -1, &v));
    CHECK(v.data != NULL && v.len == 0);
    kv_buf_free(&v);
    CHECK_STATUS(kv_db_getrange(db, K("k"), 0, 1, NULL), KV_INVALID_ARGUMENT);

    CHECK_OK(kv_db_setrange(db, K("k"), 6, K("Redis"), &n));
    CHECK(n == 11);
    CHECK_VALUE(db, "k", "Hello Redis");
    CHECK_OK(kv_db_setrange(db, K("pad"), 3, K("x"), &n));
    CHECK(n == 4);
    CHECK_OK(kv_db_get(db, K("pad"), &v));
    CHECK(v.len == 4 && v.data[0] == 0 && v.data[2] == 0 && v.data[3] == 'x');
    kv_buf_free(&v);
    /* An empty value on a missing key creates nothing. */
    CHECK_OK(kv_db_setrange(db, K("none"), 10, NULL, 0, &n));
    CHECK(n == 0);
    CHECK_VALUE(db, "none", NULL);
    CHECK_STATUS(kv_db_setrange(db, K("k"), -1, K("x"), &n), KV_INVALID_ARGUMENT);
    CHECK(last_error_is("ERR offset is out of range"));
    kv_db_free(db);
}

static void test_value_limits(void) {
    kv_options *o = kv_options_new();
    CHECK_OK(kv_options_set_max_value_size(o, 8));
    CHECK_OK(kv_options_set_max_key_size(o, 4));
    kv_db *db = open_with(o);
    kv_options_free(o);
    CHECK_OK(kv_db_append(db, K("k"), K("12345678"), NULL));
    CHECK_STATUS(kv_db_append(db, K("k"), K("9"), NULL), KV_VALUE_TOO_LARGE);
    CHECK_STATUS(kv_db_setrange(db, K("k"), 8, K("9"), NULL), KV_VALUE_TOO_LARGE);
    CHECK_STATUS(kv_db_set(db, K("k"), K("123456789"), NULL, NULL, NULL), KV_VALUE_TOO_LARGE);
    CHECK_STATUS(kv_db_set(db, K("kkkkk"), K("1"), NULL, NULL, NULL), KV_KEY_TOO_LARGE);
    CHECK_STATUS(kv_db_incrby(db, K("kkkkk"), 1, NULL), KV_KEY_TOO_LARGE);
    CHECK_STATUS(kv_db_ttl(db, K("kkkkk"), &(int64_t){0}), KV_KEY_TOO_LARGE);
    CHECK_VALUE(db, "k", "12345678");
    kv_db_free(db);
}

static void test_incr_family(void) {
    kv_db *db = open_default();
    int64_t v = 0;
    CHECK_OK(kv_db_incrby(db, K("n"), 1, &v));
    CHECK(v == 1);
    CHECK_OK(kv_db_incrby(db, K("n"), 41, &v));
    CHECK(v == 42);
    CHECK_OK(kv_db_incrby(db, K("n"), -50, &v));
    CHECK(v == -8);
    CHECK_OK(kv_db_decrby(db, K("n"), 2, &v));
    CHECK(v == -10);
    CHECK_OK(kv_db_decrby(db, K("n"), -10, NULL));
    CHECK_VALUE(db, "n", "0");
    /* INCR keeps the expiry. */
    CHECK_OK(kv_db_pexpire(db, K("n"), 100000, KV_EXPIRE_ALWAYS, NULL));
    CHECK_OK(kv_db_incrby(db, K("n"), 1, &v));
    CHECK(pttl_of(db, K("n")) > 0);

    CHECK_OK(kv_db_put(db, K("text"), K("abc")));
    CHECK_STATUS(kv_db_incrby(db, K("text"), 1, &v), KV_NOT_INTEGER);
    CHECK(last_error_is("ERR value is not an integer or out of range"));
    CHECK_OK(kv_db_put(db, K("space"), K(" 1")));
    CHECK_STATUS(kv_db_incrby(db, K("space"), 1, &v), KV_NOT_INTEGER);
    CHECK_OK(kv_db_put(db, K("big"), K("9223372036854775808")));
    CHECK_STATUS(kv_db_incrby(db, K("big"), 1, &v), KV_NOT_INTEGER);
    CHECK_OK(kv_db_put(db, K("max"), K("9223372036854775807")));
    CHECK_STATUS(kv_db_incrby(db, K("max"), 1, &v), KV_OVERFLOW);
    CHECK(last_error_is("ERR increment or decrement would overflow"));
    CHECK_VALUE(db, "max", "9223372036854775807");
    CHECK_OK(kv_db_put(db, K("min"), K("-9223372036854775808")));
    CHECK_STATUS(kv_db_decrby(db, K("min"), 1, &v), KV_OVERFLOW);
    /* DECRBY INT64_MIN cannot be negated: Redis's own error. */
    CHECK_STATUS(kv_db_decrby(db, K("n"), INT64_MIN, &v), KV_INVALID_ARGUMENT);
    CHECK(last_error_is("ERR decrement would overflow"));
    CHECK_OK(kv_db_incrby(db, K("fresh"), INT64_MIN, &v));
    CHECK(v == INT64_MIN);
    kv_db_free(db);
}

static void test_incrbyfloat(void) {
    kv_db *db = open_default();
    /* Under valgrind results are not Redis's: only memory is checked there. */
    const int exact = !under_valgrind();
    kv_buf out = {NULL, 0};
    CHECK_OK(kv_db_put(db, K("f"), K("10.50")));
    CHECK_OK(kv_db_incrbyfloat(db, K("f"), K("0.1"), &out));
    CHECK(!exact || buf_is(&out, "10.6"));
    kv_buf_free(&out);
    CHECK_OK(kv_db_incrbyfloat(db, K("f"), K("-5"), NULL));
    if (exact) CHECK_VALUE(db, "f", "5.6");
    CHECK_OK(kv_db_incrbyfloat(db, K("new"), K("5.0e3"), &out));
    CHECK(buf_is(&out, "5000"));
    kv_buf_free(&out);
    CHECK_OK(kv_db_put(db, K("int"), K("3")));
    CHECK_OK(kv_db_incrbyfloat(db, K("int"), K("1.5"), &out));
    CHECK(buf_is(&out, "4.5"));
    kv_buf_free(&out);
    CHECK_STATUS(kv_db_incrbyfloat(db, K("f"), K("abc"), &out), KV_NOT_FLOAT);
    CHECK(last_error_is("ERR value is not a valid float"));
    CHECK(out.data == NULL);
    CHECK_OK(kv_db_put(db, K("text"), K("abc")));
    CHECK_STATUS(kv_db_incrbyfloat(db, K("text"), K("1"), &out), KV_NOT_FLOAT);
    CHECK_STATUS(kv_db_incrbyfloat(db, K("f"), K("nan"), &out), KV_NOT_FLOAT);
    if (exact) {
        CHECK_STATUS(kv_db_incrbyfloat(db, K("f"), K("inf"), &out), KV_INVALID_ARGUMENT);
        CHECK(last_error_is("ERR increment would produce NaN or Infinity"));
        kv_buf_free(&out);
        CHECK_VALUE(db, "f", "5.6");
    }
    CHECK_STATUS(kv_db_incrbyfloat(db, K("f"), NULL, 0, &out), KV_INVALID_ARGUMENT);
    CHECK_STATUS(kv_db_incrbyfloat(db, K("f"), NULL, 3, &out), KV_INVALID_ARGUMENT);
    kv_db_free(db);
}

static void test_expire_family_and_conditions(void) {
    kv_db *db = open_default();
    bool set = true;
    /* Missing key: not set. */
    CHECK_OK(kv_db_expire(db, K("missing"), 10, KV_EXPIRE_ALWAYS, &set));
    CHECK(!set);
    CHECK_OK(kv_db_put(db, K("k"), K("v")));
    /* No TTL: XX refuses, GT refuses (no TTL is infinite), LT accepts. */
    CHECK_OK(kv_db_expire(db, K("k"), 100, KV_EXPIRE_XX, &set));
    CHECK(!set);
    CHECK_OK(kv_db_expire(db, K("k"), 100, KV_EXPIRE_GT, &set));
    CHECK(!set);
    CHECK_OK(kv_db_expire(db, K("k"), 100, KV_EXPIRE_XX_LT, &set));
    CHECK(!set);
    CHECK_OK(kv_db_expire(db, K("k"), 100, KV_EXPIRE_NX, &set));
    CHECK(set);
    CHECK_OK(kv_db_expire(db, K("k"), 200, KV_EXPIRE_NX, &set));
    CHECK(!set);
    int64_t ttl = 0;
    CHECK_OK(kv_db_ttl(db, K("k"), &ttl));
    CHECK(ttl > 98 && ttl <= 100);
    CHECK_OK(kv_db_expire(db, K("k"), 50, KV_EXPIRE_GT, &set));
    CHECK(!set);
    CHECK_OK(kv_db_expire(db, K("k"), 200, KV_EXPIRE_GT, &set));
    CHECK(set);
    CHECK_OK(kv_db_expire(db, K("k"), 300, KV_EXPIRE_LT, &set));
    CHECK(!set);
    CHECK_OK(kv_db_expire(db, K("k"), 150, KV_EXPIRE_XX_LT, &set));
    CHECK(set);
    CHECK_OK(kv_db_expire(db, K("k"), 120, KV_EXPIRE_XX, &set));
    CHECK(set);
    CHECK_OK(kv_db_ttl(db, K("k"), &ttl));
    CHECK(ttl > 118 && ttl <= 120);

    CHECK_OK(kv_db_pexpire(db, K("k"), 5000, KV_EXPIRE_ALWAYS, &set));
    CHECK(set);
    CHECK_OK(kv_db_pttl(db, K("k"), &ttl));
    CHECK(ttl > 4000 && ttl <= 5000);
    int64_t at_s = now_ms() / 1000 + 500;
    CHECK_OK(kv_db_expireat(db, K("k"), at_s, KV_EXPIRE_ALWAYS, &set));
    int64_t et = 0;
    CHECK_OK(kv_db_expiretime(db, K("k"), &et));
    CHECK(set && et == at_s);
    CHECK_OK(kv_db_pexpireat(db, K("k"), at_s * 1000 + 7, KV_EXPIRE_ALWAYS, &set));
    CHECK_OK(kv_db_pexpiretime(db, K("k"), &et));
    CHECK(set && et == at_s * 1000 + 7);
    CHECK_OK(kv_db_pexpire(db, K("k"), 1000, KV_EXPIRE_ALWAYS, NULL));

    /* Errors. */
    CHECK_STATUS(kv_db_expire(db, K("k"), 10, 6, &set), KV_INVALID_ARGUMENT);
    CHECK(strstr(kv_last_error_message(), "unknown expire condition 6") != NULL);
    CHECK(!set);
    CHECK_STATUS(kv_db_expire(db, K("k"), INT64_MAX, KV_EXPIRE_ALWAYS, &set), KV_INVALID_ARGUMENT);
    CHECK(last_error_is("ERR invalid expire time in 'expire' command"));
    CHECK_STATUS(kv_db_pexpire(db, K("k"), INT64_MAX, KV_EXPIRE_ALWAYS, &set), KV_INVALID_ARGUMENT);
    CHECK(last_error_is("ERR invalid expire time in 'pexpire' command"));
    CHECK_STATUS(kv_db_expire(db, NULL, 1, 10, KV_EXPIRE_ALWAYS, &set), KV_INVALID_ARGUMENT);

    /* A non-positive or past time deletes the key (and reports set). */
    CHECK_OK(kv_db_put(db, K("d1"), K("v")));
    CHECK_OK(kv_db_expire(db, K("d1"), 0, KV_EXPIRE_ALWAYS, &set));
    CHECK(set);
    CHECK_VALUE(db, "d1", NULL);
    CHECK_OK(kv_db_put(db, K("d2"), K("v")));
    CHECK_OK(kv_db_pexpire(db, K("d2"), -1, KV_EXPIRE_ALWAYS, NULL));
    CHECK_VALUE(db, "d2", NULL);
    CHECK_OK(kv_db_put(db, K("d3"), K("v")));
    CHECK_OK(kv_db_expireat(db, K("d3"), 1, KV_EXPIRE_ALWAYS, &set));
    CHECK(set);
    CHECK_VALUE(db, "d3", NULL);
    CHECK_OK(kv_db_put(db, K("d4"), K("v")));
    CHECK_OK(kv_db_pexpireat(db, K("d4"), now_ms() - 1000, KV_EXPIRE_ALWAYS, NULL));
    CHECK_VALUE(db, "d4", NULL);
    kv_db_free(db);
}

static void test_ttl_queries_and_persist(void) {
    kv_db *db = open_default();
    int64_t t = 0;
    CHECK_OK(kv_db_ttl(db, K("missing"), &t));
    CHECK(t == -2);
    CHECK_OK(kv_db_pttl(db, K("missing"), &t));
    CHECK(t == -2);
    CHECK_OK(kv_db_expiretime(db, K("missing"), &t));
    CHECK(t == -2);
    CHECK_OK(kv_db_pexpiretime(db, K("missing"), &t));
    CHECK(t == -2);
    CHECK_OK(kv_db_put(db, K("k"), K("v")));
    CHECK_OK(kv_db_ttl(db, K("k"), &t));
    CHECK(t == -1);
    CHECK_OK(kv_db_pttl(db, K("k"), &t));
    CHECK(t == -1);
    CHECK_OK(kv_db_expiretime(db, K("k"), &t));
    CHECK(t == -1);
    CHECK_OK(kv_db_pexpiretime(db, K("k"), &t));
    CHECK(t == -1);
    CHECK_STATUS(kv_db_ttl(db, K("k"), NULL), KV_INVALID_ARGUMENT);
    CHECK_STATUS(kv_db_pttl(db, K("k"), NULL), KV_INVALID_ARGUMENT);
    CHECK_STATUS(kv_db_expiretime(db, K("k"), NULL), KV_INVALID_ARGUMENT);
    CHECK_STATUS(kv_db_pexpiretime(db, K("k"), NULL), KV_INVALID_ARGUMENT);
    CHECK_STATUS(kv_db_ttl(db, K(""), &t), KV_INVALID_ARGUMENT);

    bool removed = true;
    CHECK_OK(kv_db_persist(db, K("k"), &removed));
    CHECK(!removed);
    CHECK_OK(kv_db_expire(db, K("k"), 100, KV_EXPIRE_ALWAYS, NULL));
    CHECK_OK(kv_db_persist(db, K("k"), &removed));
    CHECK(removed);
    CHECK_OK(kv_db_ttl(db, K("k"), &t));
    CHECK(t == -1);
    CHECK_OK(kv_db_persist(db, K("missing"), &removed));
    CHECK(!removed);
    CHECK_OK(kv_db_persist(db, K("k"), NULL));
    kv_db_free(db);
}

static void test_compare_and_delete_swap(void) {
    kv_db *db = open_default();
    bool done = true;
    CHECK_OK(kv_db_put(db, K("lock"), K("token-1")));
    CHECK_OK(kv_db_compare_and_delete(db, K("lock"), K("token-2"), &done));
    CHECK(!done);
    CHECK_VALUE(db, "lock", "token-1");
    CHECK_OK(kv_db_compare_and_delete(db, K("lock"), K("token-1"), &done));
    CHECK(done);
    CHECK_VALUE(db, "lock", NULL);
    CHECK_OK(kv_db_compare_and_delete(db, K("lock"), K("token-1"), &done));
    CHECK(!done);
    CHECK_STATUS(kv_db_compare_and_delete(db, K("lock"), NULL, 2, &done), KV_INVALID_ARGUMENT);

    CHECK_OK(kv_db_put(db, K("cas"), K("a")));
    CHECK_OK(kv_db_compare_and_swap(db, K("cas"), K("x"), K("b"), KV_EXPIRY_NONE, 0, &done));
    CHECK(!done);
    CHECK_VALUE(db, "cas", "a");
    CHECK_OK(kv_db_compare_and_swap(db, K("cas"), K("a"), K("b"), KV_EXPIRY_PX, 5000, &done));
    CHECK(done);
    CHECK_VALUE(db, "cas", "b");
    int64_t t = pttl_of(db, K("cas"));
    CHECK(t > 4000 && t <= 5000);
    CHECK_OK(kv_db_compare_and_swap(db, K("cas"), K("b"), K("c"), KV_EXPIRY_KEEPTTL, 0, &done));
    CHECK(done && pttl_of(db, K("cas")) > 0);
    CHECK_OK(kv_db_compare_and_swap(db, K("cas"), K("c"), K("d"), KV_EXPIRY_NONE, 0, NULL));
    CHECK(pttl_of(db, K("cas")) == -1);
    CHECK_VALUE(db, "cas", "d");
    CHECK_OK(kv_db_compare_and_swap(db, K("missing"), K("a"), K("b"), KV_EXPIRY_NONE, 0, &done));
    CHECK(!done);
    CHECK_VALUE(db, "missing", NULL);
    CHECK_STATUS(kv_db_compare_and_swap(db, K("cas"), K("d"), K("e"), 9, 0, &done), KV_INVALID_ARGUMENT);
    CHECK(!done);
    CHECK_STATUS(kv_db_compare_and_swap(db, K("cas"), K("d"), NULL, 1, KV_EXPIRY_NONE, 0, &done),
                 KV_INVALID_ARGUMENT);
    CHECK_VALUE(db, "cas", "d");
    kv_db_free(db);
}

static void test_mget_mset_msetnx(void) {
    kv_db *db = open_default();
    const kv_slice keys[] = {SL("a"), SL("b"), SL("c")};
    const kv_slice values[] = {SL("1"), SL(""), SL("3")};
    CHECK_OK(kv_db_mset(db, keys, values, 3));
    CHECK_VALUE(db, "b", "");
    const kv_slice q[] = {SL("a"), SL("missing"), SL("b"), SL("z")};
    const double one[] = {1};
    const kv_slice zm[] = {SL("m")};
    CHECK_OK(kv_zset_add(db, K("z"), 0, one, zm, 1, NULL));
    kv_buf out[4];
    CHECK_OK(kv_db_mget(db, q, 4, out));
    CHECK(buf_is(&out[0], "1") && out[1].data == NULL && out[2].data != NULL && out[2].len == 0);
    CHECK(out[3].data == NULL); /* not a string: nil, as Redis */
    for (int i = 0; i < 4; i++) kv_buf_free(&out[i]);
    CHECK_OK(kv_db_mget(db, NULL, 0, NULL));

    /* MSET drops TTLs. */
    CHECK_OK(kv_db_expire(db, K("a"), 100, KV_EXPIRE_ALWAYS, NULL));
    CHECK_OK(kv_db_mset(db, keys, values, 1));
    CHECK(pttl_of(db, K("a")) == -1);

    bool set = true;
    const kv_slice nk[] = {SL("n1"), SL("a")};
    const kv_slice nv[] = {SL("x"), SL("y")};
    CHECK_OK(kv_db_msetnx(db, nk, nv, 2, &set));
    CHECK(!set);
    CHECK_VALUE(db, "n1", NULL);
    CHECK_VALUE(db, "a", "1");
    CHECK_OK(kv_db_msetnx(db, nk, nv, 1, &set));
    CHECK(set);
    CHECK_VALUE(db, "n1", "x");
    /* A sorted set counts as existing. */
    const kv_slice zk[] = {SL("n2"), SL("z")};
    CHECK_OK(kv_db_msetnx(db, zk, nv, 2, &set));
    CHECK(!set);

    /* Errors. */
    CHECK_STATUS(kv_db_mset(db, keys, values, 0), KV_INVALID_ARGUMENT);
    CHECK(last_error_is("ERR wrong number of arguments for 'mset' command"));
    CHECK_STATUS(kv_db_msetnx(db, keys, values, 0, &set), KV_INVALID_ARGUMENT);
    CHECK(last_error_is("ERR wrong number of arguments for 'msetnx' command"));
    CHECK_STATUS(kv_db_mset(db, NULL, values, 2), KV_INVALID_ARGUMENT);
    CHECK(strstr(kv_last_error_message(), "keys is NULL") != NULL);
    CHECK_STATUS(kv_db_mset(db, keys, NULL, 2), KV_INVALID_ARGUMENT);
    CHECK(strstr(kv_last_error_message(), "values is NULL") != NULL);
    const kv_slice bad_keys[] = {SL("ok"), SL("")};
    CHECK_STATUS(kv_db_mset(db, bad_keys, values, 2), KV_INVALID_ARGUMENT);
    CHECK(strstr(kv_last_error_message(), "keys[1] is empty") != NULL);
    CHECK_VALUE(db, "ok", NULL); /* nothing written */
    const kv_slice bad_values[] = {SL("v"), {NULL, 4}};
    CHECK_STATUS(kv_db_mset(db, keys, bad_values, 2), KV_INVALID_ARGUMENT);
    CHECK(strstr(kv_last_error_message(), "values[1] is NULL") != NULL);
    /* Failed MGET leaves every element {NULL, 0}. */
    kv_buf two[2] = {{(uint8_t *)1, 1}, {(uint8_t *)1, 1}};
    CHECK_STATUS(kv_db_mget(db, bad_keys, 2, two), KV_INVALID_ARGUMENT);
    CHECK(two[0].data == NULL && two[1].data == NULL && two[0].len == 0);
    CHECK_STATUS(kv_db_mget(db, keys, 2, NULL), KV_INVALID_ARGUMENT);
    CHECK_STATUS(kv_db_mget(NULL, keys, 2, two), KV_INVALID_ARGUMENT);
    kv_db_free(db);
}

/* Regression: with a NULL kv_buf out-parameter, kv_db_incrbyfloat and
 * kv_db_set with GET built the buffer anyway and leaked it (found by ASan;
 * this test fails under `make test-c`'s ASan and valgrind runs). */
static void test_null_buffer_outs_do_not_leak(void) {
    kv_db *db = open_default();
    CHECK_OK(kv_db_incrbyfloat(db, K("f"), K("1.5"), NULL));
    CHECK_VALUE(db, "f", "1.5");
    kv_set_args get = {0};
    get.get = true;
    bool written = false;
    CHECK_OK(kv_db_set(db, K("f"), K("new"), &get, &written, NULL));
    CHECK(written);
    CHECK_VALUE(db, "f", "new");
    kv_db_free(db);
}

static void test_null_db_and_closed(void) {
    int64_t i = 0;
    uint64_t u = 0;
    bool b = false;
    kv_buf v = {NULL, 0};
    CHECK_STATUS(kv_db_set(NULL, K("k"), K("v"), NULL, NULL, NULL), KV_INVALID_ARGUMENT);
    CHECK(strstr(kv_last_error_message(), "db is NULL") != NULL);
    CHECK_STATUS(kv_db_getex(NULL, K("k"), 0, 0, &v), KV_INVALID_ARGUMENT);
    CHECK_STATUS(kv_db_getdel(NULL, K("k"), &v), KV_INVALID_ARGUMENT);
    CHECK_STATUS(kv_db_append(NULL, K("k"), K("v"), &u), KV_INVALID_ARGUMENT);
    CHECK_STATUS(kv_db_strlen(NULL, K("k"), &u), KV_INVALID_ARGUMENT);
    CHECK_STATUS(kv_db_getrange(NULL, K("k"), 0, 1, &v), KV_INVALID_ARGUMENT);
    CHECK_STATUS(kv_db_setrange(NULL, K("k"), 0, K("v"), &u), KV_INVALID_ARGUMENT);
    CHECK_STATUS(kv_db_incrby(NULL, K("k"), 1, &i), KV_INVALID_ARGUMENT);
    CHECK_STATUS(kv_db_decrby(NULL, K("k"), 1, &i), KV_INVALID_ARGUMENT);
    CHECK_STATUS(kv_db_incrbyfloat(NULL, K("k"), K("1"), &v), KV_INVALID_ARGUMENT);
    CHECK_STATUS(kv_db_expire(NULL, K("k"), 1, 0, &b), KV_INVALID_ARGUMENT);
    CHECK_STATUS(kv_db_pexpire(NULL, K("k"), 1, 0, &b), KV_INVALID_ARGUMENT);
    CHECK_STATUS(kv_db_expireat(NULL, K("k"), 1, 0, &b), KV_INVALID_ARGUMENT);
    CHECK_STATUS(kv_db_pexpireat(NULL, K("k"), 1, 0, &b), KV_INVALID_ARGUMENT);
    CHECK_STATUS(kv_db_persist(NULL, K("k"), &b), KV_INVALID_ARGUMENT);
    CHECK_STATUS(kv_db_ttl(NULL, K("k"), &i), KV_INVALID_ARGUMENT);
    CHECK_STATUS(kv_db_compare_and_delete(NULL, K("k"), K("t"), &b), KV_INVALID_ARGUMENT);
    CHECK_STATUS(kv_db_compare_and_swap(NULL, K("k"), K("a"), K("b"), 0, 0, &b), KV_INVALID_ARGUMENT);

    kv_db *db = open_default();
    CHECK_OK(kv_db_close(db));
    CHECK_STATUS(kv_db_set(db, K("k"), K("v"), NULL, NULL, NULL), KV_CLOSED);
    CHECK_STATUS(kv_db_incrby(db, K("k"), 1, &i), KV_CLOSED);
    CHECK_STATUS(kv_db_ttl(db, K("k"), &i), KV_CLOSED);
    const kv_slice keys[] = {SL("a")};
    CHECK_STATUS(kv_db_mset(db, keys, keys, 1), KV_CLOSED);
    kv_db_free(db);
}

int main(void) {
    RUN(test_set_conditions_and_get);
    RUN(test_set_expiry_kinds);
    RUN(test_getex_getdel);
    RUN(test_append_strlen_ranges);
    RUN(test_value_limits);
    RUN(test_incr_family);
    RUN(test_incrbyfloat);
    RUN(test_expire_family_and_conditions);
    RUN(test_ttl_queries_and_persist);
    RUN(test_compare_and_delete_swap);
    RUN(test_mget_mset_msetnx);
    RUN(test_null_buffer_outs_do_not_leak);
    RUN(test_null_db_and_closed);
    return kv_test_summary();
}
