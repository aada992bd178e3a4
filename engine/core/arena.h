/* arena.h — a bump allocator for short-lived host scratch memory.
 * Allocations are freed all at once by td_arena_reset or td_arena_free. */
#pragma once

#include <stddef.h>

typedef struct td_arena td_arena;

/* block_size: bytes per backing block (0 picks 1 MiB); larger requests get their own block. */
td_arena *td_arena_new (size_t block_size);
void td_arena_free (td_arena *arena);
/* Returns memory aligned to `align` (a power of two, at most 4096), or NULL when out of memory. */
void *td_arena_alloc (td_arena *arena, size_t size, size_t align);
/* Forgets every allocation, keeping the first block for reuse. */
void td_arena_reset (td_arena *arena);
/* Bytes handed out since the last reset. */
size_t td_arena_used (const td_arena *arena);
