/* SPDX-License-Identifier: MIT */
/*
 * Integration harness (see harness.h): mosquitto in a temp dir with a
 * generated PKI, and a small driver for hmq links.
 */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#ifndef HMQ_SOURCE_DIR
#error "HMQ_SOURCE_DIR must be defined by the build"
#endif

uint64_t hmq_h_now(void) {
  return hmq_now_ms();
}

void hmq_h_sleep_ms(unsigned ms) {
  struct timespec ts = {.tv_sec = ms / 1000u, .tv_nsec = (long)(ms % 1000u) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

int hmq_h_wait_exit(pid_t pid, unsigned timeout_ms, bool whole_group) {
  uint64_t end = hmq_h_now() + timeout_ms;
  int status;
  for (;;) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid)
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (r < 0 || hmq_h_now() > end) {
      kill(whole_group ? -pid : pid, SIGKILL);
      waitpid(pid, &status, 0);
      return -1;
    }
    hmq_h_sleep_ms(5);
  }
}

int hmq_h_find_prog(const char *name, char *out, size_t cap) {
  char exe[400];
  char *slash;
  /* HMQ_IT_HMQ=<path>: run the end-to-end tests against another hmq binary
   * (scripts/test's static phase: the musl + mbedTLS 3.6 build). */
  const char *over = strcmp(name, "hmq") == 0 ? getenv("HMQ_IT_HMQ") : NULL;
  if (over && over[0]) {
    snprintf(out, cap, "%s", over);
    return access(out, X_OK) == 0 ? 0 : -1;
  }
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0)
    return -1;
  exe[n] = '\0';
  slash = strrchr(exe, '/');
  if (!slash)
    return -1;
  *slash = '\0';
  snprintf(out, cap, "%.380s/../../%s", exe, name);
  return access(out, X_OK) == 0 ? 0 : -1;
}

/* Run argv, wait (bounded by timeout_ms), return the exit status or -1. */
static int run_cmd(char *const argv[], const char *stdin_path, unsigned timeout_ms) {
  pid_t pid = fork();
  if (pid < 0)
    return -1;
  if (pid == 0) {
    if (stdin_path) {
      int fd = open(stdin_path, O_RDONLY);
      if (fd < 0 || dup2(fd, 0) < 0)
        _exit(126);
      close(fd);
    }
    execvp(argv[0], argv);
    _exit(127);
  }
  uint64_t end = hmq_h_now() + timeout_ms;
  for (;;) {
    int status;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid)
      return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (r < 0)
      return -1;
    if (hmq_h_now() > end) {
      fprintf(stderr, "harness: %s timed out, killing it\n", argv[0]);
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return -1;
    }
    hmq_h_sleep_ms(5);
  }
}

static uint16_t free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  uint16_t port = 0;
  if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
      getsockname(fd, (struct sockaddr *)&a, &len) == 0)
    port = ntohs(a.sin_port);
  if (fd >= 0)
    close(fd);
  return port;
}

const char *hmq_h_pki(const hmq_h_broker *b, const char *name, char *out, size_t cap) {
  snprintf(out, cap, "%s/pki/%s", b->dir, name);
  return out;
}

int hmq_h_setup(hmq_h_broker *b) {
  memset(b, 0, sizeof *b);
  const char *tmp = getenv("TMPDIR");
  snprintf(b->dir, sizeof b->dir, "%s/hmq-it-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
  if (!mkdtemp(b->dir)) {
    fprintf(stderr, "harness: mkdtemp %s: %s\n", b->dir, strerror(errno));
    return -1;
  }
  char pki[300], data[300];
  snprintf(pki, sizeof pki, "%s/pki", b->dir);
  snprintf(data, sizeof data, "%s/data", b->dir);
  mkdir(data, 0700);
  char script[] = HMQ_SOURCE_DIR "/tests/integration/make-pki.sh";
  char sh[] = "sh";
  char *argv[] = {sh, script, pki, NULL};
  if (run_cmd(argv, NULL, 20000) != 0) {
    fprintf(stderr, "harness: make-pki.sh failed\n");
    return -1;
  }
  b->server_cert = "server.crt";
  b->server_ca = "ca.crt";
  b->port = free_port();
  do
    b->plain_port = free_port();
  while (b->plain_port == b->port);
  return b->port && b->plain_port ? 0 : -1;
}

static int write_conf(const hmq_h_broker *b, const char *path) {
  FILE *f = fopen(path, "w");
  if (!f)
    return -1;
  char ca[300], crt[300], key[300];
  fprintf(f, "per_listener_settings false\n");
  fprintf(f, "allow_anonymous true\n");
  if (geteuid() == 0)
    fprintf(f, "user root\n"); /* else mosquitto drops to 'mosquitto' (docs/mosquitto.md) */
  fprintf(f, "persistence true\npersistence_location %s/data/\n", b->dir);
  fprintf(f, "autosave_interval 1\nautosave_on_changes false\n");
  fprintf(f, "max_queued_messages 500000\nmax_queued_bytes 0\n");
  if (b->keepalive_max > 0)
    fprintf(f, "max_keepalive %d\n", b->keepalive_max);
  fprintf(f, "log_dest file %s/mosquitto.log\nlog_type all\nconnection_messages true\n", b->dir);
  fprintf(f, "log_timestamp_format %%H:%%M:%%S\n");
  fprintf(f, "listener %u 127.0.0.1\n", (unsigned)b->port);
  fprintf(f, "cafile %s\ncertfile %s\nkeyfile %s\n", hmq_h_pki(b, b->server_ca, ca, sizeof ca),
          hmq_h_pki(b, b->server_cert, crt, sizeof crt),
          hmq_h_pki(b, "server.key", key, sizeof key));
  fprintf(f, "require_certificate true\nuse_identity_as_username false\n");
  if (b->ciphers)
    fprintf(f, "ciphers %s\n", b->ciphers);
  fprintf(f, "listener %u 127.0.0.1\n", (unsigned)b->plain_port);
  return fclose(f) == 0 ? 0 : -1;
}

static bool port_open(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
  if (fd >= 0)
    close(fd);
  return ok;
}

int hmq_h_setup_start(hmq_h_broker *b) {
  return hmq_h_setup(b) == 0 && hmq_h_start(b) == 0 ? 0 : -1;
}

int hmq_h_start(hmq_h_broker *b) {
  char conf[300];
  snprintf(conf, sizeof conf, "%s/mosquitto.conf", b->dir);
  if (b->pid != 0 || write_conf(b, conf) != 0)
    return -1;
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0)
    return -1;
  if (pid == 0) {
#ifdef __linux__
    /* A test killed by a timeout or SIGPIPE must not leave its broker
     * running: take it along. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
      _exit(1);
#else
    (void)parent;
#endif
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
      dup2(null, 0);
      dup2(null, 1);
      dup2(null, 2); /* its log goes to <dir>/mosquitto.log */
    }
    execlp("mosquitto", "mosquitto", "-c", conf, (char *)NULL);
    _exit(127);
  }
  b->pid = (int)pid;
  uint64_t end = hmq_h_now() + 5000;
  while (hmq_h_now() < end) {
    int status;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      b->pid = 0;
      fprintf(stderr, "harness: mosquitto exited at start\n");
      hmq_h_dump_log(b);
      return -1;
    }
    /* The plain listener is opened after the TLS one. */
    if (port_open(b->port) && port_open(b->plain_port))
      return 0;
    hmq_h_sleep_ms(10);
  }
  fprintf(stderr, "harness: mosquitto did not open port %u in 5 s\n", (unsigned)b->port);
  hmq_h_stop(b);
  return -1;
}

int hmq_h_stop(hmq_h_broker *b) {
  if (b->pid == 0)
    return 0;
  pid_t pid = (pid_t)b->pid;
  kill(pid, SIGCONT); /* a stopped process cannot handle SIGTERM */
  kill(pid, SIGTERM);
  uint64_t end = hmq_h_now() + 5000;
  int status, rc = -1;
  while (hmq_h_now() < end) {
    if (waitpid(pid, &status, WNOHANG) == pid) {
      rc = 0;
      break;
    }
    hmq_h_sleep_ms(5);
  }
  if (rc != 0) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
  }
  b->pid = 0;
  return rc;
}

int hmq_h_pause(hmq_h_broker *b) {
  return b->pid ? kill((pid_t)b->pid, SIGSTOP) : -1;
}

int hmq_h_resume(hmq_h_broker *b) {
  return b->pid ? kill((pid_t)b->pid, SIGCONT) : -1;
}

void hmq_h_cleanup(hmq_h_broker *b) {
  hmq_h_stop(b);
  if (b->dir[0] && strstr(b->dir, "hmq-it-")) {
    char rm[] = "rm", rf[] = "-rf";
    char *argv[] = {rm, rf, b->dir, NULL};
    run_cmd(argv, NULL, 10000);
  }
  b->dir[0] = '\0';
}

void hmq_h_cleanup_or_keep(hmq_h_broker *b) {
  if (getenv("HMQ_IT_KEEP")) {
    fprintf(stderr, "keeping %s\n", b->dir);
    hmq_h_stop(b);
    b->dir[0] = '\0'; /* hmq_h_cleanup removes nothing then */
  }
  hmq_h_cleanup(b);
}

void hmq_h_kill_all(pid_t *kids, size_t n, bool groups) {
  size_t i;
  for (i = 0; i < n; i++)
    if (kids[i] > 0) {
      int st;
      kill(groups ? -kids[i] : kids[i], SIGKILL);
      waitpid(kids[i], &st, 0);
      kids[i] = 0;
    }
}

void hmq_h_dump_log(const hmq_h_broker *b) {
  char path[300];
  snprintf(path, sizeof path, "%s/mosquitto.log", b->dir);
  FILE *f = fopen(path, "r");
  if (!f)
    return;
  static char lines[40][256];
  size_t n = 0;
  while (fgets(lines[n % 40], sizeof lines[0], f))
    n++;
  fclose(f);
  size_t from = n > 40 ? n - 40 : 0;
  fprintf(stderr, "---- mosquitto.log (last %zu lines) ----\n", n - from);
  for (size_t i = from; i < n; i++)
    fputs(lines[i % 40], stderr);
}

long hmq_h_publish(const hmq_h_broker *b, const char *topic, const char *prefix, long first,
                   long count) {
  return hmq_h_publish_pad(b, topic, prefix, first, count, 0);
}

long hmq_h_publish_pad(const hmq_h_broker *b, const char *topic, const char *prefix, long first,
                       long count, size_t pad) {
  char path[300];
  snprintf(path, sizeof path, "%s/pub-%ld.txt", b->dir, first);
  FILE *f = fopen(path, "w");
  if (!f)
    return -1;
  for (long i = first; i < first + count; i++) {
    fputs("{", f);
    if (pad > 0) {
      fputs("\"pad\":\"", f);
      for (size_t k = 0; k < pad; k++)
        fputc('a' + (int)(k % 26), f);
      fputs("\",", f);
    }
    fprintf(f, "\"message_id\":\"%s%ld\"}\n", prefix, i);
  }
  fclose(f);
  char port[8];
  snprintf(port, sizeof port, "%u", (unsigned)b->plain_port);
  char a0[] = "mosquitto_pub", v[] = "-V", v5[] = "5", q[] = "-q", q1[] = "1", h[] = "-h",
       host[] = "127.0.0.1", p[] = "-p", t[] = "-t", l[] = "-l";
  char *argv[] = {a0, v, v5, q, q1, h, host, p, port, t, (char *)topic, l, NULL};
  int rc = run_cmd(argv, path, 60000);
  unlink(path);
  return rc == 0 ? count : -1;
}
