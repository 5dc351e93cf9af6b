/* Planted bugs for the static analyzers: scripts/lint.sh fails unless each
 * analyzer (clang-tidy, cppcheck, gcc -fanalyzer, scan-build) reports at
 * least one of them, so a broken configuration that checks nothing cannot
 * pass as "zero findings". Never built into a program. */
#include <stdlib.h>
#include <string.h>

#include "bitmapalloc.h"

int planted_null_deref(int n);
int planted_leak(size_t n);
int planted_uninit(int flag);
int planted_use_after_free(void);

int planted_null_deref(int n)
{
    int *p = NULL;
    if (n > 3) {
        p = malloc(sizeof *p);
    }
    *p = n; /* PLANTED: NULL dereference when n <= 3 (and malloc unchecked) */
    n = *p;
    free(p);
    return n;
}

int planted_leak(size_t n)
{
    char *s = malloc(n + 1u);
    if (s == NULL) {
        return -1;
    }
    memset(s, 'x', n);
    s[n] = '\0';
    if (n > 10u) {
        return 1; /* PLANTED: s leaks */
    }
    free(s);
    return 0;
}

int planted_uninit(int flag)
{
    int value;
    if (flag != 0) {
        value = 1;
    }
    return value; /* PLANTED: uninitialised when flag == 0 */
}

int planted_use_after_free(void)
{
    int *p = malloc(sizeof *p);
    int v;
    if (p == NULL) {
        return -1;
    }
    *p = (int)BMA_OK;
    free(p);
    v = *p; /* PLANTED: use after free */
    return v;
}
