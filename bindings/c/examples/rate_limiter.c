/* Fixed-window rate limiter: INCR the window's counter, EXPIRE it on the
 * first hit (Redis pattern). Usage: rate_limiter [DB_DIR] */
#include <stdio.h>
#include <string.h>
#include <kv.h>

/* Returns 1 if the request is allowed, 0 if over `limit` in the window, -1 on error. */
static int allow(kv_db *db, const char *client, int64_t limit, int64_t window_s) {
    char key[64];
    int n = snprintf(key, sizeof key, "ratelimit:%s", client);
    int64_t count = 0;
    if (kv_db_incrby(db, (const uint8_t *)key, (size_t)n, 1, &count) != KV_OK) return -1;
    /* NX: only the first hit of a window starts its clock. */
    if (count == 1 && kv_db_expire(db, (const uint8_t *)key, (size_t)n, window_s, KV_EXPIRE_NX, NULL) != KV_OK) return -1;
    return count <= limit;
}

int main(int argc, char **argv) {
    /* The structs of kv.h are allocated here and filled by the library:
     * refuse to run against a library built for another layout. */
    if (kv_abi_version() != KV_ABI_VERSION) {
        fprintf(stderr, "libkv ABI version %u, but built for %u\n", (unsigned)kv_abi_version(), (unsigned)KV_ABI_VERSION);
        return 1;
    }
    kv_db *db;
    if (kv_db_open(argc > 1 ? argv[1] : "/tmp/rate-limiter-db", NULL, &db) != KV_OK) {
        fprintf(stderr, "open: %s\n", kv_last_error_message());
        return 1;
    }
    int allowed = 0, denied = 0;
    for (int i = 0; i < 8; i++) {
        int r = allow(db, "10.0.0.1", 5, 60);
        if (r < 0) { fprintf(stderr, "error: %s\n", kv_last_error_message()); kv_db_free(db); return 1; }
        r ? allowed++ : denied++;
    }
    int64_t ttl = 0;
    kv_db_ttl(db, (const uint8_t *)"ratelimit:10.0.0.1", 18, &ttl);
    printf("allowed %d, denied %d, window resets in %lld s\n", allowed, denied, (long long)ttl);
    kv_db_free(db);
    return (allowed == 5 && denied == 3 && ttl > 0 && ttl <= 60) ? 0 : 1;
}
