/* SPDX-License-Identifier: MIT */
/*
 * hmq-sim: publishing through hmq's own stack (hmq/link.h + hmq/client.h).
 *
 * One link, one poll loop. Messages go out at QoS 1 as long as the server's
 * Receive Maximum allows (MQTT 5.0 3.3.4 / 4.9: hmq_client_publish returns
 * HMQ_ERR_FULL at the quota; we then wait for PUBACKs) and the engine's
 * transmit buffer has room. Each in-flight message is remembered by packet
 * id; if the connection drops, the engine forgets them (hmq/client.h) and
 * we publish them again after the next CONNACK, so every message of the run
 * is eventually acknowledged once (the broker may then hold a duplicate,
 * which is at-least-once delivery as the real stream does it).
 */
#include "sim.h"

#include "hmq/link.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SIM_RX_CAP   (64u * 1024u)
#define SIM_TX_CAP   (256u * 1024u)
#define SIM_RECV_MAX 16u /* we subscribe to nothing; inbound QoS 1 never comes */
/* The engine keeps the ids of our QoS 1 PUBLISHes in flight in mem.slots
 * (HMQ_CLIENT_IDS_MAX(slots) of them): enough for every id, so only the
 * server's Receive Maximum limits the window. 1.4 MB of static storage. */
#define SIM_SLOTS 87382u

typedef struct sim_flight {
  uint64_t number; /* message number (sim_gen) */
  uint8_t dup;     /* emitted as a duplicate */
  uint8_t used;
} sim_flight;

/* Everything big lives here, in static storage (no allocation per message). */
typedef struct sim_pub {
  hmq_link link;
  hmq_link_config lcfg;
  hmq_client_config ccfg;
  hmq_client_mem mem;
  uint8_t rx[SIM_RX_CAP];
  uint8_t tx[SIM_TX_CAP];
  hmq_client_slot slots[SIM_SLOTS];
  char alias[16];
  sim_flight flight[65536]; /* by packet id */
  uint64_t retry[65536];    /* numbers to publish again after a reconnect */
  uint8_t retry_dup[65536];
  size_t retry_len;
  hmq_sim_gen gen;
  char topic[HMQ_SIM_TOPIC_MAX + 32];
  char payload[HMQ_SIM_PAYLOAD_MAX];
  hmq_sim_msg msg;
  int have_msg; /* topic/payload/msg hold a message not yet accepted */
  uint64_t sent, acked, refused, inflight, downs;
  uint64_t republished; /* in flight when a connection dropped, sent again */
  int connected;
  char id[160];
} sim_pub;

_Static_assert(HMQ_CLIENT_IDS_MAX(SIM_SLOTS) >= 65535u, "a window of every packet id");

static sim_pub P;

/* The next message to publish: a retry first, else the next emission. */
static hmq_status next_message(sim_pub *s, const hmq_sim_opts *o) {
  hmq_status st;
  if (s->retry_len > 0) {
    s->retry_len--;
    st = hmq_sim_gen_make(&s->gen, s->retry[s->retry_len], s->topic, sizeof s->topic, s->payload,
                          sizeof s->payload, &s->msg);
    s->msg.duplicate = s->retry_dup[s->retry_len];
  } else {
    st = hmq_sim_gen_next(&s->gen, s->topic, sizeof s->topic, s->payload, sizeof s->payload,
                          &s->msg);
  }
  if (st == HMQ_OK && o->topic_prefix[0]) {
    const char *vin = strrchr(s->topic, '/');
    char tmp[HMQ_SIM_TOPIC_MAX + 32];
    snprintf(tmp, sizeof tmp, "%s%s", o->topic_prefix, vin ? vin : "/");
    memcpy(s->topic, tmp, sizeof tmp);
    s->msg.topic_len = strlen(s->topic);
  }
  return st;
}

/* Publish while the quota, tx room and --rate allow. Returns HMQ_OK or a
 * status that ends the run. */
static hmq_status pump(sim_pub *s, const hmq_sim_opts *o, uint64_t allowed) {
  hmq_client *c = hmq_link_client(&s->link);
  while (s->connected && (s->have_msg || s->retry_len > 0 || s->sent < o->count)) {
    hmq_publish p;
    uint16_t pid = 0;
    hmq_status st;
    int is_retry = s->retry_len > 0;
    if (!s->have_msg) {
      if (!is_retry && s->sent >= allowed)
        break;
      st = next_message(s, o);
      if (st != HMQ_OK)
        return st;
      s->have_msg = 1;
      if (!is_retry)
        s->sent++;
    }
    memset(&p, 0, sizeof p);
    p.qos = (uint8_t)o->qos;
    p.topic.ptr = s->topic;
    p.topic.len = s->msg.topic_len;
    p.payload.ptr = (const uint8_t *)s->payload;
    p.payload.len = s->msg.payload_len;
    st = hmq_client_publish(c, &p, &pid);
    if (st == HMQ_ERR_FULL || st == HMQ_ERR_NO_ROOM)
      break; /* wait for PUBACKs / for the socket to take tx */
    if (st != HMQ_OK)
      return st;
    s->have_msg = 0;
    if (o->qos == 0) {
      s->acked++; /* nothing comes back at QoS 0: counted as handed over */
    } else {
      s->flight[pid].number = s->msg.number;
      s->flight[pid].dup = (uint8_t)s->msg.duplicate;
      s->flight[pid].used = 1;
      s->inflight++;
    }
  }
  return HMQ_OK;
}

/* The connection is gone: what was in flight is published again later. */
static void requeue(sim_pub *s) {
  for (size_t id = 1; id < 65536; id++) {
    if (!s->flight[id].used)
      continue;
    s->retry[s->retry_len] = s->flight[id].number;
    s->retry_dup[s->retry_len] = s->flight[id].dup;
    s->retry_len++;
    s->republished++;
    s->flight[id].used = 0;
  }
  s->inflight = 0;
  s->connected = 0;
}

/* Handle one link event. Returns -1 when the run must end (final failure). */
static int on_event(sim_pub *s, const hmq_sim_opts *o, const hmq_link_event *ev) {
  switch (ev->type) {
  case HMQ_LINK_EV_MQTT:
    if (ev->mqtt.type == HMQ_EV_CONNACK) {
      s->connected = 1;
      if (o->debug)
        fprintf(stderr, "hmq-sim: connected as %s\n", s->id);
    } else if (ev->mqtt.type == HMQ_EV_PUBACK) {
      uint16_t pid = ev->mqtt.ack.packet_id;
      if (s->flight[pid].used) {
        s->flight[pid].used = 0;
        s->inflight--;
        /* 0x10 "No matching subscribers" is a success (MQTT 5.0 3.4.2.1). */
        if (ev->mqtt.ack.reason < 0x80) {
          s->acked++;
        } else {
          s->refused++;
          if (!o->quiet && s->refused <= 5)
            fprintf(stderr, "hmq-sim: PUBACK reason 0x%02X (%s)\n", ev->mqtt.ack.reason,
                    hmq_reason_str(0x40, ev->mqtt.ack.reason));
        }
      }
    }
    break;
  case HMQ_LINK_EV_DOWN:
  case HMQ_LINK_EV_TAKEN_OVER:
    s->downs++;
    requeue(s);
    if (!o->quiet)
      fprintf(stderr, "hmq-sim: connection %s: %s\n", ev->final ? "failed for good" : "lost",
              ev->msg ? ev->msg : hmq_status_str(ev->status));
    if (ev->final)
      return -1;
    break;
  case HMQ_LINK_EV_RETRY:
    if (o->debug)
      fprintf(stderr, "hmq-sim: reconnecting in %u ms\n", (unsigned)ev->delay_ms);
    break;
  default:
    break;
  }
  return 0;
}

static void setup(sim_pub *s, const hmq_sim_opts *o) {
  hmq_link_config_default(&s->lcfg);
  s->lcfg.tls.host = o->host;
  s->lcfg.tls.plain = o->plain != 0;
  s->lcfg.tls.port = o->port ? o->port : (o->plain ? 1883 : 8883);
  s->lcfg.tls.server_name = o->server_name[0] ? o->server_name : NULL;
  s->lcfg.tls.ca_file = o->cafile[0] ? o->cafile : NULL;
  s->lcfg.tls.cert_file = o->cert[0] ? o->cert : NULL;
  s->lcfg.tls.key_file = o->key[0] ? o->key : NULL;
  s->lcfg.seed = (uint64_t)getpid() ^ hmq_now_ms();
  s->lcfg.backoff_initial_ms = 200;
  s->lcfg.backoff_max_ms = 5000;

  if (o->id[0])
    snprintf(s->id, sizeof s->id, "%s", o->id);
  else
    snprintf(s->id, sizeof s->id, "hmq-sim-%ld", (long)getpid());
  hmq_client_config_default(&s->ccfg);
  s->ccfg.client_id = hmq_str_c(s->id);
  /* A publisher needs no session: Clean Start 1, expiry 0 (MQTT 5.0 3.1.2.4). */
  s->ccfg.clean_start = 1;
  s->ccfg.session_expiry = 0;
  s->ccfg.keep_alive = 30;
  s->ccfg.receive_max = SIM_RECV_MAX;
  s->ccfg.topic_alias_max = 0;

  s->mem.rx = s->rx;
  s->mem.rx_cap = sizeof s->rx;
  s->mem.tx = s->tx;
  s->mem.tx_cap = sizeof s->tx;
  s->mem.slots = s->slots;
  s->mem.slots_cap = SIM_SLOTS;
  s->mem.alias = s->alias;
  s->mem.alias_cap = sizeof s->alias;
  hmq_link_init(&s->link, &s->lcfg, &s->ccfg, &s->mem);
}

/* Drain the link's events; -1 on a final failure. */
static int drain(sim_pub *s, const hmq_sim_opts *o, int *closed) {
  hmq_link_event ev;
  while (hmq_link_next_event(&s->link, hmq_now_ms(), &ev) == HMQ_OK) {
    if (ev.type == HMQ_LINK_EV_CLOSED)
      *closed = 1;
    else if (on_event(s, o, &ev) != 0)
      return -1;
  }
  return 0;
}

int hmq_sim_publish(const hmq_sim_opts *o) {
  sim_pub *s = &P;
  hmq_link *lp = &s->link;
  struct pollfd pfd[1];
  uint64_t t0, deadline, t_done = 0;
  int closed = 0, failed = 0, closing = 0;
  hmq_status st;

  if (hmq_sim_gen_init(&s->gen, &o->gen) != HMQ_OK) {
    fprintf(stderr, "hmq-sim: bad generator settings (app id, env, rates, --vins)\n");
    return HMQ_SIM_EXIT_USAGE;
  }
  setup(s, o);
  t0 = hmq_now_ms();
  deadline = t0 + (uint64_t)(o->timeout_s * 1000.0);
  st = hmq_link_start(lp, t0);
  if (st != HMQ_OK) {
    fprintf(stderr, "hmq-sim: %s\n",
            hmq_link_errmsg(lp)[0] ? hmq_link_errmsg(lp) : hmq_status_str(st));
    hmq_link_free(lp);
    return HMQ_SIM_EXIT_CONFIG;
  }
  while (!closed) {
    uint64_t now = hmq_now_ms();
    uint64_t allowed = o->count;
    int wait = 100;
    if (now >= deadline) {
      if (!o->quiet)
        fprintf(stderr, "hmq-sim: timeout after %.1f s\n", o->timeout_s);
      break;
    }
    if (o->rate > 0) {
      allowed = (uint64_t)((double)(now - t0) * o->rate / 1000.0) + 1;
      if (allowed > o->count)
        allowed = o->count;
    }
    if (!closing) {
      st = pump(s, o, allowed);
      if (st != HMQ_OK) {
        fprintf(stderr, "hmq-sim: publish failed: %s\n", hmq_status_str(st));
        failed = 1;
        break;
      }
      if (s->sent >= o->count && !s->have_msg && s->retry_len == 0 && s->inflight == 0) {
        t_done = hmq_now_ms();
        hmq_link_close(lp, 0x00, t_done);
        closing = 1;
      } else if (o->rate > 0 && s->sent < o->count && s->sent >= allowed) {
        /* sleep until the next message is due */
        double due = (double)(s->sent + 1) * 1000.0 / o->rate;
        double left = due - (double)(now - t0);
        wait = left < 1 ? 1 : left > 100 ? 100 : (int)left;
      }
    }
    if (hmq_link_run_once(&lp, 1, pfd, wait) != HMQ_OK) {
      perror("hmq-sim: poll");
      failed = 1;
      break;
    }
    if (drain(s, o, &closed) != 0) {
      failed = 2;
      break;
    }
  }
  hmq_link_free(lp);
  if (!t_done)
    t_done = hmq_now_ms();
  printf("acked %llu\n", (unsigned long long)s->acked);
  fflush(stdout);
  if (!o->quiet) {
    double secs = (double)(t_done - t0) / 1000.0;
    fprintf(stderr,
            "hmq-sim: %llu of %llu acknowledged (%llu duplicates among them, %llu refused, %llu "
            "reconnects, %llu republished) in %.2f s, %.0f msg/s\n",
            (unsigned long long)s->acked, (unsigned long long)o->count,
            (unsigned long long)s->gen.duplicates, (unsigned long long)s->refused,
            (unsigned long long)s->downs, (unsigned long long)s->republished, secs,
            secs > 0 ? (double)s->acked / secs : 0.0);
  }
  if (failed == 2)
    return HMQ_SIM_EXIT_CONFIG; /* the link gave up for good: refusal, certificates */
  return s->acked >= o->count ? HMQ_SIM_EXIT_OK : HMQ_SIM_EXIT_SHORT;
}
