/* check.h: a minimal test harness for the bitmapalloc unit tests.
 *
 *   CHECK(cond)              cond must hold
 *   CHECK_EQ(a, b)           a == b, compared as uintmax_t (sizes, indices, counts)
 *   CHECK_PTR_EQ(a, b)       two pointers are equal
 *   CHECK_STATUS(got, want)  a bma_status is exactly want (printed by name)
 *   CHECK_CTX(fmt, ...)      describes the current iteration of a loop; printed
 *                            with every failure until the next CHECK_CTX
 *
 * Every macro is an expression that yields 1 when the check passed and 0 when
 * it failed, so a test can stop before it dereferences a pointer that a failed
 * allocation did not produce:  if (!CHECK_STATUS(s, BMA_OK)) return;
 *
 * A failed check prints file:line, the expression and both values, and marks
 * the program failed; it does not abort, so one run reports every failure.
 * RUN(fn) runs one test case and prints a summary line for it; check_finish()
 * prints the program's summary and returns its exit status (0 or 1).
 */
#ifndef BMA_TEST_CHECK_H
#define BMA_TEST_CHECK_H

#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bitmapalloc.h"

/* Failures printed per test case; later ones are only counted. */
#define CHECK_MAX_REPORTS 25

struct check_state {
    unsigned long checks, failures, cases, failed_cases;
    unsigned long case_checks, case_failures;
    const char *case_name;
    char ctx[256];
};
static struct check_state check_state_;

static inline const char *check_status_name(int s)
{
    static const char *const names[] = {"BMA_OK",      "BMA_EINVAL",      "BMA_EOVERFLOW", "BMA_ENOMEM",
                                        "BMA_EBADPTR", "BMA_EDOUBLEFREE", "BMA_ESIZE",     "BMA_ECORRUPT"};
    return s >= 0 && s < (int)(sizeof names / sizeof names[0]) ? names[s] : "(not a bma_status)";
}

/* Counts one check; on failure prints the location, the context and the
 * formatted detail. Returns ok. */
static inline int check_report_(int ok, const char *file, int line, const char *fmt, ...)
{
    check_state_.checks++;
    check_state_.case_checks++;
    if (ok) {
        return 1;
    }
    check_state_.failures++;
    if (++check_state_.case_failures <= CHECK_MAX_REPORTS) {
        va_list ap;
        fprintf(stderr, "%s:%d: FAILED in %s", file, line,
                check_state_.case_name != NULL ? check_state_.case_name : "(no case)");
        if (check_state_.ctx[0] != '\0') {
            fprintf(stderr, " [%s]", check_state_.ctx);
        }
        fputs(": ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
    } else if (check_state_.case_failures == CHECK_MAX_REPORTS + 1) {
        fprintf(stderr, "%s:%d: (further failures in %s are counted, not printed)\n", file, line,
                check_state_.case_name != NULL ? check_state_.case_name : "(no case)");
    }
    return 0;
}

static inline int check_eq_(uintmax_t a, uintmax_t b, const char *ea, const char *eb, const char *file, int line)
{
    return check_report_(a == b, file, line,
                         "%s == %s: got %" PRIuMAX " (0x%" PRIxMAX "), expected %" PRIuMAX " (0x%" PRIxMAX ")", ea, eb,
                         a, a, b, b);
}

static inline int check_ptr_eq_(const void *a, const void *b, const char *ea, const char *eb, const char *file,
                                int line)
{
    return check_report_(a == b, file, line, "%s == %s: got %p, expected %p", ea, eb, a, b);
}

static inline int check_status_(int got, int want, const char *eg, const char *file, int line)
{
    return check_report_(got == want, file, line, "%s: got %s (%d), expected %s (%d)", eg, check_status_name(got), got,
                         check_status_name(want), want);
}

#define CHECK(cond) check_report_((cond) != 0, __FILE__, __LINE__, "%s", #cond)
#define CHECK_EQ(a, b) check_eq_((uintmax_t)(a), (uintmax_t)(b), #a, #b, __FILE__, __LINE__)
#define CHECK_PTR_EQ(a, b) check_ptr_eq_((const void *)(a), (const void *)(b), #a, #b, __FILE__, __LINE__)
#define CHECK_STATUS(got, want) check_status_((int)(got), (int)(want), #got, __FILE__, __LINE__)
/* CHECK(cond) with a printf-style explanation printed on failure. */
#define CHECK_MSG(cond, ...) check_report_((cond) != 0, __FILE__, __LINE__, __VA_ARGS__)

static inline void check_ctx_(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(check_state_.ctx, sizeof check_state_.ctx, fmt, ap);
    va_end(ap);
}
#define CHECK_CTX(...) check_ctx_(__VA_ARGS__)
#define CHECK_CTX_CLEAR() (check_state_.ctx[0] = '\0')

/* True while the current case has no failure: loops over thousands of
 * scenarios use it to stop after the first broken one. */
#define CASE_OK() (check_state_.case_failures == 0)

static inline void check_run_(void (*fn)(void), const char *name)
{
    check_state_.case_name = name;
    check_state_.case_checks = 0;
    check_state_.case_failures = 0;
    check_state_.ctx[0] = '\0';
    fn();
    check_state_.cases++;
    if (check_state_.case_failures == 0) {
        printf("[ OK ] %-58s %lu checks\n", name, check_state_.case_checks);
    } else {
        check_state_.failed_cases++;
        printf("[FAIL] %-58s %lu of %lu checks failed\n", name, check_state_.case_failures, check_state_.case_checks);
    }
    fflush(stdout);
    check_state_.case_name = NULL;
    check_state_.ctx[0] = '\0';
}
#define RUN(fn) check_run_(fn, #fn)

/* Prints the program summary; returns the exit status for main. */
static inline int check_finish(const char *program)
{
    printf("%s: %lu cases, %lu checks, %lu failed checks in %lu failed cases\n", program, check_state_.cases,
           check_state_.checks, check_state_.failures, check_state_.failed_cases);
    return check_state_.failures == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
