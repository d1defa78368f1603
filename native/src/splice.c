// Zero-copy relaying between two TCP sockets for the helper's proxies. splice(2) moves the
// pages a socket received into a pipe and from the pipe into the other socket's send queue, so
// a proxied byte is never copied into or out of user space, and one pump thread (epoll,
// edge-triggered) serves every spliced pair off the JS thread. Copying through JS cost the
// helper as much CPU per byte as the client and the server together (scripts/bench/proxy.ts).
//
// Ownership: the sockets stay Node's. JS stops reading them (readStop) before handing over the
// descriptors and closes them only after the pair is done: either the pump reported it (the
// descriptors are already out of its epoll set) or spliceStop returned (which takes them out
// under the same lock the pump holds while it uses them). A finished pair's memory is freed at
// the top of the pump's next iteration, when no epoll event can still point at it.
//
// Bounds: each direction holds at most one pipe's worth (64 KiB by default) beyond the two
// sockets' kernel buffers; a destination that does not drain stops its source being read, so
// TCP's own flow control pushes back on the sender.
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

// PIPE_CAP is the most one direction moves per splice; the pipe's own size (16 pages) is the
// real bound, and a partly filled page counts whole, so the pipe may refuse earlier.
#define PIPE_CAP (256u * 1024u)
#define MAX_EVENTS 64
#define SWEEP_MS 1000

enum { DONE_CLOSED = 0, DONE_ERROR = 1, DONE_IDLE = 2 };

typedef struct wn_pair wn_pair;

typedef struct wn_way {
  int src, dst, pr, pw;
  size_t inpipe;
  bool eof, shut;
  double bytes;
} wn_way;

typedef struct wn_end {
  wn_pair *p;
} wn_end;

struct wn_pair {
  uint32_t id;
  int fa, fb;
  wn_way ab, ba;
  wn_end ea, eb;
  uint64_t last_ms, idle_ms;
  bool done;
  wn_pair *next, *prev; // active pairs, or the graveyard (next only) once done
};

typedef struct wn_done_msg {
  uint32_t id;
  int reason, err;
  double ab, ba;
} wn_done_msg;

static struct {
  pthread_mutex_t mu;
  int ep;
  bool started;
  napi_env env;
  napi_threadsafe_function tsfn;
  wn_pair *active, *grave;
  uint32_t next_id, count;
} P = {PTHREAD_MUTEX_INITIALIZER, -1, false, NULL, NULL, NULL, NULL, 1, 0};

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void close_pipes(wn_way *w) {
  if (w->pr >= 0) close(w->pr);
  if (w->pw >= 0) close(w->pw);
}

static void free_grave(void) {
  while (P.grave != NULL) {
    wn_pair *p = P.grave;
    P.grave = p->next;
    close_pipes(&p->ab);
    close_pipes(&p->ba);
    free(p);
  }
}

// retire takes p out of the epoll set and the active list; the caller holds P.mu.
static void retire(wn_pair *p) {
  p->done = true;
  epoll_ctl(P.ep, EPOLL_CTL_DEL, p->fa, NULL);
  epoll_ctl(P.ep, EPOLL_CTL_DEL, p->fb, NULL);
  if (p->prev != NULL) p->prev->next = p->next;
  else P.active = p->next;
  if (p->next != NULL) p->next->prev = p->prev;
  p->next = P.grave;
  P.grave = p;
  P.count--;
}

static bool soft(int e) { return e == EAGAIN || e == EWOULDBLOCK || e == EINTR; }

// pump_way moves what it can from w->src to w->dst; 0, or the errno that ends the pair.
static int pump_way(wn_way *w, bool *moved) {
  for (;;) {
    bool progress = false;
    if (!w->eof && w->inpipe < PIPE_CAP) {
      ssize_t n = splice(w->src, NULL, w->pw, NULL, PIPE_CAP - w->inpipe, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (n > 0) w->inpipe += (size_t)n;
      else if (n == 0) w->eof = true;
      else if (!soft(errno)) return errno;
      progress = n >= 0;
    }
    if (w->inpipe > 0) {
      // No SPLICE_F_MORE: it would hold back the small writes of interactive protocols.
      ssize_t m = splice(w->pr, NULL, w->dst, NULL, w->inpipe, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (m > 0) {
        w->inpipe -= (size_t)m;
        w->bytes += (double)m;
        progress = true;
        *moved = true;
      } else if (m < 0 && !soft(errno)) {
        return errno;
      }
    }
    if (w->eof && w->inpipe == 0 && !w->shut) {
      // The source's FIN passes on as the destination's (half-close, as the JS relay does).
      if (shutdown(w->dst, SHUT_WR) != 0 && errno != ENOTCONN) return errno;
      w->shut = true;
    }
    if (!progress) return 0;
  }
}

// pump_pair runs both directions; -1 while the pair lives, else a DONE_* reason (*err set).
static int pump_pair(wn_pair *p, uint32_t events, int fd, uint64_t now, int *err) {
  bool moved = false;
  *err = pump_way(&p->ab, &moved);
  if (*err == 0) *err = pump_way(&p->ba, &moved);
  if (*err == 0 && (events & EPOLLERR)) {
    socklen_t len = sizeof *err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, err, &len) != 0) *err = errno;
  }
  if (*err != 0) return DONE_ERROR;
  if (moved) p->last_ms = now;
  return p->ab.shut && p->ba.shut ? DONE_CLOSED : -1;
}

static void notify(wn_pair *p, int reason, int err) {
  wn_done_msg *m = malloc(sizeof *m);
  if (m != NULL) {
    *m = (wn_done_msg){p->id, reason, err, p->ab.bytes, p->ba.bytes};
    if (napi_call_threadsafe_function(P.tsfn, m, napi_tsfn_nonblocking) != napi_ok) free(m);
  }
}

static void sweep_idle(uint64_t now) {
  for (wn_pair *p = P.active, *next; p != NULL; p = next) {
    next = p->next;
    if (p->idle_ms > 0 && now - p->last_ms >= p->idle_ms) {
      notify(p, DONE_IDLE, 0);
      retire(p);
    }
  }
}

static void *pump_main(void *arg) {
  (void)arg;
  struct epoll_event evs[MAX_EVENTS];
  uint64_t last_sweep = now_ms();
  for (;;) {
    pthread_mutex_lock(&P.mu);
    free_grave();
    pthread_mutex_unlock(&P.mu);
    int n = epoll_wait(P.ep, evs, MAX_EVENTS, SWEEP_MS);
    if (n < 0 && errno != EINTR) return NULL;
    uint64_t now = now_ms();
    pthread_mutex_lock(&P.mu);
    for (int i = 0; i < n; i++) {
      wn_end *e = evs[i].data.ptr;
      wn_pair *p = e->p;
      if (p->done) continue;
      int err = 0;
      int reason = pump_pair(p, evs[i].events, e == &p->eb ? p->fb : p->fa, now, &err);
      if (reason < 0) continue;
      notify(p, reason, err);
      retire(p);
    }
    if (now - last_sweep >= SWEEP_MS) {
      last_sweep = now;
      sweep_idle(now);
    }
    pthread_mutex_unlock(&P.mu);
  }
}

static void call_js(napi_env env, napi_value cb, void *ctx, void *data) {
  (void)ctx;
  wn_done_msg *m = data;
  if (env != NULL && cb != NULL) {
    napi_value argv[5] = {wn_number(env, m->id), wn_number(env, m->reason), wn_number(env, m->err),
                          wn_number(env, m->ab), wn_number(env, m->ba)};
    napi_value undef;
    napi_get_undefined(env, &undef);
    if (napi_call_function(env, undef, cb, 5, argv, NULL) != napi_ok) wn_rethrow(env);
  }
  free(m);
}

// spliceInit(onDone): starts the pump once per process; onDone(id, reason, errno, bytesAB, bytesBA).
napi_value wn_splice_init(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  bool present;
  if (!wn_args(env, info, 1, argv) || !wn_arg_function(env, argv[0], "onDone", false, &present)) return NULL;
  if (P.started) {
    if (P.env != env) return wn_throw_range(env, "spliceInit: the splice pump belongs to another JS thread");
    return wn_bool(env, false);
  }
  P.ep = epoll_create1(EPOLL_CLOEXEC);
  if (P.ep < 0) return wn_throw_errno(env, errno, "epoll_create1");
  napi_value name;
  napi_create_string_utf8(env, "warren.splice", NAPI_AUTO_LENGTH, &name);
  if (napi_create_threadsafe_function(env, argv[0], NULL, name, 0, 1, NULL, NULL, NULL, call_js, &P.tsfn) != napi_ok) {
    close(P.ep);
    return wn_throw_range(env, "spliceInit: cannot create the completion callback");
  }
  // The pump never keeps the process alive: the sockets it serves do that.
  napi_unref_threadsafe_function(env, P.tsfn);
  pthread_t th;
  int rc = pthread_create(&th, NULL, pump_main, NULL);
  if (rc != 0) {
    napi_release_threadsafe_function(P.tsfn, napi_tsfn_abort);
    close(P.ep);
    return wn_throw_errno(env, rc, "pthread_create (splice pump)");
  }
  // Named so that its CPU shows apart from the helper's other threads (/proc/PID/task/*/comm).
  pthread_setname_np(th, "warren-splice");
  pthread_detach(th);
  P.env = env;
  P.started = true;
  return wn_bool(env, true);
}

static bool open_way(wn_way *w, int src, int dst) {
  int fds[2];
  *w = (wn_way){src, dst, -1, -1, 0, false, false, 0};
  if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) return false;
  w->pr = fds[0];
  w->pw = fds[1];
  // Best effort: past the user's pipe quota the kernel refuses, and the default size still works.
  (void)fcntl(w->pw, F_SETPIPE_SZ, (int)PIPE_CAP);
  return true;
}

static bool watch(int fd, wn_end *e) {
  struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = e};
  return epoll_ctl(P.ep, EPOLL_CTL_ADD, fd, &ev) == 0;
}

// spliceStart(fdA, fdB, idleMs) relays between two connected non-blocking TCP sockets; the id.
napi_value wn_splice_start(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int fa, fb;
  double idle;
  if (!wn_args(env, info, 3, argv) || !wn_arg_fd(env, argv[0], "spliceStart", &fa) ||
      !wn_arg_fd(env, argv[1], "spliceStart", &fb) ||
      !wn_arg_int(env, argv[2], "idleMs", 0, 86400000, &idle))
    return NULL;
  if (fa == fb) return wn_throw_range(env, "spliceStart: the two descriptors must differ");
  if (!P.started || P.env != env) return wn_throw_range(env, "spliceStart: call spliceInit first");
  wn_pair *p = calloc(1, sizeof *p);
  if (p == NULL) return wn_throw_errno(env, ENOMEM, "spliceStart");
  p->fa = fa;
  p->fb = fb;
  p->ea.p = p;
  p->eb.p = p;
  p->idle_ms = (uint64_t)idle;
  p->last_ms = now_ms();
  bool piped = open_way(&p->ab, fa, fb) && open_way(&p->ba, fb, fa);
  int err = errno;
  if (!piped) {
    close_pipes(&p->ab);
    close_pipes(&p->ba);
    free(p);
    return wn_throw_errno(env, err, "spliceStart: pipe2");
  }
  pthread_mutex_lock(&P.mu);
  p->id = P.next_id++;
  if (P.next_id == 0) P.next_id = 1;
  p->next = P.active;
  if (P.active != NULL) P.active->prev = p;
  P.active = p;
  P.count++;
  // Added under the lock, so the pump cannot see an event for p before p is on the list.
  if (!watch(fa, &p->ea) || !watch(fb, &p->eb)) {
    err = errno;
    retire(p);
    pthread_mutex_unlock(&P.mu);
    return wn_throw_errno(env, err, "spliceStart: epoll_ctl");
  }
  uint32_t id = p->id;
  pthread_mutex_unlock(&P.mu);
  return wn_number(env, id);
}

// spliceStop(id): true when the pair was still running; its descriptors are free to close.
napi_value wn_splice_stop(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  uint32_t id;
  if (!wn_args(env, info, 1, argv) || !wn_arg_u32(env, argv[0], "id", 0, UINT32_MAX, &id)) return NULL;
  bool found = false;
  pthread_mutex_lock(&P.mu);
  for (wn_pair *p = P.active; p != NULL; p = p->next) {
    if (p->id == id) {
      retire(p);
      found = true;
      break;
    }
  }
  pthread_mutex_unlock(&P.mu);
  return wn_bool(env, found);
}

// spliceCount(): pairs the pump is relaying now.
napi_value wn_splice_count(napi_env env, napi_callback_info info) {
  (void)info;
  pthread_mutex_lock(&P.mu);
  uint32_t n = P.count;
  pthread_mutex_unlock(&P.mu);
  return wn_number(env, n);
}
