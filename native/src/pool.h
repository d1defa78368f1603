// A small fixed pool of worker threads that help the calling JS thread through one batch of
// independent per-packet work (ChaCha20-Poly1305 of a batch's packets), then join it: the call
// returns only when every packet is done, so the batch keeps its order (each packet is worked
// in place in its own slot and nothing is reordered) and buffers owned by JS are only touched
// while JS is blocked in the call.
#ifndef WARREN_POOL_H
#define WARREN_POOL_H

#include <stdbool.h>
#include <stdint.h>

#include "aead.h"

// WN_POOL_MAX_WORKERS caps the workers besides the calling thread.
#define WN_POOL_MAX_WORKERS 7

// wn_pool_fn works items [begin, end) of arg with the thread's own cipher contexts.
typedef void (*wn_pool_fn)(void *arg, uint32_t begin, uint32_t end, wn_cipher *cipher);

typedef struct wn_pool wn_pool;

// wn_pool_new starts `workers` threads (1..WN_POOL_MAX_WORKERS); NULL if any failed (none are
// left running then).
wn_pool *wn_pool_new(int workers);
// wn_pool_free stops and joins every worker; NULL is fine.
void wn_pool_free(wn_pool *pool);
int wn_pool_workers(const wn_pool *pool);

// wn_pool_run works items [0, count) of arg: the calling thread and the workers take chunks
// until none are left; it returns once all of them are done. With pool NULL the caller works
// them alone.
void wn_pool_run(wn_pool *pool, wn_pool_fn fn, void *arg, uint32_t count, wn_cipher *caller);

// wn_pool_stats reports the jobs handed to the pool and the items the workers (not the caller)
// worked, since the pool started.
void wn_pool_stats(const wn_pool *pool, uint64_t *jobs, uint64_t *worker_items);

#endif
