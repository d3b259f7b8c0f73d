/*
 * runner.h: a minimal test runner for the libkv C tests (no framework).
 *
 *   static void test_something(void) { CHECK(1 + 1 == 2); CHECK_OK(kv_...); }
 *   int main(void) { RUN(test_something); return kv_test_summary(); }
 *
 * Prints "N passed, M failed" last; exits non-zero if any test failed.
 */
#ifndef KV_TEST_RUNNER_H
#define KV_TEST_RUNNER_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kv.h"

static int kv_t_passed;
static int kv_t_failed;
static int kv_t_current_failed;
static char kv_t_dir[256];

#define CHECK(cond)                                                                       \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            fprintf(stderr, "  %s:%d: CHECK(%s) failed (last error: %s)\n", __FILE__,     \
                    __LINE__, #cond, kv_last_error_message());                            \
            kv_t_current_failed = 1;                                                      \
        }                                                                                 \
    } while (0)

/* Checks that `expr` returns the status `want`. */
#define CHECK_STATUS(expr, want)                                                          \
    do {                                                                                  \
        kv_status kv_t_got_ = (expr);                                                     \
        if (kv_t_got_ != (want)) {                                                        \
            fprintf(stderr, "  %s:%d: %s returned %d (%s), want %d (%s); last error: %s\n", \
                    __FILE__, __LINE__, #expr, (int)kv_t_got_, kv_strerror(kv_t_got_),   \
                    (int)(want), kv_strerror(want), kv_last_error_message());             \
            kv_t_current_failed = 1;                                                      \
        }                                                                                 \
    } while (0)

#define CHECK_OK(expr) CHECK_STATUS(expr, KV_OK)

/* Removes the flat test directory `dir` and its files. */
static void kv_t_rmdir(const char *dir) {
    DIR *d = opendir(dir);
    if (d != NULL) {
        struct dirent *e;
        char path[512];
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path);
        }
        closedir(d);
    }
    rmdir(dir);
}

/* A fresh empty directory path for the current test (created by libkv on open). */
static const char *kv_t_tmpdir(void) {
    return kv_t_dir;
}

/* What every libkv program does first: a library built for another layout
 * of the structs these tests allocate would write past their end. */
static void kv_t_check_abi(void) {
    if (kv_abi_version() != KV_ABI_VERSION) {
        fprintf(stderr, "libkv ABI version %u, but the tests were built for %u\n", (unsigned)kv_abi_version(),
                (unsigned)KV_ABI_VERSION);
        exit(2);
    }
}

static void kv_t_run(const char *name, void (*fn)(void)) {
    static int abi_checked;
    if (!abi_checked) {
        kv_t_check_abi();
        abi_checked = 1;
    }
    char tmpl[] = "/tmp/kv-ctest-XXXXXX";
    if (mkdtemp(tmpl) == NULL) {
        perror("mkdtemp");
        exit(2);
    }
    snprintf(kv_t_dir, sizeof kv_t_dir, "%s/db", tmpl);
    kv_t_current_failed = 0;
    fn();
    kv_t_rmdir(kv_t_dir);
    rmdir(tmpl);
    if (kv_t_current_failed) {
        kv_t_failed++;
        fprintf(stderr, "FAIL %s\n", name);
    } else {
        kv_t_passed++;
        printf("ok   %s\n", name);
    }
}

#define RUN(fn) kv_t_run(#fn, fn)

static int kv_test_summary(void) {
    printf("%d passed, %d failed\n", kv_t_passed, kv_t_failed);
    return kv_t_failed == 0 ? 0 : 1;
}

#endif
