/* SPDX-License-Identifier: MIT */
/*
 * hmq program: the instance's state directory.
 *
 * One directory per running instance holds its random client-id suffix
 * (generated once, so a restart resumes the same persistent session), the
 * dedupe state written by the delivery pipeline, and a lock file. The lock
 * (flock, exclusive, non-blocking) makes a second instance with the same
 * state dir fail at once with a clear message instead of connecting with the
 * same client id and taking the first one's session over (DISCONNECT 0x8E,
 * then reconnect ping-pong). Run more instances with different --state-dir
 * values; each gets its own suffix.
 */
#ifndef HMQ_APP_INSTANCE_H
#define HMQ_APP_INSTANCE_H

#include "pipeline/options.h"

typedef struct hmq_instance {
  char dir[HMQ_OPT_PATH];
  char suffix[32];
  int lock_fd; /* -1 when not locked */
} hmq_instance;

/*
 * Resolve the state dir (o->state_dir, else $XDG_STATE_HOME/hmq/<name> or
 * $HOME/.local/state/hmq/<name>, where <name> is <app-id>-<env> or the
 * client id), create it (mode 0700), lock it, and when o->client_id is
 * empty build it as <app-id>-<env>-<suffix> with the stored (or a newly
 * generated and stored) random suffix. Returns HMQ_EXIT_OK, or
 * HMQ_EXIT_CONFIG with err saying what failed ("already in use by another
 * hmq (pid N)" when the lock is taken).
 */
int hmq_instance_open(hmq_instance *in, hmq_opts *o, char *err, size_t errlen);

/* Release the lock; safe on a zeroed or already closed instance. */
void hmq_instance_close(hmq_instance *in);

#endif
