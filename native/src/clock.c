// The clock of the WireGuard timers (whitepaper §6): CLOCK_BOOTTIME, which keeps counting while
// the machine is suspended. CLOCK_MONOTONIC (Node's hrtime and performance.now) stops then, so a
// session would look as young after a resume as before it; the kernel's WireGuard uses boottime
// for the same reason, so that keypairs older than REJECT_AFTER_TIME are retired on resume.
#include "common.h"

#include <errno.h>
#include <time.h>

napi_value wn_boottime_ms(napi_env env, napi_callback_info info) {
  (void)info; // no arguments: anything passed is ignored, as for any JS function
  struct timespec ts;
  if (clock_gettime(CLOCK_BOOTTIME, &ts) != 0)
    return wn_throw_errno(env, errno, "clock_gettime CLOCK_BOOTTIME");
  // A double holds milliseconds since boot with sub-microsecond precision for centuries.
  return wn_number(env, (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6);
}
