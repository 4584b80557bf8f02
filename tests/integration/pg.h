/* SPDX-License-Identifier: MIT */
/*
 * A private PostgreSQL server for tests: Debian's server binaries
 * (/usr/lib/postgresql/<version>/bin, or $HMQ_PG_BIN), a fresh cluster in a
 * temporary directory, listening on a free 127.0.0.1 port and on a Unix
 * socket in that directory only, trust authentication for user "hmq".
 *
 *   hmq_pg pg;
 *   if (hmq_pg_setup(&pg) != 0) skip();   // no server binaries: say so, skip
 *   hmq_pg_start(&pg);                    // postgres, waits until it answers
 *   ... pg.conninfo: "host=127.0.0.1 port=N dbname=postgres user=hmq" ...
 *   hmq_pg_stop(&pg); hmq_pg_start(&pg);  // a restart: same data, same port
 *   hmq_pg_cleanup(&pg);                  // stop (bounded) + remove the dir
 *
 * PostgreSQL refuses to run as root. When the test runs as root (CI), the
 * server processes run as the unprivileged user "nobody" (present on every
 * Debian system, nothing is created), which owns the cluster directory;
 * otherwise as the test's own user. Every wait is bounded: initdb 60 s,
 * start 30 s, stop 10 s after SIGINT (fast shutdown), then SIGKILL.
 * Header-only (static inline), like e2e.h.
 */
#ifndef HMQ_TEST_PG_H
#define HMQ_TEST_PG_H

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct hmq_pg {
  char bin[256];      /* directory of initdb and postgres */
  char dir[128];      /* temp dir: data/, socket, server.log */
  char conninfo[256]; /* libpq connection string for user hmq */
  unsigned port;
  uid_t uid; /* the server's user (0: the test's own) */
  gid_t gid;
  pid_t pid; /* postmaster, 0 when not running */
} hmq_pg;

static inline uint64_t hmq_pg_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static inline void hmq_pg_sleep(unsigned ms) {
  struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/* The newest /usr/lib/postgresql/<v>/bin holding initdb and postgres. */
static inline int hmq_pg_find_bin(char *out, size_t cap) {
  const char *env = getenv("HMQ_PG_BIN");
  char p[400];
  if (env && *env) {
    snprintf(out, cap, "%s", env);
    snprintf(p, sizeof p, "%s/postgres", out);
    return access(p, X_OK) == 0 ? 0 : -1;
  }
  for (int v = 30; v >= 10; v--) {
    snprintf(out, cap, "/usr/lib/postgresql/%d/bin", v);
    snprintf(p, sizeof p, "%s/initdb", out);
    if (access(p, X_OK) != 0)
      continue;
    snprintf(p, sizeof p, "%s/postgres", out);
    if (access(p, X_OK) == 0)
      return 0;
  }
  return -1;
}

static inline unsigned hmq_pg_free_port(void) {
  struct sockaddr_in a;
  socklen_t len = sizeof a;
  unsigned port = 0;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
      getsockname(fd, (struct sockaddr *)&a, &len) == 0)
    port = ntohs(a.sin_port);
  if (fd >= 0)
    close(fd);
  return port;
}

/* fork + (drop to the server's user) + exec argv, output to server.log. */
static inline pid_t hmq_pg_spawn(const hmq_pg *pg, char *const argv[]) {
  char log[200];
  snprintf(log, sizeof log, "%s/server.log", pg->dir);
  pid_t pid = fork();
  if (pid != 0)
    return pid;
  int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644), null = open("/dev/null", O_RDONLY);
  if (fd < 0 || null < 0 || dup2(null, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
    _exit(126);
  setpgid(0, 0);
  if (pg->uid != 0 && (setgroups(0, NULL) != 0 || setgid(pg->gid) != 0 || setuid(pg->uid) != 0))
    _exit(125);
  execv(argv[0], argv);
  _exit(127);
}

/* Exit status of pid, waiting at most ms; -1 after SIGKILL on timeout. */
static inline int hmq_pg_wait(pid_t pid, unsigned ms) {
  uint64_t end = hmq_pg_now() + ms;
  int status = 0;
  for (;;) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid)
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (r < 0)
      return -1;
    if (hmq_pg_now() > end) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return -1;
    }
    hmq_pg_sleep(20);
  }
}

static inline void hmq_pg_dump_log(const hmq_pg *pg) {
  char p[200], line[512];
  snprintf(p, sizeof p, "%s/server.log", pg->dir);
  FILE *f = fopen(p, "r");
  if (!f)
    return;
  fprintf(stderr, "---- %s (last lines) ----\n", p);
  long n = 0;
  while (fgets(line, sizeof line, f))
    n++;
  rewind(f);
  for (long i = 0; fgets(line, sizeof line, f); i++)
    if (i >= n - 40)
      fputs(line, stderr);
  fclose(f);
}

/* Temp dir, cluster (initdb), free port. 0, or -1 with the reason on
 * stderr (no server binaries: the caller skips). */
static inline int hmq_pg_setup(hmq_pg *pg) {
  memset(pg, 0, sizeof *pg);
  if (hmq_pg_find_bin(pg->bin, sizeof pg->bin) != 0) {
    fprintf(stderr, "pg: no PostgreSQL server binaries (/usr/lib/postgresql/<v>/bin; Debian "
                    "package postgresql, or set HMQ_PG_BIN)\n");
    return -1;
  }
  snprintf(pg->dir, sizeof pg->dir, "/tmp/hmq-pg-XXXXXX");
  if (!mkdtemp(pg->dir)) {
    fprintf(stderr, "pg: mkdtemp: %s\n", strerror(errno));
    return -1;
  }
  if (getuid() == 0) {
    struct passwd *pw = getpwnam("nobody");
    if (!pw) {
      fprintf(stderr, "pg: running as root and there is no user 'nobody' to run PostgreSQL\n");
      return -1;
    }
    pg->uid = pw->pw_uid;
    pg->gid = pw->pw_gid;
    if (chown(pg->dir, pg->uid, pg->gid) != 0) {
      fprintf(stderr, "pg: chown %s: %s\n", pg->dir, strerror(errno));
      return -1;
    }
  }
  chmod(pg->dir, 0700);
  char initdb[300], data[200];
  snprintf(initdb, sizeof initdb, "%s/initdb", pg->bin);
  snprintf(data, sizeof data, "%s/data", pg->dir);
  char *argv[] = {initdb, "-D",   data,         "-U",        "hmq", "--auth=trust",
                  "-E",   "UTF8", "--locale=C", "--no-sync", NULL};
  int rc = hmq_pg_wait(hmq_pg_spawn(pg, argv), 60000);
  if (rc != 0) {
    fprintf(stderr, "pg: initdb exited %d\n", rc);
    hmq_pg_dump_log(pg);
    return -1;
  }
  pg->port = hmq_pg_free_port();
  snprintf(pg->conninfo, sizeof pg->conninfo,
           "host=127.0.0.1 port=%u dbname=postgres user=hmq connect_timeout=5", pg->port);
  return pg->port ? 0 : -1;
}

/* Start the server and wait (<= 30 s) until it accepts connections. */
static inline int hmq_pg_start(hmq_pg *pg) {
  char postgres[300], data[200], port[16];
  snprintf(postgres, sizeof postgres, "%s/postgres", pg->bin);
  snprintf(data, sizeof data, "%s/data", pg->dir);
  snprintf(port, sizeof port, "%u", pg->port);
  char *argv[] = {postgres,
                  "-D",
                  data,
                  "-p",
                  port,
                  "-k",
                  pg->dir,
                  "-c",
                  "listen_addresses=127.0.0.1",
                  "-c",
                  "max_connections=40",
                  NULL};
  pg->pid = hmq_pg_spawn(pg, argv);
  uint64_t end = hmq_pg_now() + 30000;
  while (hmq_pg_now() < end) {
    int status;
    if (PQping(pg->conninfo) == PQPING_OK)
      return 0;
    if (waitpid(pg->pid, &status, WNOHANG) == pg->pid) {
      pg->pid = 0;
      break;
    }
    hmq_pg_sleep(50);
  }
  fprintf(stderr, "pg: server did not come up on port %u\n", pg->port);
  hmq_pg_dump_log(pg);
  return -1;
}

/* Fast shutdown (SIGINT: connections closed, what is committed stays);
 * 0 when it exited within 10 s. */
static inline int hmq_pg_stop(hmq_pg *pg) {
  int rc = 0;
  if (pg->pid > 0) {
    kill(pg->pid, SIGINT);
    rc = hmq_pg_wait(pg->pid, 10000) == 0 ? 0 : -1;
    pg->pid = 0;
  }
  return rc;
}

/* Send sig to the server and to every process it started (its backends
 * and helpers, found by their parent in /proc): SIGSTOP hangs the whole
 * server, connections stay open; SIGCONT resumes it. Only this test's own
 * server is touched. */
static inline void hmq_pg_signal_all(const hmq_pg *pg, int sig) {
  DIR *d = opendir("/proc");
  struct dirent *e;
  if (pg->pid <= 0)
    return;
  if (sig == SIGSTOP)
    kill(pg->pid, sig); /* first, so it starts nothing new */
  while (d && (e = readdir(d)) != NULL) {
    char path[300], buf[512];
    long pid = atol(e->d_name), ppid = 0;
    if (pid <= 0)
      continue;
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
      continue;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *p = strrchr(buf, ')'); /* after "pid (comm)": state, then ppid */
    if (p && sscanf(p + 1, " %*c %ld", &ppid) == 1 && ppid == (long)pg->pid)
      kill((pid_t)pid, sig);
  }
  if (d)
    closedir(d);
  if (sig != SIGSTOP)
    kill(pg->pid, sig);
}

/* Payloads into table input(payload json), created when missing, by one
 * COPY: hmq_pg_input_begin, hmq_pg_input_line per payload (no newline),
 * hmq_pg_input_end. CSV with quote and delimiter bytes no payload holds
 * (checked), so each payload passes as it is. 0, or -1 with a message. */
static inline PGconn *hmq_pg_input_begin(const char *conninfo) {
  PGconn *c = PQconnectdb(conninfo);
  PQclear(PQexec(c, "SET client_min_messages TO warning"));
  PQclear(PQexec(c, "CREATE TABLE IF NOT EXISTS input (payload json)"));
  PGresult *r =
      PQexec(c, "COPY input FROM STDIN WITH (FORMAT csv, QUOTE e'\\x01', DELIMITER e'\\x02')");
  int ok = PQresultStatus(r) == PGRES_COPY_IN;
  if (!ok)
    fprintf(stderr, "pg: COPY input: %s", PQerrorMessage(c));
  PQclear(r);
  if (!ok) {
    PQfinish(c);
    return NULL;
  }
  return c;
}

static inline int hmq_pg_input_line(PGconn *c, const char *p, size_t n) {
  if (memchr(p, '\x01', n) || memchr(p, '\x02', n)) {
    fprintf(stderr, "pg: a payload holds the COPY quote or delimiter byte\n");
    return -1;
  }
  return PQputCopyData(c, p, (int)n) == 1 && PQputCopyData(c, "\n", 1) == 1 ? 0 : -1;
}

static inline int hmq_pg_input_end(PGconn *c) {
  PGresult *r;
  int rc = PQputCopyEnd(c, NULL) == 1 ? 0 : -1;
  while ((r = PQgetResult(c)) != NULL) {
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
      fprintf(stderr, "pg: COPY input: %s", PQresultErrorMessage(r));
      rc = -1;
    }
    PQclear(r);
  }
  PQfinish(c);
  return rc;
}

static inline void hmq_pg_cleanup(hmq_pg *pg) {
  char cmd[200];
  hmq_pg_stop(pg);
  if (pg->dir[0] && !getenv("HMQ_IT_KEEP")) {
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", pg->dir);
    if (system(cmd) != 0)
      fprintf(stderr, "pg: could not remove %s\n", pg->dir);
  } else if (pg->dir[0]) {
    fprintf(stderr, "pg: kept %s\n", pg->dir);
  }
  pg->dir[0] = 0;
}

/* One value of a query as text into out ("" on error, with a message). */
static inline void hmq_pg_query(const char *conninfo, const char *sql, char *out, size_t cap) {
  PGconn *c = PQconnectdb(conninfo);
  out[0] = 0;
  if (PQstatus(c) != CONNECTION_OK) {
    fprintf(stderr, "pg: connect: %s", PQerrorMessage(c));
  } else {
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0)
      snprintf(out, cap, "%s", PQgetvalue(r, 0, 0));
    else if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
      fprintf(stderr, "pg: %s: %s", sql, PQresultErrorMessage(r));
    PQclear(r);
  }
  PQfinish(c);
}

static inline long long hmq_pg_int(const char *conninfo, const char *sql) {
  char b[64];
  hmq_pg_query(conninfo, sql, b, sizeof b);
  return b[0] ? atoll(b) : -1;
}

#endif
