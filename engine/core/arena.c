#include "core/arena.h"

#include <stdint.h>
#include <stdlib.h>

typedef struct arena_block {
  struct arena_block *next;
  size_t capacity;
  size_t used;
  _Alignas (64) unsigned char data[];
} arena_block;

struct td_arena {
  arena_block *blocks; /* newest first */
  size_t block_size;
  size_t used_total;
};

td_arena *
td_arena_new (size_t block_size)
{
  td_arena *arena = calloc (1, sizeof *arena);
  if (arena != NULL)
    arena->block_size = block_size ? block_size : (size_t) 1 << 20;
  return arena;
}

static void
free_blocks (arena_block *block)
{
  while (block != NULL)
    {
      arena_block *next = block->next;
      free (block);
      block = next;
    }
}

void
td_arena_free (td_arena *arena)
{
  if (arena == NULL)
    return;
  free_blocks (arena->blocks);
  free (arena);
}

static arena_block *
new_block (size_t capacity)
{
  if (capacity > SIZE_MAX - sizeof (arena_block))
    return NULL;
  arena_block *block = malloc (sizeof (arena_block) + capacity);
  if (block != NULL)
    {
      block->next = NULL;
      block->capacity = capacity;
      block->used = 0;
    }
  return block;
}

void *
td_arena_alloc (td_arena *arena, size_t size, size_t align)
{
  if (align == 0 || (align & (align - 1)) != 0 || align > 4096)
    return NULL;
  arena_block *block = arena->blocks;
  if (block != NULL)
    {
      uintptr_t base = (uintptr_t) block->data;
      uintptr_t start = (base + block->used + align - 1) & ~(uintptr_t) (align - 1);
      size_t offset = (size_t) (start - base);
      if (offset <= block->capacity && size <= block->capacity - offset)
        {
          block->used = offset + size;
          arena->used_total += size;
          return block->data + offset;
        }
    }
  if (size > SIZE_MAX - align)
    return NULL;
  size_t need = size + align;
  block = new_block (need > arena->block_size ? need : arena->block_size);
  if (block == NULL)
    return NULL;
  block->next = arena->blocks;
  arena->blocks = block;
  return td_arena_alloc (arena, size, align);
}

void
td_arena_reset (td_arena *arena)
{
  arena_block *block = arena->blocks;
  if (block == NULL)
    return;
  /* Keep the oldest block (the default-sized one) and drop the rest. */
  arena_block *oldest = block;
  arena_block *prev = NULL;
  while (oldest->next != NULL)
    {
      prev = oldest;
      oldest = oldest->next;
    }
  if (prev != NULL)
    {
      prev->next = NULL;
      free_blocks (block);
    }
  oldest->used = 0;
  arena->blocks = oldest;
  arena->used_total = 0;
}

size_t
td_arena_used (const td_arena *arena)
{
  return arena->used_total;
}
