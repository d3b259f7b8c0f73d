/* Distributed-lock pattern: acquire with SET key token NX PX ms, release
 * only if we still own it (compare-and-delete). Usage: lock [DB_DIR] */
#include <stdio.h>
#include <string.h>
#include <kv.h>

static bool acquire(kv_db *db, const char *name, const char *token, int64_t ttl_ms) {
    kv_set_args a = {KV_EXPIRY_PX, ttl_ms, KV_SET_NX, false};
    bool written = false;
    kv_db_set(db, (const uint8_t *)name, strlen(name), (const uint8_t *)token, strlen(token), &a, &written, NULL);
    return written;
}

static bool release(kv_db *db, const char *name, const char *token) {
    bool deleted = false;
    kv_db_compare_and_delete(db, (const uint8_t *)name, strlen(name), (const uint8_t *)token, strlen(token), &deleted);
    return deleted;
}

int main(int argc, char **argv) {
    /* The structs of kv.h are allocated here and filled by the library:
     * refuse to run against a library built for another layout. */
    if (kv_abi_version() != KV_ABI_VERSION) {
        fprintf(stderr, "libkv ABI version %u, but built for %u\n", (unsigned)kv_abi_version(), (unsigned)KV_ABI_VERSION);
        return 1;
    }
    kv_db *db;
    if (kv_db_open(argc > 1 ? argv[1] : "/tmp/lock-db", NULL, &db) != KV_OK) {
        fprintf(stderr, "open: %s\n", kv_last_error_message());
        return 1;
    }
    bool a1 = acquire(db, "lock:report", "worker-a", 30000);
    bool b1 = acquire(db, "lock:report", "worker-b", 30000);  /* held by a: refused */
    bool b_rel = release(db, "lock:report", "worker-b");       /* not the owner: no-op */
    bool a_rel = release(db, "lock:report", "worker-a");
    bool b2 = acquire(db, "lock:report", "worker-b", 30000);
    printf("a acquires %d, b refused %d, b cannot release %d, a releases %d, b acquires %d\n", a1, !b1, !b_rel, a_rel, b2);
    kv_db_free(db);
    return (a1 && !b1 && !b_rel && a_rel && b2) ? 0 : 1;
}
