/* Built by `make test-c` with `cc app.c $(pkg-config --cflags --libs libkv)`
 * against a temporary install: proves the installed header, libraries and
 * libkv.pc work together. Usage: pkgconfig_app DB_DIR */
#include <stdio.h>
#include <string.h>

#include <kv.h>

int main(int argc, char **argv) {
    if (argc != 2) return 2;
    /* The structs of kv.h are allocated here and filled by the library:
     * refuse to run against a library built for another layout. */
    if (kv_abi_version() != KV_ABI_VERSION) {
        fprintf(stderr, "libkv ABI version %u, but built for %u\n", (unsigned)kv_abi_version(), (unsigned)KV_ABI_VERSION);
        return 1;
    }
    kv_db *db = NULL;
    if (kv_db_open(argv[1], NULL, &db) != KV_OK) {
        fprintf(stderr, "open: %s\n", kv_last_error_message());
        return 1;
    }
    kv_buf v = {NULL, 0};
    int ok = kv_db_put(db, (const uint8_t *)"k", 1, (const uint8_t *)"v", 1) == KV_OK &&
             kv_db_get(db, (const uint8_t *)"k", 1, &v) == KV_OK && v.len == 1 && v.data[0] == 'v';
    kv_buf_free(&v);
    ok = ok && kv_db_close(db) == KV_OK;
    kv_db_free(db);
    printf("libkv %s via pkg-config: %s\n", kv_version(), ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}
