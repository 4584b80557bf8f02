/* SPDX-License-Identifier: MIT */
/*
 * Sinks: batching (no write() before the commit or a full buffer), large
 * writes, a child that reads slowly (write blocks, memory stays the buffer),
 * a child that closes its stdin (EPIPE surfaces, SIGPIPE does not kill us),
 * stdout redirected to a file, a full disk, open errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pipeline/sink.h"

static char g_dir[64];
static char g_path[256];

static const char *path(const char *name) {
  snprintf(g_path, sizeof g_path, "%s/%s", g_dir, name);
  return g_path;
}

static int setup(void **state) {
  (void)state;
  snprintf(g_dir, sizeof g_dir, "sinktest-XXXXXX");
  assert_non_null(mkdtemp(g_dir));
  return 0;
}

static int teardown(void **state) {
  (void)state;
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
  assert_int_equal(system(cmd), 0);
  return 0;
}

static long file_size(const char *p) {
  struct stat sb;
  return stat(p, &sb) == 0 ? (long)sb.st_size : -1;
}

static void test_file_batches_until_commit(void **state) {
  (void)state;
  hmq_sink s;
  char err[256];
  assert_int_equal(hmq_sink_open(&s, HMQ_SINK_FILE, path("a.ndjson"), 4096, err, sizeof err),
                   HMQ_OK);
  assert_int_equal(s.sync, 1);
  for (int i = 0; i < 100; i++)
    assert_int_equal(hmq_sink_write(&s, "0123456789\n", 11), HMQ_OK);
  assert_int_equal(file_size(path("a.ndjson")), 0); /* nothing written per message */
  assert_int_equal(hmq_sink_buffered(&s), 1100);
  assert_int_equal(hmq_sink_commit(&s), HMQ_OK);
  assert_int_equal(file_size(path("a.ndjson")), 1100);
  assert_int_equal(s.size, 1100);
  /* reserve/advance: the room is the free tail of the one buffer */
  uint8_t *p;
  size_t room;
  assert_int_equal(hmq_sink_reserve(&s, 10, &p, &room), HMQ_OK);
  assert_int_equal(room, 4096);
  memcpy(p, "xyz\n", 4);
  hmq_sink_advance(&s, 4);
  assert_int_equal(hmq_sink_commit(&s), HMQ_OK);
  assert_int_equal(s.size, 1104);
  /* reopening appends */
  hmq_sink_close(&s);
  assert_int_equal(hmq_sink_open(&s, HMQ_SINK_FILE, path("a.ndjson"), 0, err, sizeof err), HMQ_OK);
  assert_int_equal(s.cap, 256 * 1024);
  assert_int_equal(s.size, 1104);
  assert_int_equal(hmq_sink_write(&s, "end\n", 4), HMQ_OK);
  assert_int_equal(hmq_sink_commit(&s), HMQ_OK);
  hmq_sink_close(&s);
  hmq_sink_close(&s); /* twice is fine */
  assert_int_equal(file_size(path("a.ndjson")), 1108);
}

static void test_full_buffer_flushes_and_large_writes(void **state) {
  (void)state;
  hmq_sink s;
  char err[256];
  static uint8_t big[300000];
  for (size_t i = 0; i < sizeof big; i++)
    big[i] = (uint8_t)('a' + i % 26);
  assert_int_equal(hmq_sink_open(&s, HMQ_SINK_FILE, path("b"), 64, err, sizeof err), HMQ_OK);
  assert_int_equal(hmq_sink_write(&s, big, 100), HMQ_OK);
  assert_int_equal(file_size(path("b")), 64); /* one full buffer went out */
  /* reserve more than is free: the buffer is flushed first */
  uint8_t *p;
  size_t room;
  assert_int_equal(hmq_sink_reserve(&s, 60, &p, &room), HMQ_OK);
  assert_int_equal(room, 64);
  assert_int_equal(file_size(path("b")), 100);
  assert_int_equal(hmq_sink_write(&s, big + 100, sizeof big - 100), HMQ_OK);
  assert_int_equal(hmq_sink_commit(&s), HMQ_OK);
  hmq_sink_close(&s);
  static uint8_t back[sizeof big + 1];
  FILE *f = fopen(path("b"), "rb");
  assert_non_null(f);
  assert_int_equal(fread(back, 1, sizeof back, f), sizeof big);
  fclose(f);
  assert_memory_equal(back, big, sizeof big);
}

/* A reader slower than us: write() blocks on the full pipe instead of
 * queueing; everything arrives; memory stays the one buffer. */
static void test_exec_slow_reader_backpressure(void **state) {
  (void)state;
  hmq_sink s;
  char err[256], cmd[320];
  snprintf(cmd, sizeof cmd, "sleep 0.3; cat > '%s'", path("slow.out"));
  assert_int_equal(hmq_sink_open(&s, HMQ_SINK_EXEC, cmd, 8192, err, sizeof err), HMQ_OK);
  static uint8_t line[1024];
  memset(line, 'x', sizeof line - 1);
  line[sizeof line - 1] = '\n';
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (int i = 0; i < 1024; i++) /* 1 MiB, 16x a pipe's capacity */
    assert_int_equal(hmq_sink_write(&s, line, sizeof line), HMQ_OK);
  assert_int_equal(hmq_sink_commit(&s), HMQ_OK);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double waited = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  assert_true(waited >= 0.2); /* we were held back by the sleeping reader */
  assert_int_equal(s.cap, 8192);
  hmq_sink_close(&s);
  assert_int_equal(file_size(path("slow.out")), 1024 * 1024);
}

/* The child closes its stdin but lives on: the next write gets EPIPE (not
 * SIGPIPE), the sink reports HMQ_ERR_CLOSED and stays failed. */
static void test_exec_reader_closes_pipe(void **state) {
  (void)state;
  hmq_sink s;
  char err[256];
  assert_int_equal(hmq_sink_open(&s, HMQ_SINK_EXEC, "exec 0<&-; sleep 5", 4096, err, sizeof err),
                   HMQ_OK);
  hmq_status st = HMQ_OK;
  for (int i = 0; i < 300 && st == HMQ_OK; i++) {
    st = hmq_sink_write(&s, "line\n", 5);
    if (st == HMQ_OK)
      st = hmq_sink_commit(&s);
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  assert_int_equal(st, HMQ_ERR_CLOSED);
  assert_int_equal(hmq_sink_commit(&s), HMQ_ERR_CLOSED);
  assert_int_equal(hmq_sink_write(&s, "x", 1), HMQ_ERR_CLOSED);
  char why[256];
  hmq_sink_describe(&s, why, sizeof why);
  assert_non_null(strstr(why, "exec 'exec 0<&-; sleep 5'"));
  struct timespec t0, t1;
  s.close_grace_ms = 200;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  hmq_sink_close(&s); /* the child is still sleeping: close ends it, bounded */
  clock_gettime(CLOCK_MONOTONIC, &t1);
  assert_true(t1.tv_sec - t0.tv_sec < 2);
  assert_true(WIFSIGNALED(s.child_status));
  assert_int_equal(s.child, 0);
}

static void test_stdout_redirected_to_file_is_synced(void **state) {
  (void)state;
  fflush(stdout);
  int save = dup(1);
  int fd = open(path("stdout.txt"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  assert_true(fd > 2);
  dup2(fd, 1);
  hmq_sink s;
  char err[256];
  hmq_status st = hmq_sink_open(&s, HMQ_SINK_STDOUT, NULL, 0, err, sizeof err);
  int sync = s.sync;
  if (st == HMQ_OK) {
    st = hmq_sink_write(&s, "hello\n", 6);
    if (st == HMQ_OK)
      st = hmq_sink_commit(&s);
    if (st == HMQ_OK)
      st = hmq_sink_reopen(&s, err, sizeof err); /* no-op for stdout */
    hmq_sink_close(&s);
  }
  dup2(save, 1);
  close(save);
  close(fd);
  assert_int_equal(st, HMQ_OK);
  assert_int_equal(sync, 1);
  assert_int_equal(file_size(path("stdout.txt")), 6);
  assert_true(fcntl(1, F_GETFD) >= 0); /* our stdout was not closed */
}

/* `hmq | slow-consumer`: commit returns only once the reader has emptied
 * the pipe, so nothing acked is left in a pipe whose reader may still die. */
static void test_stdout_pipe_commit_waits_for_reader(void **state) {
  (void)state;
  fflush(stdout);
  int save = dup(1), p[2];
  assert_int_equal(pipe(p), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    char b[64];
    close(p[1]);
    struct timespec ts = {0, 300 * 1000 * 1000};
    nanosleep(&ts, NULL);
    while (read(p[0], b, sizeof b) > 0) {
    }
    _exit(0);
  }
  close(p[0]);
  dup2(p[1], 1);
  close(p[1]);
  hmq_sink s;
  char err[256];
  struct timespec t0, t1;
  hmq_status st = hmq_sink_open(&s, HMQ_SINK_STDOUT, NULL, 0, err, sizeof err), st2 = HMQ_OK;
  int fifo = s.fifo;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  if (st == HMQ_OK) {
    st = hmq_sink_write(&s, "hello\n", 6);
    st2 = hmq_sink_commit(&s);
    hmq_sink_close(&s);
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  dup2(save, 1);
  close(save);
  int ws;
  assert_int_equal(waitpid(pid, &ws, 0), pid);
  assert_int_equal(st, HMQ_OK);
  assert_int_equal(st2, HMQ_OK);
  assert_int_equal(fifo, 1);
  double waited = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  assert_true(waited >= 0.2);
}

/* `hmq | head`: the reader of stdout goes away; EPIPE, not SIGPIPE. */
static void test_stdout_reader_gone(void **state) {
  (void)state;
  fflush(stdout);
  signal(SIGPIPE, SIG_DFL); /* the sink itself must make EPIPE survivable */
  int save = dup(1), p[2];
  assert_int_equal(pipe(p), 0);
  close(p[0]);
  dup2(p[1], 1);
  close(p[1]);
  hmq_sink s;
  char err[256], why[256] = "";
  hmq_status st = hmq_sink_open(&s, HMQ_SINK_STDOUT, NULL, 0, err, sizeof err), st2 = HMQ_OK;
  if (st == HMQ_OK) {
    st = hmq_sink_write(&s, "hello\n", 6);
    st2 = hmq_sink_commit(&s);
    hmq_sink_describe(&s, why, sizeof why);
    hmq_sink_close(&s);
  }
  dup2(save, 1);
  close(save);
  assert_int_equal(st, HMQ_OK); /* buffered */
  assert_int_equal(st2, HMQ_ERR_CLOSED);
  assert_non_null(strstr(why, "stdout"));
}

static void test_full_disk_is_a_sticky_error(void **state) {
  (void)state;
  if (access("/dev/full", W_OK) != 0)
    skip();
  hmq_sink s;
  char err[256], why[256];
  assert_int_equal(hmq_sink_open(&s, HMQ_SINK_FILE, "/dev/full", 64, err, sizeof err), HMQ_OK);
  assert_int_equal(hmq_sink_write(&s, "data\n", 5), HMQ_OK);
  assert_int_equal(hmq_sink_commit(&s), HMQ_ERR_IO);
  assert_int_equal(hmq_sink_write(&s, "more\n", 5), HMQ_ERR_IO);
  assert_int_equal(hmq_sink_commit(&s), HMQ_ERR_IO);
  hmq_sink_describe(&s, why, sizeof why);
  assert_non_null(strstr(why, "/dev/full"));
  assert_non_null(strstr(why, strerror(ENOSPC)));
  hmq_sink_close(&s);
}

static void test_open_errors(void **state) {
  (void)state;
  hmq_sink s;
  char err[256];
  assert_int_equal(hmq_sink_open(&s, HMQ_SINK_FILE, NULL, 0, err, sizeof err), HMQ_ERR_ARG);
  hmq_sink_close(&s);
  assert_int_equal(hmq_sink_open(&s, HMQ_SINK_EXEC, "", 0, err, sizeof err), HMQ_ERR_ARG);
  hmq_sink_close(&s);
  assert_int_equal(hmq_sink_open(&s, HMQ_SINK_FILE, path("no/such/dir"), 0, err, sizeof err),
                   HMQ_ERR_FILE);
  assert_non_null(strstr(err, "no/such/dir"));
  hmq_sink_close(&s);
  hmq_sink z;
  memset(&z, 0, sizeof z);
  hmq_sink_close(&z); /* zeroed: safe, and fd 0 is not closed */
  assert_true(fcntl(0, F_GETFD) >= 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_file_batches_until_commit, setup, teardown),
      cmocka_unit_test_setup_teardown(test_full_buffer_flushes_and_large_writes, setup, teardown),
      cmocka_unit_test_setup_teardown(test_exec_slow_reader_backpressure, setup, teardown),
      cmocka_unit_test_setup_teardown(test_exec_reader_closes_pipe, setup, teardown),
      cmocka_unit_test_setup_teardown(test_stdout_redirected_to_file_is_synced, setup, teardown),
      cmocka_unit_test_setup_teardown(test_stdout_pipe_commit_waits_for_reader, setup, teardown),
      cmocka_unit_test_setup_teardown(test_stdout_reader_gone, setup, teardown),
      cmocka_unit_test_setup_teardown(test_full_disk_is_a_sticky_error, setup, teardown),
      cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
