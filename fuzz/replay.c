/* Standalone driver for builds without a fuzzing engine: replays files and
 * directories (recursively, in name order) through LLVMFuzzerTestOneInput.
 * Each input runs in a forked child, from an exact-size malloc'd copy, so
 * one crash (abort, ASan report, signal) is reported as FAIL and the rest
 * still run. --no-fork runs in-process (debuggers, coverage).
 * Exit status: 0 iff every input passed. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int use_fork = 1;
static unsigned long passed, failed;

static int cmp_names(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Returns 0 on success; prints its own diagnostics. */
static int run_one(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return 1;
    }
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    if (len < 0) {
        fclose(f);
        return 1;
    }
    /* Exact size, so ASan flags any read past the input. */
    uint8_t *data = malloc(len ? (size_t)len : 1);
    if (!data || fread(data, 1, (size_t)len, f) != (size_t)len) {
        fprintf(stderr, "%s: read error\n", path);
        fclose(f);
        free(data);
        return 1;
    }
    fclose(f);
    int rc = 0;
    if (use_fork) {
        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0) {
            perror("fork");
            rc = 1;
        } else if (pid == 0) {
            LLVMFuzzerTestOneInput(data, (size_t)len);
            free(data);
            _exit(0);
        } else {
            int status;
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
                ;
            }
            if (WIFSIGNALED(status)) {
                fprintf(stderr, "%s: killed by signal %d\n", path, WTERMSIG(status));
                rc = 1;
            } else if (WEXITSTATUS(status) != 0) {
                rc = 1;
            }
        }
    } else {
        LLVMFuzzerTestOneInput(data, (size_t)len);
    }
    free(data);
    return rc;
}

/* Recursion depth is the directory depth of the inputs given. */
static void replay(const char *path) /* NOLINT(misc-no-recursion): walks a directory tree */
{
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        failed++;
        return;
    }
    if (!S_ISDIR(st.st_mode)) {
        printf("%s ", path);
        fflush(stdout);
        int rc = run_one(path);
        printf("%s\n", rc ? "FAIL" : "OK");
        fflush(stdout);
        if (rc) {
            failed++;
        } else {
            passed++;
        }
        return;
    }
    DIR *d = opendir(path);
    if (!d) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        failed++;
        return;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    /* cppcheck-suppress readdirCalled ; single-threaded, and readdir_r is deprecated */
    for (struct dirent *de; (de = readdir(d)) != NULL;) {
        if (de->d_name[0] == '.') {
            continue; /* also skips . and .. */
        }
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn) {
                abort();
            }
            names = nn;
        }
        size_t len = strlen(path) + strlen(de->d_name) + 2;
        names[n] = malloc(len);
        if (!names[n]) {
            abort();
        }
        snprintf(names[n], len, "%s/%s", path, de->d_name);
        n++;
    }
    closedir(d);
    if (n) {
        qsort(names, n, sizeof *names, cmp_names);
    }
    for (size_t i = 0; i < n; i++) {
        replay(names[i]);
        free(names[i]);
    }
    free(names);
}

int main(int argc, char **argv)
{
    int files = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--no-fork") == 0) {
            use_fork = 0;
            continue;
        }
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: %s [--no-fork] FILE|DIR...\n", argv[0]);
            return 0;
        }
        replay(argv[i]);
        files++;
    }
    if (!files) {
        fprintf(stderr, "usage: %s [--no-fork] FILE|DIR...\n", argv[0]);
        return 2;
    }
    printf("replayed %lu inputs: %lu OK, %lu FAIL\n", passed + failed, passed, failed);
    return failed ? 1 : 0;
}
