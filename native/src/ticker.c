// The wake ticker: one thread per environment that, for WN_TICK_WINDOW_NS after the data path
// last woke up, sleeps in short ticks instead of once. A lone packet's round trip wakes four
// threads one after another (two helpers, each way), and each wake-up that finds its CPU
// halted pays for bringing it back: on a virtual machine that is an exit to the host and the
// host scheduling the vCPU again, on bare metal a deeper C-state's exit latency. For a CPU
// that a thread woke 50 µs ago, KVM's halt polling (and the cpuidle governors) presumably
// choose a short, shallow idle, so the answer finds it awake. That is inferred: what was
// measured is the effect (docs/architecture.md, "The wake ticker"). Go's runtime may get the
// same as a side effect: its sysmon thread sleeps 20 µs at a time while the program is busy.
//
// The thread is SCHED_IDLE: a normal thread that wakes on its CPU preempts it (sched(7)), so
// a busy data path should lose little to it (measured within the spread), and it ticks only
// after traffic, so an idle helper sleeps. While ticking it wakes about every 100 µs (50 µs and the default timer
// slack): about 3% of a core while packets come at least every 20 ms.
//
// It runs only when WARREN_WAKE_TICKER=on asks for it (src-shared/lib/native/ticker.ts): on a
// second host the work after each wake-up slowed more than the wake-up sped up, and lone
// packets took longer with it than without.
#include "common.h"

#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define WN_TICK_NS 50000ull            // one tick: short enough to keep the CPU out of deep idle
#define WN_TICK_WINDOW_NS 20000000ull  // ticking lasts this long after the last wake-up

enum { TICKER_SLEEPING = 0, TICKER_TICKING = 1, TICKER_STOPPING = 2 };

typedef struct wn_ticker {
  pthread_t thread;
  _Atomic uint32_t state;    // futex word
  _Atomic uint64_t until_ns; // CLOCK_MONOTONIC end of the window
  _Atomic uint64_t ticks;    // ticks slept, for the stats
  _Atomic uint64_t windows;  // times a poke woke a sleeping ticker
} wn_ticker;

static uint64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void futex_wait(_Atomic uint32_t *word, uint32_t val) {
  syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake(_Atomic uint32_t *word) {
  syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

// window_over puts the ticker to sleep, unless a poke extended the window meanwhile: a poke
// that ran between the deadline check and the state change saw TICKING and did not wake us.
static void window_over(wn_ticker *t) {
  uint32_t ticking = TICKER_TICKING;
  if (!atomic_compare_exchange_strong(&t->state, &ticking, TICKER_SLEEPING)) return; // stopping
  if (mono_ns() < atomic_load_explicit(&t->until_ns, memory_order_acquire)) {
    uint32_t sleeping = TICKER_SLEEPING;
    atomic_compare_exchange_strong(&t->state, &sleeping, TICKER_TICKING);
  }
}

static void *run(void *arg) {
  wn_ticker *t = arg;
  struct sched_param p = {.sched_priority = 0};
  sched_setscheduler(0, SCHED_IDLE, &p); // best effort: a refusal leaves a normal thread
  for (;;) {
    uint32_t s = atomic_load_explicit(&t->state, memory_order_acquire);
    if (s == TICKER_STOPPING) break;
    if (s == TICKER_SLEEPING) {
      futex_wait(&t->state, TICKER_SLEEPING);
      continue;
    }
    if (mono_ns() >= atomic_load_explicit(&t->until_ns, memory_order_acquire)) {
      window_over(t);
      continue;
    }
    struct timespec d = {0, (long)WN_TICK_NS};
    nanosleep(&d, NULL);
    atomic_fetch_add_explicit(&t->ticks, 1, memory_order_relaxed);
  }
  return NULL;
}

// start_idle starts the thread and moves it to SCHED_IDLE from here, so that it is idle-class
// even before it first gets a core (on a busy machine that may take long); the thread sets its
// own class too, in case this was refused. glibc's thread attributes take only SCHED_OTHER,
// SCHED_FIFO and SCHED_RR, so the class cannot be given at creation.
static int start_idle(wn_ticker *t) {
  int rc = pthread_create(&t->thread, NULL, run, t);
  if (rc != 0) return rc;
  struct sched_param p = {.sched_priority = 0};
  pthread_setschedparam(t->thread, SCHED_IDLE, &p);
  return 0;
}

void wn_ticker_poke(wn_ticker *t) {
  if (t == NULL) return;
  atomic_store_explicit(&t->until_ns, mono_ns() + WN_TICK_WINDOW_NS, memory_order_release);
  uint32_t sleeping = TICKER_SLEEPING;
  if (atomic_compare_exchange_strong(&t->state, &sleeping, TICKER_TICKING)) {
    atomic_fetch_add_explicit(&t->windows, 1, memory_order_relaxed);
    futex_wake(&t->state);
  }
}

void wn_ticker_free(wn_ticker *t) {
  if (t == NULL) return;
  atomic_store_explicit(&t->state, TICKER_STOPPING, memory_order_release);
  futex_wake(&t->state);
  pthread_join(t->thread, NULL);
  free(t);
}

// wakeTicker(on): starts (true) or stops and joins (false) this environment's ticker; either
// is a no-op when it is already so. Returns whether it runs.
napi_value wn_wake_ticker(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  bool on;
  if (!wn_args(env, info, 1, argv)) return NULL;
  if (napi_get_value_bool(env, argv[0], &on) != napi_ok) return wn_throw_type(env, "wakeTicker: on must be a boolean");
  wn_instance *inst = wn_instance_get(env);
  if (inst == NULL) return NULL;
  if (!on) {
    wn_ticker_free(inst->ticker);
    inst->ticker = NULL;
  } else if (inst->ticker == NULL) {
    wn_ticker *t = calloc(1, sizeof *t);
    if (t == NULL) return wn_throw_errno(env, ENOMEM, "wakeTicker");
    int rc = start_idle(t);
    if (rc != 0) {
      free(t);
      return wn_throw_errno(env, rc, "wakeTicker: pthread_create");
    }
    inst->ticker = t;
  }
  return wn_bool(env, inst->ticker != NULL);
}

// wakeTickerStats(): { running, ticking, ticks, windows } of this environment's ticker.
napi_value wn_wake_ticker_stats(napi_env env, napi_callback_info info) {
  (void)info;
  wn_instance *inst = wn_instance_get(env);
  if (inst == NULL) return NULL;
  wn_ticker *t = inst->ticker;
  napi_value o;
  if (napi_create_object(env, &o) != napi_ok) return NULL;
  wn_set(env, o, "running", wn_bool(env, t != NULL));
  wn_set(env, o, "ticking", wn_bool(env, t != NULL && atomic_load(&t->state) == TICKER_TICKING));
  wn_set(env, o, "ticks", wn_number(env, t ? (double)atomic_load(&t->ticks) : 0));
  wn_set(env, o, "windows", wn_number(env, t ? (double)atomic_load(&t->windows) : 0));
  return o;
}
