/* SPDX-License-Identifier: MIT */
/*
 * hmq program: --bundle DIR (High Mobility's download) and the shell-word
 * splitter that reads its snippet.txt.
 */
#include "pipeline/bundle.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define SNIPPET_MAX 65536
#define WORDS_MAX   128

int hmq_shell_split(const char *s, size_t len, char *buf, size_t cap, char **words,
                    size_t max_words, size_t *nwords, size_t *consumed) {
  size_t i = 0, o = 0, n = 0;
  int in_word = 0;
  char q = 0; /* open quote: 0, '\'' or '"' */
  *nwords = 0;
  while (i < len) {
    char c = s[i];
    if (q == '\'') {
      if (c == '\'') {
        q = 0;
        i++;
        continue;
      }
    } else if (q == '"') {
      if (c == '"') {
        q = 0;
        i++;
        continue;
      }
      if (c == '\\' && i + 1 < len) {
        char d = s[i + 1];
        if (d == '\n') {
          i += 2;
          continue;
        }
        if (d == '"' || d == '\\' || d == '$' || d == '`') {
          c = d;
          i++;
        }
      }
    } else {
      if (c == '\\' && i + 1 < len && s[i + 1] == '\n') {
        i += 2; /* line continuation */
        continue;
      }
      if (c == '\\' && i + 2 < len && s[i + 1] == '\r' && s[i + 2] == '\n') {
        i += 3; /* the same, from a file saved with CRLF line ends */
        continue;
      }
      if (c == ' ' || c == '\t' || c == '\r') {
        if (in_word) {
          if (o >= cap)
            return HMQ_SHELL_NO_ROOM;
          buf[o++] = '\0';
          in_word = 0;
        }
        i++;
        continue;
      }
      if (c == '\n' || c == ';' || c == '&' || c == '|')
        break;
      if (c == '#' && !in_word) {
        while (i < len && s[i] != '\n')
          i++;
        break;
      }
      if (c == '\'' || c == '"') {
        q = c;
        i++;
        if (!in_word)
          goto start_word;
        continue;
      }
      if (c == '\\' && i + 1 < len) {
        c = s[i + 1];
        i++;
      }
    }
    if (!in_word) {
    start_word:
      if (n >= max_words)
        return HMQ_SHELL_NO_ROOM;
      words[n++] = buf + o;
      in_word = 1;
      if (q)
        continue; /* the opening quote itself is not part of the word */
    }
    if (o >= cap)
      return HMQ_SHELL_NO_ROOM;
    buf[o++] = c;
    i++;
  }
  if (q)
    return HMQ_SHELL_UNCLOSED;
  if (in_word) {
    if (o >= cap)
      return HMQ_SHELL_NO_ROOM;
    buf[o++] = '\0';
  }
  *nwords = n;
  if (consumed)
    *consumed = i;
  return HMQ_SHELL_OK;
}

/* dir/name into dst unless name is absolute. */
static int join(char *dst, size_t cap, const char *dir, const char *name) {
  int k = name[0] == '/' ? snprintf(dst, cap, "%s", name) : snprintf(dst, cap, "%s/%s", dir, name);
  return k < 0 || (size_t)k >= cap ? -1 : 0;
}

/* Where the mosquitto_sub command starts: the word itself, not a mention
 * inside prose or a path like /usr/bin/mosquitto_sub (then the path). */
static const char *find_command(const char *text) {
  const char *p = text;
  while ((p = strstr(p, "mosquitto_sub")) != NULL) {
    const char *start = p;
    char after = p[13];
    while (start > text && start[-1] != ' ' && start[-1] != '\t' && start[-1] != '\n' &&
           start[-1] != '`' && start[-1] != '$' && start[-1] != '(')
      start--;
    if ((after == ' ' || after == '\t' || after == '\\' || after == '\n' || after == '\r' ||
         after == '\0') &&
        (start == p || p[-1] == '/'))
      return start;
    p += 13;
  }
  return NULL;
}

/* Read the whole snippet into text. Returns 0, or -1 when there is none;
 * a file that is not plain text (a NUL byte: everything after it would be
 * cut off silently, a client id included), too large or unreadable is an
 * error in err. */
static int read_snippet(const char *path, char *text, size_t cap, size_t *len, char *err,
                        size_t errlen, int *bad) {
  const char *nul;
  FILE *f = fopen(path, "rb");
  *bad = 0;
  if (!f)
    return -1;
  *len = fread(text, 1, cap - 1, f);
  text[*len] = '\0';
  *bad = 1;
  if (ferror(f))
    snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
  else if (*len == cap - 1 && fgetc(f) != EOF)
    snprintf(err, errlen, "%s: larger than %zu bytes: not a snippet", path, cap - 1);
  else if ((nul = memchr(text, '\0', *len)) != NULL)
    snprintf(err, errlen, "%s: a NUL byte at offset %zu: not a text file", path,
             (size_t)(nul - text));
  else
    *bad = 0;
  fclose(f);
  return *bad ? -1 : 0;
}

static int merge_file(char *dst, size_t cap, const char *dir, const char *name, char *err,
                      size_t errlen, const char *what) {
  if (join(dst, cap, dir, name) != 0) {
    snprintf(err, errlen, "--bundle: path of %s too long", what);
    return HMQ_EXIT_CONFIG;
  }
  return HMQ_EXIT_OK;
}

/* "<uuid>-<sandbox|live>-..." → o->app_id, o->env; 1 on success. */
static int id_app_env(hmq_opts *o, const char *id) {
  char uuid[37];
  const char *e;
  if (strlen(id) < 38)
    return 0;
  memcpy(uuid, id, 36);
  uuid[36] = '\0';
  e = id + 37;
  if (!hmq_opts_is_uuid(uuid) || id[36] != '-')
    return 0;
  if (strncmp(e, "sandbox-", 8) == 0)
    memcpy(o->env, "sandbox", 8);
  else if (strncmp(e, "live-", 5) == 0)
    memcpy(o->env, "live", 5);
  else
    return 0;
  memcpy(o->app_id, uuid, 37);
  return 1;
}

int hmq_bundle_apply(hmq_opts *o, char *err, size_t errlen) {
  static char text[SNIPPET_MAX];
  static char words_buf[SNIPPET_MAX];
  static hmq_opts snip;
  char *words[WORDS_MAX];
  char path[HMQ_OPT_PATH + 32];
  struct stat sb;
  size_t len = 0, nw = 0, i;
  const char *cmd;
  const char *dir = o->bundle;
  unsigned take, user_set;
  int rc, bad, user_app = o->app_id[0] != '\0';

  if (!dir[0])
    return HMQ_EXIT_OK;
  errno = 0;
  if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
    snprintf(err, errlen, "--bundle %s: not a directory (%s)", dir,
             errno ? strerror(errno) : "not a directory");
    return HMQ_EXIT_CONFIG;
  }
  hmq_opts_init(&snip);
  snprintf(path, sizeof path, "%s/snippet.txt", dir);
  if (read_snippet(path, text, sizeof text, &len, err, errlen, &bad) != 0) {
    if (bad)
      return HMQ_EXIT_CONFIG;
    hmq_opts_warn(o, "--bundle %s: no snippet.txt; host, id and topic must come from options", dir);
  } else if ((cmd = find_command(text)) == NULL) {
    hmq_opts_warn(o, "%s: no mosquitto_sub command found", path);
  } else {
    rc = hmq_shell_split(cmd, len - (size_t)(cmd - text), words_buf, sizeof words_buf, words,
                         WORDS_MAX, &nw, NULL);
    if (rc != HMQ_SHELL_OK) {
      snprintf(err, errlen, "%s: %s", path,
               rc == HMQ_SHELL_UNCLOSED ? "unclosed quote in the mosquitto_sub command"
                                        : "mosquitto_sub command too long");
      return HMQ_EXIT_CONFIG;
    }
    if (hmq_opts_parse(&snip, (int)nw, words, err, errlen) != HMQ_EXIT_OK) {
      char inner[256];
      snprintf(inner, sizeof inner, "%s", err);
      snprintf(err, errlen, "%s: %s", path, inner);
      return HMQ_EXIT_CONFIG;
    }
  }
  user_set = o->set;
  take = snip.set & ~user_set; /* explicit options win */
  if (user_app)
    take &= ~(unsigned)(HMQ_SET_ID | HMQ_SET_TOPIC); /* --app-id derives both */
  else if ((take & HMQ_SET_ID) && strchr(snip.client_id, '<') && id_app_env(o, snip.client_id)) {
    /* The docs' snippet has "<rnd-number>" in its id: take application id
     * and environment from it and let the state dir supply a stable random
     * suffix, as --app-id/--env would. */
    take &= ~(unsigned)HMQ_SET_ID;
  }
  if (take & HMQ_SET_HOST)
    memcpy(o->host, snip.host, sizeof o->host);
  if (take & HMQ_SET_PORT)
    o->port = snip.port;
  if (take & HMQ_SET_ID)
    memcpy(o->client_id, snip.client_id, sizeof o->client_id);
  if (take & HMQ_SET_TOPIC) {
    for (i = 0; i < snip.topic_count; i++)
      memcpy(o->topics[i], snip.topics[i], HMQ_OPT_TOPIC);
    o->topic_count = snip.topic_count;
  }
  if (take & HMQ_SET_QOS)
    o->qos = snip.qos;
  if (take & HMQ_SET_PERSIST)
    o->persist = snip.persist;
  if (take & HMQ_SET_EXPIRY)
    o->expiry = snip.expiry;
  if (take & HMQ_SET_KEEPALIVE)
    o->keepalive = snip.keepalive;
  o->set |= take;
  rc = HMQ_EXIT_OK;
  if (!(user_set & HMQ_SET_CAFILE))
    rc |= merge_file(o->cafile, sizeof o->cafile, dir,
                     (snip.set & HMQ_SET_CAFILE) ? snip.cafile : "ca_crt.pem", err, errlen,
                     "the CA file");
  if (!(user_set & HMQ_SET_CERT))
    rc |= merge_file(o->cert, sizeof o->cert, dir,
                     (snip.set & HMQ_SET_CERT) ? snip.cert : "client_crt.pem", err, errlen,
                     "the certificate");
  if (!(user_set & HMQ_SET_KEY))
    rc |=
        merge_file(o->key, sizeof o->key, dir,
                   (snip.set & HMQ_SET_KEY) ? snip.key : "client_key.pem", err, errlen, "the key");
  return rc ? HMQ_EXIT_CONFIG : HMQ_EXIT_OK;
}
