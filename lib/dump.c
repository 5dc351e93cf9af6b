/* bma_dump: a text map of a heap, built only on the public API (bma_check,
 * bma_get_stats, bma_walk), so it reads the heap exactly as any caller could
 * and cannot change it. See include/bitmapalloc_dump.h for the format.
 */
#include "bitmapalloc_dump.h"

#include <stdint.h>
#include <string.h>

#define DUMP_COLS 64u /* chunks per map line */

typedef struct dump_state {
    FILE *out;
    size_t chunk_count;
    size_t pos;           /* next chunk index to emit */
    size_t walked_allocs; /* allocations reported by bma_walk */
    size_t walked_chunks; /* chunks they cover */
    int width;            /* digits of the widest line index */
    int walk_bad;         /* bma_walk reported an extent out of order or range */
    size_t fill;          /* characters in line */
    size_t line_start;    /* chunk index of line[0] */
    size_t prev_len;      /* characters in prev; 0 before the first line */
    size_t repeats;       /* full lines equal to prev, not yet written */
    size_t repeat_start;  /* chunk index of the first of them */
    char line[DUMP_COLS];
    char prev[DUMP_COLS];
} dump_state;

static int digits(size_t x)
{
    int n = 1;
    while (x >= 10u) {
        x /= 10u;
        n++;
    }
    return n;
}

/* part / whole in tenths of a percent, rounded; 0 if whole is 0. */
static uintmax_t tenths_of_percent(uintmax_t part, uintmax_t whole)
{
    while (whole > UINTMAX_MAX / 2000u) {
        part /= 1024u;
        whole /= 1024u;
    }
    if (whole == 0) {
        return 0;
    }
    return (part * 1000u + whole / 2u) / whole;
}

static void print_percent(FILE *out, uintmax_t tenths) { fprintf(out, "%ju.%ju%%", tenths / 10u, tenths % 10u); }

static void write_map_line(dump_state *st, size_t start, const char *text, size_t len)
{
    fprintf(st->out, "%*zu  %.*s\n", st->width, start, (int)len, text);
}

/* Writes the lines held back as repeats of prev: one "*" line for two or
 * more, the line itself for one. */
static void flush_repeats(dump_state *st)
{
    if (st->repeats == 1u) {
        write_map_line(st, st->repeat_start, st->prev, st->prev_len);
    } else if (st->repeats > 1u) {
        fprintf(st->out, "%*s  %zu more lines like the one above: chunks %zu-%zu\n", st->width, "*", st->repeats,
                st->repeat_start, st->repeat_start + st->repeats * DUMP_COLS - 1u);
    }
    st->repeats = 0;
}

static void end_line(dump_state *st)
{
    if (st->fill == 0) {
        return;
    }
    if (st->fill == DUMP_COLS && st->prev_len == DUMP_COLS && memcmp(st->line, st->prev, DUMP_COLS) == 0) {
        if (st->repeats == 0) {
            st->repeat_start = st->line_start;
        }
        st->repeats++;
    } else {
        flush_repeats(st);
        write_map_line(st, st->line_start, st->line, st->fill);
        memcpy(st->prev, st->line, st->fill);
        st->prev_len = st->fill;
    }
    st->line_start += st->fill;
    st->fill = 0;
}

/* Appends n chunks shown as c. */
static void emit(dump_state *st, char c, size_t n)
{
    while (n > 0) {
        size_t take = DUMP_COLS - st->fill < n ? DUMP_COLS - st->fill : n;
        memset(st->line + st->fill, c, take);
        st->fill += take;
        st->pos += take;
        n -= take;
        if (st->fill == DUMP_COLS) {
            end_line(st);
        }
    }
}

static int dump_allocation(size_t index, size_t count, void *ctx)
{
    dump_state *st = (dump_state *)ctx;
    if (index < st->pos || count == 0 || index >= st->chunk_count || count > st->chunk_count - index) {
        st->walk_bad = 1;
        return 1;
    }
    emit(st, '.', index - st->pos);
    emit(st, '#', 1u);
    emit(st, '=', count - 1u);
    st->walked_allocs++;
    st->walked_chunks += count;
    return ferror(st->out) ? 1 : 0;
}

bma_status bma_dump(const bma_heap *h, FILE *out)
{
    bma_stats s;
    dump_state st;
    bma_status rc;

    if (h == NULL || out == NULL) {
        return BMA_EINVAL;
    }
    rc = bma_check(h);
    if (rc != BMA_OK) {
        fprintf(out, "bitmapalloc heap: CORRUPT (bma_check: %s); no map\n", bma_strerror(rc));
        return BMA_OK;
    }
    rc = bma_get_stats(h, &s);
    if (rc != BMA_OK) { /* unreachable: h is checked above */
        fprintf(out, "bitmapalloc heap: bma_get_stats: %s\n", bma_strerror(rc));
        return BMA_OK;
    }

    fprintf(out, "bitmapalloc heap: %zu chunks of %zu B after %zu B of metadata, %zu B in all\n", s.chunk_count,
            s.chunk_size, s.metadata_bytes, s.buffer_size);
    fprintf(out, "used chunks: %zu (", s.used_chunks);
    print_percent(out, tenths_of_percent(s.used_chunks, s.chunk_count));
    fprintf(out, ") in %zu allocation(s); free chunks: %zu, largest free run: %zu, fragmentation: ", s.live_allocations,
            s.free_chunks, s.largest_free_run);
    print_percent(out, s.free_chunks == 0 ? 0u : tenths_of_percent(s.free_chunks - s.largest_free_run, s.free_chunks));
    fputs("\nmap: '#' allocation start, '=' continuation, '.' free\n", out);

    memset(&st, 0, sizeof st);
    st.out = out;
    st.chunk_count = s.chunk_count;
    st.width = digits(s.chunk_count);
    (void)bma_walk(h, dump_allocation, &st);
    if (!st.walk_bad && !ferror(out)) {
        emit(&st, '.', s.chunk_count - st.pos);
        end_line(&st);
        flush_repeats(&st);
        fprintf(out, "%*zu  end\n", st.width, s.chunk_count);
    }
    if (st.walk_bad ||
        (!ferror(out) && (st.walked_allocs != s.live_allocations || st.walked_chunks != s.used_chunks))) {
        fprintf(out, "note: bma_walk disagrees with bma_get_stats (%zu allocations of %zu chunks walked)\n",
                st.walked_allocs, st.walked_chunks);
    }
    return BMA_OK;
}
