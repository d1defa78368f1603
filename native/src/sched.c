// Background threads at the lowest scheduling class, for WARREN_BACKGROUND_THREADS=idle (an
// experiment, off by default: helper/src/daemon/background-threads.ts says why). A packet wakes
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
