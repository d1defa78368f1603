// Background threads at the lowest scheduling class, for WARREN_BACKGROUND_THREADS=idle (an
// experiment, off by default: helper/src/daemon/background-threads.ts says why), and a short
// slice for the data path's JS thread (wn_thread_slice below, on by default). A packet wakes
// the JS thread, which has to get a core before the packet moves on. The kernel's fair
// scheduler (EEVDF) lets a running thread finish its slice before a waking one gets the core,
// and notices the slice's end at the next tick (4 ms at HZ=250). Among the threads found
// holding the core were Node's own V8 platform workers (TurboFan compiles, GC tasks). A normal
// thread that wakes preempts a SCHED_IDLE one (sched(7); kernel/sched/fair.c,
// check_preempt_wakeup_fair; traces still showed a few waits behind one), and on an otherwise
// idle core the idle thread runs as before; on a busy one it may get no core for a long time.
#include "common.h"

#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

// idle_thread moves one thread of this process to SCHED_IDLE. tgkill with signal 0 checks that
// tid is still a thread of this process (a thread that ended may have left its id to another
// process). Returns 0 or an errno; ESRCH means the thread is gone, which is no error here.
static int idle_thread(pid_t tid) {
  if (syscall(SYS_tgkill, getpid(), tid, 0) != 0) return errno;
  struct sched_param p = {.sched_priority = 0};
  return sched_setscheduler(tid, SCHED_IDLE, &p) == 0 ? 0 : errno;
}

// wn_idle_other_threads moves every thread of the process but the calling one to SCHED_IDLE and
// returns how many it moved. Only the main thread may call it (its id is the process id): from a
// worker thread it would idle the main JS thread. Threads started later keep the normal class.
napi_value wn_idle_other_threads(napi_env env, napi_callback_info info) {
  (void)info;
  pid_t self = (pid_t)syscall(SYS_gettid);
  if (self != getpid()) return wn_throw_errno(env, EPERM, "idleOtherThreads: not the main thread");
  DIR *d = opendir("/proc/self/task");
  if (d == NULL) return wn_throw_errno(env, errno, "opendir /proc/self/task");
  uint32_t moved = 0;
  int err = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    char *end;
    long tid = strtol(e->d_name, &end, 10);
    if (end == e->d_name || *end != '\0' || tid <= 0 || tid == self) continue;
    int rc = idle_thread((pid_t)tid);
    if (rc == 0) moved++;
    else if (rc != ESRCH && err == 0) err = rc;
  }
  closedir(d);
  if (err != 0) return wn_throw_errno(env, err, "sched_setscheduler SCHED_IDLE");
  return wn_number(env, moved);
}

// The kernel's sched_attr (include/uapi/linux/sched/types.h); glibc 2.36 has no wrapper.
#define WN_SCHED_FLAG_RESET_ON_FORK 0x01 // include/uapi/linux/sched.h
struct wn_sched_attr {
  uint32_t size;
  uint32_t sched_policy;
  uint64_t sched_flags;
  int32_t sched_nice;
  uint32_t sched_priority;
  uint64_t sched_runtime;
  uint64_t sched_deadline;
  uint64_t sched_period;
  uint32_t sched_util_min;
  uint32_t sched_util_max;
};

// wn_thread_slice sets the calling thread's EEVDF slice to the given nanoseconds (0: the
// kernel's default) and returns the slice the kernel then reports (0 before Linux 6.12, which
// reports none for fair threads). Since Linux 6.12 sched_setattr's sched_runtime is a fair
// thread's requested slice, clamped to 0.1-100 ms, and a waking thread with a shorter slice
// than the running one may end that one's protected slice at once (kernel/sched/fair.c,
// do_preempt_short and check_preempt_wakeup_fair) instead of at the next tick; older kernels
// ignore the field for fair policies. The policy, nice value and reset-on-fork flag are read
// first and written back unchanged.
napi_value wn_thread_slice(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  double ns = 0;
  if (argc < 1 || napi_get_value_double(env, argv[0], &ns) != napi_ok || !(ns >= 0 && ns <= 1e9)) {
    napi_throw_range_error(env, NULL, "threadSlice: expected nanoseconds, 0..1e9");
    return NULL;
  }
  struct wn_sched_attr a = {0};
  if (syscall(SYS_sched_getattr, 0, &a, sizeof a, 0) != 0) return wn_throw_errno(env, errno, "sched_getattr");
  if (a.sched_policy != SCHED_OTHER && a.sched_policy != SCHED_BATCH && a.sched_policy != SCHED_IDLE) {
    return wn_number(env, 0); // real-time or deadline: no fair slice to set
  }
  a.size = sizeof a;
  a.sched_flags &= WN_SCHED_FLAG_RESET_ON_FORK; // no utilization clamps: their fields are not kept
  a.sched_runtime = (uint64_t)ns;
  a.sched_deadline = a.sched_period = 0;
  if (syscall(SYS_sched_setattr, 0, &a, 0) != 0) return wn_throw_errno(env, errno, "sched_setattr");
  struct wn_sched_attr back = {0};
  if (syscall(SYS_sched_getattr, 0, &back, sizeof back, 0) != 0) return wn_throw_errno(env, errno, "sched_getattr");
  return wn_number(env, (double)back.sched_runtime);
}
