/* INCRBYFLOAT arithmetic exactly as Redis 7 does it (src/util.c string2ld and
 * ld2string with LD_STR_HUMAN, src/t_string.c incrbyfloatCommand).
 *
 * Why C: Redis parses with strtold, adds in `long double` (x87 80-bit on
 * x86-64) and prints with "%.17Lf". Rust has no long double, and f64 gives
 * visibly different answers (10.5 + 0.1 prints 10.59999999999999964 in f64
 * but 10.6 in Redis). Using the same libc routines gives the same digits as
 * a Redis server on the same platform. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Redis MAX_LONG_DOUBLE_CHARS. */
#define KV_MAX_LONG_DOUBLE_CHARS (5 * 1024)

/* Redis string2ld: 1 on success, 0 if `s` is not a valid float. */
static int kv_string2ld(const char *s, size_t slen, long double *dp) {
    char buf[KV_MAX_LONG_DOUBLE_CHARS];
    long double value;
    char *eptr;

    if (slen == 0 || slen >= sizeof(buf)) return 0;
    memcpy(buf, s, slen);
    buf[slen] = '\0';

    errno = 0;
    value = strtold(buf, &eptr);
    /* `eptr - buf != slen` rejects an embedded NUL ("\0" + "0" parses as
     * an empty string otherwise), as Redis's string2ld does. */
    if (isspace((unsigned char)buf[0]) || eptr[0] != '\0' || (size_t)(eptr - buf) != slen ||
        (errno == ERANGE && (value == HUGE_VAL || value == -HUGE_VAL || fpclassify(value) == FP_ZERO)) ||
        isnan(value))
        return 0;
    *dp = value;
    return 1;
}

/* Redis ld2string(LD_STR_HUMAN) for a finite value: "%.17Lf", then trailing
 * zeros after the point and a bare point removed, "-0" printed as "0".
 * Returns the length, or -1 if `out` is too small. */
static int kv_ld2string_human(char *out, size_t cap, long double value) {
    int l = snprintf(out, cap, "%.17Lf", value);
    if (l < 0 || (size_t)l + 1 > cap) return -1;
    if (strchr(out, '.') != NULL) {
        char *p = out + l - 1;
        while (*p == '0') {
            p--;
            l--;
        }
        if (*p == '.') l--;
    }
    if (l == 2 && out[0] == '-' && out[1] == '0') {
        out[0] = '0';
        l = 1;
    }
    return l;
}

/* Return codes shared with src/long_double.rs. */
#define KV_LD_OK 0
#define KV_LD_NOT_FLOAT 1
#define KV_LD_NAN_OR_INF 2
#define KV_LD_BUFFER 3

/* value(cur, or 0 when has_cur == 0) + incr, formatted into out.
 * All pointers are valid for the given lengths (checked by the caller). */
int kv_ld_add_human(const char *cur, size_t cur_len, int has_cur, const char *incr, size_t incr_len, char *out,
                    size_t out_cap, size_t *out_len) {
    long double value = 0, inc;
    int l;
    if (has_cur && !kv_string2ld(cur, cur_len, &value)) return KV_LD_NOT_FLOAT;
    if (!kv_string2ld(incr, incr_len, &inc)) return KV_LD_NOT_FLOAT;
    value += inc;
    if (isnan(value) || isinf(value)) return KV_LD_NAN_OR_INF;
    l = kv_ld2string_human(out, out_cap, value);
    if (l < 0) return KV_LD_BUFFER;
    *out_len = (size_t)l;
    return KV_LD_OK;
}
