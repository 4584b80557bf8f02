/* SPDX-License-Identifier: MIT */
/*
 * hmq program: state directory, instance lock and the stable client-id
 * suffix (see instance.h for why).
 */
#define _XOPEN_SOURCE 700 /* realpath */
#include "pipeline/instance.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* mkdir -p with mode 0700: the directory will hold what identifies our
 * broker session. */
static int mkdirs(char *path) {
  char *p;
  for (p = path + 1; *p; p++) {
    if (*p != '/')
      continue;
    *p = '\0';
    if (mkdir(path, 0700) != 0 && errno != EEXIST) {
      *p = '/';
      return -1;
    }
    *p = '/';
  }
  if (mkdir(path, 0700) != 0 && errno != EEXIST)
    return -1;
  return 0;
}

/* Client ids may hold characters a file name should not. */
static void sanitize(char *dst, size_t cap, const char *src) {
  size_t i;
  for (i = 0; src[i] && i + 1 < cap; i++) {
    char c = src[i];
    dst[i] = (c == '/' || c == '\\' || (c == '.' && i == 0) || (unsigned char)c < 0x20) ? '_' : c;
  }
  dst[i] = '\0';
}

static int default_dir(hmq_instance *in, const hmq_opts *o) {
  char name[HMQ_OPT_ID + 16];
  const char *xdg = getenv("XDG_STATE_HOME");
  const char *home = getenv("HOME");
  int k;
  if (o->app_id[0])
    snprintf(name, sizeof name, "%s-%s", o->app_id, o->env);
  else
    sanitize(name, sizeof name, o->client_id);
  if (xdg && xdg[0] == '/')
    k = snprintf(in->dir, sizeof in->dir, "%s/hmq/%s", xdg, name);
  else if (home && home[0])
    k = snprintf(in->dir, sizeof in->dir, "%s/.local/state/hmq/%s", home, name);
  else
    return -1;
  return k < 0 || (size_t)k >= sizeof in->dir ? -1 : 0;
}

/* 12 random decimal digits from the kernel's generator. */
static int new_suffix(char *out, size_t cap) {
  unsigned char r[12];
  size_t i, got = 0;
  int fd = open("/dev/urandom", O_RDONLY);
  if (fd < 0 || cap < sizeof r + 1)
    return -1;
  while (got < sizeof r) {
    ssize_t k = read(fd, r + got, sizeof r - got);
    if (k <= 0) {
      close(fd);
      return -1;
    }
    got += (size_t)k;
  }
  close(fd);
  for (i = 0; i < sizeof r; i++)
    out[i] = (char)('0' + r[i] % 10);
  out[sizeof r] = '\0';
  return 0;
}

/* Read the stored suffix or create it (written to a temp file and renamed,
 * so a crash never leaves a half-written one behind). Neither file is
 * opened through a symbolic link. */
static int load_suffix(hmq_instance *in, char *err, size_t errlen) {
  char path[HMQ_OPT_PATH + 32], tmp[HMQ_OPT_PATH + 32], line[40];
  ssize_t n;
  int fd, len;
  snprintf(path, sizeof path, "%s/client-suffix", in->dir);
  fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0 && errno != ENOENT) {
    snprintf(err, errlen, "cannot open %s: %s%s", path, strerror(errno),
             errno == ELOOP ? " (a symbolic link: state files are never followed)" : "");
    return -1;
  }
  if (fd >= 0) {
    n = read(fd, in->suffix, sizeof in->suffix - 1);
    close(fd);
    if (n < 0)
      n = 0;
    while (n > 0 && (in->suffix[n - 1] == '\n' || in->suffix[n - 1] == ' '))
      n--;
    in->suffix[n] = '\0';
    if (n > 0)
      return 0;
  }
  if (new_suffix(in->suffix, sizeof in->suffix) != 0) {
    snprintf(err, errlen, "cannot read /dev/urandom for a client id suffix");
    return -1;
  }
  snprintf(tmp, sizeof tmp, "%s/client-suffix.tmp", in->dir);
  len = snprintf(line, sizeof line, "%s\n", in->suffix);
  fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0 || write(fd, line, (size_t)len) != len || fsync(fd) != 0 || close(fd) != 0 ||
      rename(tmp, path) != 0) {
    int e = errno;
    snprintf(err, errlen, "cannot store the client id suffix in %s: %s", path, strerror(e));
    return -1;
  }
  return 0;
}

/* The state directory must be a directory of ours that nobody else can
 * write into: another user could otherwise plant symbolic links or files
 * (a lock, a dedupe log) and steer what hmq writes or believes. */
static int check_dir(const char *dir, char *err, size_t errlen) {
  struct stat st;
  if (stat(dir, &st) != 0) {
    snprintf(err, errlen, "state dir %s: %s", dir, strerror(errno));
    return -1;
  }
  if (!S_ISDIR(st.st_mode)) {
    snprintf(err, errlen, "state dir %s: not a directory", dir);
    return -1;
  }
  if (st.st_uid != geteuid()) {
    snprintf(err, errlen,
             "state dir %s is owned by uid %ld, not by this user (uid %ld): refusing to keep "
             "state there",
             dir, (long)st.st_uid, (long)geteuid());
    return -1;
  }
  if (st.st_mode & (S_IWGRP | S_IWOTH)) {
    snprintf(err, errlen,
             "state dir %s is %s-writable (mode %03o): refusing to keep state there; "
             "chmod go-w it",
             dir, (st.st_mode & S_IWOTH) ? "world" : "group", (unsigned)(st.st_mode & 0777));
    return -1;
  }
  return 0;
}

/* 1 when the file `path` would be inside directory `dir` (its parent,
 * resolved, is dir or below it). A file whose parent does not resolve is
 * not inside (opening it fails later with its own message). */
static int inside(const char *path, const char *dir) {
  char parent[HMQ_OPT_PATH], rp[PATH_MAX], rd[PATH_MAX];
  const char *slash = strrchr(path, '/');
  size_t n;
  if (!slash)
    snprintf(parent, sizeof parent, ".");
  else if (slash == path)
    snprintf(parent, sizeof parent, "/");
  else
    snprintf(parent, sizeof parent, "%.*s", (int)(slash - path), path);
  if (!realpath(parent, rp) || !realpath(dir, rd))
    return 0;
  n = strlen(rd);
  return strncmp(rp, rd, n) == 0 && (rp[n] == '\0' || rp[n] == '/' || n == 1);
}

/* --out, --dead-letter (and --sqlite) must not point into the state
 * directory: hmq's own files there would be overwritten or mixed with
 * messages. */
static int check_outputs(const hmq_opts *o, const char *dir, char *err, size_t errlen) {
  static const struct {
    const char *flag;
    size_t off;
  } outs[] = {{"--out", offsetof(hmq_opts, out)},
              {"--dead-letter", offsetof(hmq_opts, dead_letter)},
              {"--sqlite", offsetof(hmq_opts, sqlite)}};
  size_t i;
  for (i = 0; i < sizeof outs / sizeof outs[0]; i++) {
    const char *path = (const char *)o + outs[i].off;
    if (path[0] && inside(path, dir)) {
      snprintf(err, errlen, "%s %s is inside the state dir %s: keep output out of hmq's own state",
               outs[i].flag, path, dir);
      return -1;
    }
  }
  return 0;
}

/* The state files, when they exist, must be plain files of this user: a
 * symbolic link, directory or FIFO there is a state-directory error (exit 3)
 * now, not a confusing failure of the delivery pipeline later. */
static int check_files(const char *dir, char *err, size_t errlen) {
  static const char *const names[] = {"client-suffix", "dedupe.log", "dedupe.snap", "dedupe.boot"};
  size_t i;
  for (i = 0; i < sizeof names / sizeof names[0]; i++) {
    char p[HMQ_OPT_PATH + 32];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", dir, names[i]);
    if (lstat(p, &st) != 0) {
      if (errno == ENOENT)
        continue;
      snprintf(err, errlen, "state dir %s: %s: %s", dir, names[i], strerror(errno));
      return -1;
    }
    if (!S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
      snprintf(err, errlen,
               "state dir %s: %s is %s: state files must be plain files of this user (remove it)",
               dir, names[i],
               S_ISLNK(st.st_mode)    ? "a symbolic link"
               : S_ISDIR(st.st_mode)  ? "a directory"
               : !S_ISREG(st.st_mode) ? "not a regular file"
                                      : "owned by another user");
      return -1;
    }
  }
  return 0;
}

int hmq_instance_open(hmq_instance *in, hmq_opts *o, char *err, size_t errlen) {
  char path[HMQ_OPT_PATH + 32], pid[32];
  struct stat st;
  int k;
  memset(in, 0, sizeof *in);
  in->lock_fd = -1;
  if (o->state_dir[0])
    snprintf(in->dir, sizeof in->dir, "%s", o->state_dir);
  else if (default_dir(in, o) != 0) {
    snprintf(err, errlen, "no state dir: set --state-dir, XDG_STATE_HOME or HOME");
    return HMQ_EXIT_CONFIG;
  }
  if (mkdirs(in->dir) != 0) {
    snprintf(err, errlen, "state dir %s: %s", in->dir, strerror(errno));
    return HMQ_EXIT_CONFIG;
  }
  if (check_dir(in->dir, err, errlen) != 0 || check_outputs(o, in->dir, err, errlen) != 0 ||
      check_files(in->dir, err, errlen) != 0)
    return HMQ_EXIT_CONFIG;
  snprintf(path, sizeof path, "%s/lock", in->dir);
  in->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0600);
  if (in->lock_fd < 0) {
    snprintf(err, errlen, "state dir %s: cannot open lock file: %s%s", in->dir, strerror(errno),
             errno == ELOOP ? " (a symbolic link: state files are never followed)" : "");
    return HMQ_EXIT_CONFIG;
  }
  if (fstat(in->lock_fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    snprintf(err, errlen, "state dir %s: lock is not a regular file", in->dir);
    hmq_instance_close(in);
    return HMQ_EXIT_CONFIG;
  }
  if (flock(in->lock_fd, LOCK_EX | LOCK_NB) != 0) {
    ssize_t n = pread(in->lock_fd, pid, sizeof pid - 1, 0);
    pid[n > 0 ? n : 0] = '\0';
    pid[strcspn(pid, "\n")] = '\0';
    snprintf(err, errlen,
             "state dir %s is already in use by another hmq (pid %s): two instances must not "
             "share a client id; give this one its own --state-dir",
             in->dir, pid[0] ? pid : "?");
    close(in->lock_fd);
    in->lock_fd = -1;
    return HMQ_EXIT_CONFIG;
  }
  k = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
  if (ftruncate(in->lock_fd, 0) != 0 || pwrite(in->lock_fd, pid, (size_t)k, 0) != k) {
    /* Only informational (the pid in the message above). */
  }
  if (!o->client_id[0]) {
    if (load_suffix(in, err, errlen) != 0) {
      hmq_instance_close(in);
      return HMQ_EXIT_CONFIG;
    }
    k = snprintf(o->client_id, sizeof o->client_id, "%s-%s-%s", o->app_id, o->env, in->suffix);
    if (k < 0 || (size_t)k >= sizeof o->client_id) {
      snprintf(err, errlen, "client id too long");
      hmq_instance_close(in);
      return HMQ_EXIT_CONFIG;
    }
  }
  return HMQ_EXIT_OK;
}

void hmq_instance_close(hmq_instance *in) {
  if (in->lock_fd > 0) {
    close(in->lock_fd); /* releases the flock */
  }
  in->lock_fd = -1;
}
