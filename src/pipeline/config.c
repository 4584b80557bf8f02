/* SPDX-License-Identifier: MIT */
/*
 * hmq program: finishing a parsed configuration.
 *
 * Derives what --app-id/--env imply, resolves session defaults the way
 * `mosquitto_sub -c -V 5` does, and checks client id and topic against High
 * Mobility's documented formats. Format deviations are warnings, not
 * errors: the broker decides, and a refusal reaches the user as a clear
 * CONNACK/SUBACK message anyway.
 */
#include "pipeline/options.h"
#include "hmq/codec.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

int hmq_opts_is_uuid(const char *s) {
  static const int dash[] = {8, 13, 18, 23};
  size_t i, k = 0;
  if (strlen(s) != 36)
    return 0;
  for (i = 0; i < 36; i++) {
    if (k < 4 && (int)i == dash[k]) {
      if (s[i] != '-')
        return 0;
      k++;
    } else if (!isxdigit((unsigned char)s[i])) {
      return 0;
    }
  }
  return 1;
}

/* Length of a leading UUID in s, or 0. */
static size_t uuid_prefix(const char *s) {
  char buf[37];
  if (strlen(s) < 36)
    return 0;
  memcpy(buf, s, 36);
  buf[36] = '\0';
  return hmq_opts_is_uuid(buf) ? 36 : 0;
}

static const char *env_after(const char *s, size_t *len) {
  if (strncmp(s, "sandbox", 7) == 0) {
    *len = 7;
    return "sandbox";
  }
  if (strncmp(s, "live", 4) == 0) {
    *len = 4;
    return "live";
  }
  return NULL;
}

int hmq_opts_check_id(hmq_opts *o, const char *id) {
  size_t u = uuid_prefix(id), el = 0;
  const char *env = u && id[u] == '-' ? env_after(id + u + 1, &el) : NULL;
  const char *rest = env ? id + u + 1 + el : NULL;
  if (strchr(id, '<') || strchr(id, '>')) {
    hmq_opts_warn(o,
                  "client id '%s' still contains a <placeholder>: replace it with a random "
                  "number unique to this instance (or use --app-id/--env, which does that)",
                  id);
    return 0;
  }
  if (!env || rest[0] != '-' || rest[1] == '\0') {
    hmq_opts_warn(o,
                  "client id '%s' does not follow High Mobility's documented format "
                  "<application-id>-<sandbox|live>-<random>",
                  id);
    return 0;
  }
  if (o->app_id[0] && strncmp(id, o->app_id, u) != 0) {
    hmq_opts_warn(o, "client id '%s' does not start with --app-id %s", id, o->app_id);
    return 0;
  }
  if (o->env[0] && strcmp(env, o->env) != 0) {
    hmq_opts_warn(o, "client id '%s' names environment %s, but --env is %s", id, env, o->env);
    return 0;
  }
  return 1;
}

int hmq_opts_check_topic(hmq_opts *o, const char *t) {
  const char *p = t, *env;
  size_t u1 = 0, u2, el = 0;
  int shared = strncmp(t, "$share/", 7) == 0;
  if (shared) {
    p = t + 7;
    u1 = uuid_prefix(p);
    if (!u1 || p[u1] != '/')
      goto bad;
    p += u1 + 1;
  }
  env = env_after(p, &el);
  if (!env || strncmp(p + el, "/level13/", 9) != 0)
    goto bad;
  p += el + 9;
  u2 = uuid_prefix(p);
  if (!u2 || strcmp(p + u2, "/#") != 0)
    goto bad;
  if (shared && strncmp(t + 7, p, 36) != 0)
    goto bad;
  if (o->app_id[0] && strncmp(p, o->app_id, 36) != 0) {
    hmq_opts_warn(o, "topic '%s' is not for --app-id %s", t, o->app_id);
    return 0;
  }
  if (o->env[0] && strcmp(env, o->env) != 0) {
    hmq_opts_warn(o, "topic '%s' names environment %s, but --env is %s", t, env, o->env);
    return 0;
  }
  if (!shared) {
    hmq_opts_warn(o,
                  "topic '%s' is not a shared subscription: the broker queues only 10,000 "
                  "messages for it (500,000 for $share/<app-id>/...)",
                  t);
    return 0;
  }
  return 1;
bad:
  hmq_opts_warn(o,
                "topic '%s' does not follow High Mobility's documented format "
                "$share/<app-id>/<sandbox|live>/level13/<app-id>/#",
                t);
  return 0;
}

/* The docs' own snippet ends its filter in "<app-id>#": '#' must follow a
 * '/' or stand alone (MQTT-4.7.1-1), so brokers refuse it. The intent is
 * obvious, so fix it and say so. */
static int fix_hash(hmq_opts *o, char *t, char *err, size_t errlen) {
  size_t n = strlen(t);
  if (n < 2 || t[n - 1] != '#' || t[n - 2] == '/')
    return HMQ_EXIT_OK;
  if (n + 2 > HMQ_OPT_TOPIC) {
    snprintf(err, errlen, "--topic: '%s' is not a valid filter ('#' must follow '/')", t);
    return HMQ_EXIT_USAGE;
  }
  hmq_opts_warn(o, "topic '%s': '#' must follow '/' (MQTT-4.7.1-1); using '%.*s/#'", t,
                (int)(n - 1), t);
  t[n - 1] = '/';
  t[n] = '#';
  t[n + 1] = '\0';
  return HMQ_EXIT_OK;
}

int hmq_opts_finish(hmq_opts *o, char *err, size_t errlen) {
  size_t i;
  if (o->env[0] && !o->app_id[0]) {
    snprintf(err, errlen, "--env needs --app-id");
    return HMQ_EXIT_USAGE;
  }
  if (o->app_id[0]) {
    if (!o->env[0]) {
      snprintf(err, errlen, "--app-id needs --env sandbox|live");
      return HMQ_EXIT_USAGE;
    }
    if (!hmq_opts_is_uuid(o->app_id))
      hmq_opts_warn(o, "--app-id '%s' is not a UUID; High Mobility application ids are", o->app_id);
    /* Queue while we are down: the reason --app-id exists. */
    o->persist = 1;
    if (o->topic_count == 0) {
      snprintf(o->topics[0], HMQ_OPT_TOPIC, "$share/%.100s/%.8s/level13/%.100s/#", o->app_id,
               o->env, o->app_id);
      o->topic_count = 1;
    }
  }
  if (o->out[0] && o->exec_cmd[0]) {
    snprintf(err, errlen, "--out and --exec cannot be combined: choose one sink");
    return HMQ_EXIT_USAGE;
  }
  if ((o->sqlite[0] || o->postgres[0]) &&
      (o->out[0] || o->exec_cmd[0] || (o->sqlite[0] && o->postgres[0]))) {
    snprintf(err, errlen,
             "--sqlite and --postgres cannot be combined with each other, --out or --exec: "
             "choose one sink");
    return HMQ_EXIT_USAGE;
  }
  if (o->end_session) {
    /* It receives nothing: an output option would be silently ignored. */
    const char *given = o->out[0]           ? "--out"
                        : o->exec_cmd[0]    ? "--exec"
                        : o->dead_letter[0] ? "--dead-letter"
                        : o->sqlite[0]      ? "--sqlite"
                        : o->postgres[0]    ? "--postgres"
                        : o->count          ? "--count"
                                            : NULL;
    if (given) {
      snprintf(err, errlen,
               "--end-session receives no messages: %s cannot be combined with it (give only "
               "the connection options)",
               given);
      return HMQ_EXIT_USAGE;
    }
  }
  if (o->qos != 1)
    hmq_opts_warn(o, "--qos %d: High Mobility's stream is meant for QoS 1 (%s)", o->qos,
                  o->qos == 0 ? "with QoS 0 a message in flight is lost when the connection drops"
                              : "QoS 2 only adds a round trip; duplicates are removed anyway");
  for (i = 0; i < o->topic_count; i++)
    if (fix_hash(o, o->topics[i], err, errlen) != HMQ_EXIT_OK)
      return HMQ_EXIT_USAGE;
  /* What the server must refuse is a usage error now, not a SUBACK refusal
   * and a reconnect loop later (codec rules: hmq_topic_filter_check). */
  for (i = 0; i < o->topic_count; i++) {
    hmq_status fst = hmq_topic_filter_check(o->topics[i], strlen(o->topics[i]));
    if (fst != HMQ_OK) {
      snprintf(err, errlen, "--topic '%s' is not a valid filter: %s", o->topics[i],
               hmq_status_str(fst));
      return HMQ_EXIT_USAGE;
    }
  }
  if (hmq_client_id_check(o->client_id, strlen(o->client_id)) != HMQ_OK) {
    snprintf(err, errlen, "--id '%s' is not a valid client id: %s", o->client_id,
             hmq_status_str(hmq_client_id_check(o->client_id, strlen(o->client_id))));
    return HMQ_EXIT_USAGE;
  }
  if (!o->end_session) {
    if (o->topic_count == 0) {
      snprintf(err, errlen, "no topic: give --topic (-t), --app-id with --env, or --bundle");
      return HMQ_EXIT_USAGE;
    }
    for (i = 0; i < o->topic_count; i++)
      hmq_opts_check_topic(o, o->topics[i]);
  }
  if (o->client_id[0])
    hmq_opts_check_id(o, o->client_id);
  else if (!o->app_id[0]) {
    /* mosquitto_sub would invent one; a persistent session needs a stable
     * id, and two instances sharing one kick each other off (0x8E). */
    snprintf(err, errlen, "no client id: give --id (-i), or --app-id with --env");
    return HMQ_EXIT_USAGE;
  }
  /* MQTT 5.0 3.1.2.11.2: mosquitto_sub -c without -x asks 0xFFFFFFFF. */
  if (o->expiry == -1)
    o->session_expiry = 0xFFFFFFFFu;
  else if (o->expiry >= 0)
    o->session_expiry = (uint32_t)o->expiry;
  else
    o->session_expiry = o->persist ? 0xFFFFFFFFu : 0;
  if (!o->end_session) {
    if (!o->persist)
      hmq_opts_warn(o, "no --disable-clean-session (-c): the broker forgets the session and its "
                       "queued messages when hmq disconnects");
    else if (o->session_expiry == 0)
      hmq_opts_warn(o, "-x 0 with -c: the session ends at disconnect, nothing is queued while "
                       "hmq is down");
  }
  if (!o->host[0])
    memcpy(o->host, HMQ_DEFAULT_HOST, sizeof HMQ_DEFAULT_HOST);
  if (!o->port)
    o->port = o->plain ? 1883 : 8883;
  if (o->plain) {
    if (o->cafile[0] || o->cert[0] || o->key[0])
      hmq_opts_warn(o, "--plain: --cafile/--cert/--key are ignored (no TLS)");
  } else if (!o->cafile[0] || !o->cert[0] || !o->key[0]) {
    snprintf(
        err, errlen, "TLS needs %s%s%s(or --bundle DIR); --plain is for a local test broker only",
        o->cafile[0] ? "" : "--cafile ", o->cert[0] ? "" : "--cert ", o->key[0] ? "" : "--key ");
    return HMQ_EXIT_USAGE;
  }
  return HMQ_EXIT_OK;
}
