/* SPDX-License-Identifier: MIT */
/*
 * Holding the real hmq's sync thread from the outside (ptrace), for the
 * end-to-end tests of the asynchronous commit: no test hook in the
 * program. hmq runs two threads with a file sink, the loop (its pid) and
 * the sync thread (src/pipeline/syncer.c); ptrace stops a single thread,
 * so the loop keeps reading, writing and acknowledging while the sync
 * thread is held: to the loop that is a sync that takes as long as the
 * test wants.
 *
 *   pid_t tid = tr_sync_thread(pid);   // the one thread besides the loop
 *   tr_hold(tid);                      // stopped wherever it is
 *   ... messages arrive; no job it was handed completes ...
 *   tr_release(tid);                   // detached: it runs on
 *
 *   tr_hold(tid);
 *   tr_until_syscall(tid, SYS_fdatasync, 1, 2, 5000)  // 2nd fdatasync entry
 *   kill(pid, SIGKILL); tr_reap(tid);
 *
 * A test that fails while it holds a thread must not wait for the
 * process (its leader cannot be reaped while the held thread is not): its
 * teardown calls tr_teardown(), which kills the process and collects the
 * thread.
 *
 * Only children of the test are traced (the test spawns hmq), so it works
 * with Yama's ptrace_scope 1 too. tr_can_trace() says whether ptrace is
 * allowed here at all (a seccomp filter may forbid it): the tests skip
 * with a message when it is not. Every wait is bounded.
 */
#ifndef HMQ_TEST_TRACER_H
#define HMQ_TEST_TRACER_H

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#ifndef __WALL
#define __WALL 0x40000000
#endif

/* The thread held now (tr_hold .. tr_release / tr_reap), 0 when none. */
static pid_t tr_traced;

/* Threads of pid other than pid itself: how many, the last one in *tid. */
static inline int tr_other_threads(pid_t pid, pid_t *tid) {
  char path[64];
  DIR *d;
  struct dirent *e;
  int n = 0;
  snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
  d = opendir(path);
  if (!d)
    return -1;
  while ((e = readdir(d)) != NULL) {
    long t = strtol(e->d_name, NULL, 10);
    if (t > 0 && t != pid) {
      *tid = (pid_t)t;
      n++;
    }
  }
  closedir(d);
  return n;
}

/* Wait (up to 5 s) until thread tid of pid sleeps in futex: the sync
 * thread's wait for a job. Holding a thread that is still starting can stop
 * it inside the C or sanitizer runtime while it holds a lock the loop needs
 * too (seen once under ASan: the held hmq printed nothing for 20 s); at its
 * job wait it holds none. */
static inline void tr_idle(pid_t pid, pid_t tid) {
  char path[96], buf[32];
  uint64_t end = hmq_h_now() + 5000;
  snprintf(path, sizeof path, "/proc/%d/task/%d/syscall", (int)pid, (int)tid);
  while (hmq_h_now() < end) {
    FILE *fp = fopen(path, "r");
    int is_futex = 0;
    if (fp) {
      is_futex = fgets(buf, sizeof buf, fp) && strtol(buf, NULL, 10) == SYS_futex;
      fclose(fp);
    }
    if (is_futex)
      return;
    hmq_h_sleep_ms(2);
  }
}

/* The sync thread of hmq `pid`: the one thread besides the loop, waited
 * for up to 10 s (it starts when the output is opened). -1 when there is
 * not exactly one. */
static inline pid_t tr_sync_thread(pid_t pid) {
  uint64_t end = hmq_h_now() + 10000;
  pid_t tid = -1;
  int n;
  while ((n = tr_other_threads(pid, &tid)) == 0 && hmq_h_now() < end)
    hmq_h_sleep_ms(10);
  if (n != 1) {
    fprintf(stderr, "tracer: hmq %d has %d threads besides the loop, want 1\n", (int)pid, n);
    return -1;
  }
  tr_idle(pid, tid);
  return tid;
}

/* Wait (bounded) for a ptrace stop of tid: 1 stopped (*status set), 0
 * exited or killed, -1 timed out or error. */
static inline int tr_wait_stop(pid_t tid, int *status, unsigned timeout_ms) {
  uint64_t end = hmq_h_now() + timeout_ms;
  for (;;) {
    pid_t r = waitpid(tid, status, __WALL | WNOHANG);
    if (r == tid)
      return WIFSTOPPED(*status) ? 1 : 0;
    if (r < 0 && errno != EINTR)
      return -1;
    if (hmq_h_now() > end)
      return -1;
    hmq_h_sleep_ms(1);
  }
}

/* Stop thread tid where it is (PTRACE_SEIZE + PTRACE_INTERRUPT). 0 on
 * success. */
static inline int tr_hold(pid_t tid) {
  int st;
  if (ptrace(PTRACE_SEIZE, tid, NULL, (void *)(long)PTRACE_O_TRACESYSGOOD) != 0) {
    fprintf(stderr, "tracer: PTRACE_SEIZE %d: %s\n", (int)tid, strerror(errno));
    return -1;
  }
  if (ptrace(PTRACE_INTERRUPT, tid, NULL, NULL) != 0 || tr_wait_stop(tid, &st, 5000) != 1) {
    fprintf(stderr, "tracer: PTRACE_INTERRUPT %d did not stop it\n", (int)tid);
    return -1;
  }
  tr_traced = tid;
  return 0;
}

/* Let a held thread run on, untraced. 0 on success. */
static inline int tr_release(pid_t tid) {
  if (ptrace(PTRACE_DETACH, tid, NULL, NULL) != 0) {
    fprintf(stderr, "tracer: PTRACE_DETACH %d: %s\n", (int)tid, strerror(errno));
    return -1;
  }
  tr_traced = 0;
  return 0;
}

/* A held thread: run it syscall by syscall until the `nth` (1-based) stop
 * at the entry (op 1) or exit (op 2) of syscall `nr`, and leave it stopped
 * there. Returns 1 when stopped there, 0 when the thread or process ended,
 * -1 after timeout_ms (the thread is then stopped somewhere else). Signals
 * for the thread are passed on. */
static inline int tr_until_syscall(pid_t tid, long nr, int op, int nth, unsigned timeout_ms) {
  uint64_t end = hmq_h_now() + timeout_ms;
  int seen = 0, sig = 0, st, r;
  long last_entry = -1; /* the exit stop does not carry the number */
  for (;;) {
    struct __ptrace_syscall_info si;
    if (ptrace(PTRACE_SYSCALL, tid, NULL, (void *)(long)sig) != 0)
      return 0;
    sig = 0;
    r = tr_wait_stop(tid, &st, end > hmq_h_now() ? (unsigned)(end - hmq_h_now()) : 1);
    if (r != 1)
      return r == 0 ? 0 : -1;
    if (WSTOPSIG(st) != (SIGTRAP | 0x80)) {
      /* a group stop or event stop (PTRACE_INTERRUPT): nothing to pass;
       * a real signal: deliver it on the next resume */
      if ((st >> 16) == 0 && WSTOPSIG(st) != SIGTRAP && WSTOPSIG(st) != SIGSTOP)
        sig = WSTOPSIG(st);
      continue;
    }
    memset(&si, 0, sizeof si);
    if (ptrace(PTRACE_GET_SYSCALL_INFO, tid, (void *)sizeof si, &si) <= 0)
      return -1;
    if (si.op == op && op == PTRACE_SYSCALL_INFO_ENTRY && (long)si.entry.nr == nr && ++seen == nth)
      return 1;
    if (op == PTRACE_SYSCALL_INFO_EXIT) {
      if (si.op == PTRACE_SYSCALL_INFO_ENTRY)
        last_entry = (long)si.entry.nr;
      else if (si.op == PTRACE_SYSCALL_INFO_EXIT && last_entry == nr && ++seen == nth)
        return 1;
    }
    if (hmq_h_now() > end)
      return -1;
  }
}

/* After the traced process was killed: collect the thread's end (bounded). */
static inline void tr_reap(pid_t tid) {
  int st;
  uint64_t end = hmq_h_now() + 5000;
  tr_traced = 0;
  while (hmq_h_now() < end) {
    pid_t r = waitpid(tid, &st, __WALL | WNOHANG);
    if (r == tid && !WIFSTOPPED(st))
      return;
    if (r < 0 && errno != EINTR)
      return;
    hmq_h_sleep_ms(2);
  }
}

/* Teardown after a failure: a thread still held is killed with its
 * process (kill() on a thread id signals its whole process) and
 * collected, so the process can be reaped. */
static inline void tr_teardown(void) {
  pid_t tid = tr_traced;
  if (tid > 0) {
    kill(tid, SIGKILL);
    tr_reap(tid);
  }
}

/* Is ptrace usable here? Forks a child that stops itself, seizes it. */
static inline int tr_can_trace(void) {
  int st, ok;
  pid_t c = fork();
  if (c < 0)
    return 0;
  if (c == 0) {
    pause();
    _exit(0);
  }
  ok = ptrace(PTRACE_SEIZE, c, NULL, NULL) == 0;
  kill(c, SIGKILL);
  while (waitpid(c, &st, __WALL) < 0 && errno == EINTR) {
  }
  return ok;
}

#endif
