/* SPDX-License-Identifier: MIT */
/*
 * The SQLite sink's checkpoint thread (sq_ckpt.h).
 */
#include "pipeline/sq_ckpt.h"

#if defined(HMQ_WITH_SQLITE)

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The thread's connection: opened at its first job, closed after a failure
 * (the next job opens it again) and at the end. */
static sqlite3 *connect_ckpt(hmq_sq_ckpt *c, char *err, size_t errlen) {
  sqlite3 *db = NULL;
  int rc = sqlite3_open_v2(c->path, &db, SQLITE_OPEN_READWRITE, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_exec(db, "PRAGMA synchronous=FULL", NULL, NULL, NULL);
  if (rc != SQLITE_OK) {
    snprintf(err, errlen, "checkpoint of %s: %s", c->path,
             db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    sqlite3_close_v2(db);
    return NULL;
  }
  return db;
}

static void *run(void *arg) {
  hmq_sq_ckpt *c = arg;
  sqlite3 *db = NULL;
  char err[sizeof c->err];
  pthread_mutex_lock(&c->mu);
  for (;;) {
    while (!c->job && !c->quit)
      pthread_cond_wait(&c->cv, &c->mu);
    if (!c->job)
      break; /* quit with nothing asked */
    c->job = 0;
    pthread_mutex_unlock(&c->mu);
    err[0] = 0;
    if (!db)
      db = connect_ckpt(c, err, sizeof err);
    if (db) {
      int rc = sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
      if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
        snprintf(err, sizeof err, "checkpoint of %s: %s", c->path, sqlite3_errmsg(db));
        sqlite3_close_v2(db);
        db = NULL;
      }
    }
    pthread_mutex_lock(&c->mu);
    if (err[0]) {
      c->failures++;
      memcpy(c->err, err, sizeof c->err);
    } else {
      c->runs++;
    }
    c->busy = 0;
    pthread_cond_broadcast(&c->cv);
  }
  pthread_mutex_unlock(&c->mu);
  sqlite3_close_v2(db);
  return NULL;
}

hmq_status hmq_sq_ckpt_open(hmq_sq_ckpt *c, const char *path) {
  memset(c, 0, sizeof *c);
  if (!(c->path = strdup(path)))
    return HMQ_ERR_IO;
  pthread_mutex_init(&c->mu, NULL);
  pthread_cond_init(&c->cv, NULL);
  if (pthread_create(&c->th, NULL, run, c) != 0) {
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
    free(c->path);
    c->path = NULL;
    return HMQ_ERR_IO;
  }
  c->running = 1;
  return HMQ_OK;
}

int hmq_sq_ckpt_kick(hmq_sq_ckpt *c) {
  int started = 0;
  if (!c->running)
    return 0;
  pthread_mutex_lock(&c->mu);
  if (!c->busy) {
    c->busy = c->job = 1;
    started = 1;
    pthread_cond_broadcast(&c->cv);
  }
  pthread_mutex_unlock(&c->mu);
  return started;
}

int hmq_sq_ckpt_busy(hmq_sq_ckpt *c) {
  int busy;
  if (!c->running)
    return 0;
  pthread_mutex_lock(&c->mu);
  busy = c->busy;
  pthread_mutex_unlock(&c->mu);
  return busy;
}

void hmq_sq_ckpt_wait(hmq_sq_ckpt *c) {
  if (!c->running)
    return;
  pthread_mutex_lock(&c->mu);
  while (c->busy)
    pthread_cond_wait(&c->cv, &c->mu);
  pthread_mutex_unlock(&c->mu);
}

void hmq_sq_ckpt_close(hmq_sq_ckpt *c) {
  if (c->running) {
    pthread_mutex_lock(&c->mu);
    c->quit = 1;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    pthread_join(c->th, NULL);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
    c->running = 0;
  }
  free(c->path);
  c->path = NULL;
}

#else /* !HMQ_WITH_SQLITE: never used, the sink is not built */

#include <string.h>

hmq_status hmq_sq_ckpt_open(hmq_sq_ckpt *c, const char *path) {
  (void)path;
  memset(c, 0, sizeof *c);
  return HMQ_ERR_STATE;
}

int hmq_sq_ckpt_kick(hmq_sq_ckpt *c) {
  (void)c;
  return 0;
}

int hmq_sq_ckpt_busy(hmq_sq_ckpt *c) {
  (void)c;
  return 0;
}

void hmq_sq_ckpt_wait(hmq_sq_ckpt *c) {
  (void)c;
}

void hmq_sq_ckpt_close(hmq_sq_ckpt *c) {
  (void)c;
}

#endif
