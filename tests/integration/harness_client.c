/* SPDX-License-Identifier: MIT */
/*
 * Test clients for the integration harness (see harness.h): an hmq_link
 * with its own buffers, and a driver loop that counts what arrives.
 */
#include "harness.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void hmq_h_client_init(hmq_h_client *c, const hmq_h_broker *b, const char *id, const char *filter,
                       bool plain) {
  memset(c, 0, sizeof *c);
  snprintf(c->id, sizeof c->id, "%s", id);
  hmq_link_config_default(&c->lcfg);
  c->lcfg.tls.host = "127.0.0.1";
  c->lcfg.tls.server_name = "localhost";
  c->lcfg.tls.connect_timeout_ms = 3000;
  c->lcfg.seed = (uint64_t)hmq_h_now();
  if (plain) {
    c->lcfg.tls.plain = true;
    c->lcfg.tls.port = b->plain_port;
  } else {
    c->lcfg.tls.port = b->port;
    c->lcfg.tls.ca_file = hmq_h_pki(b, "ca.crt", c->ca, sizeof c->ca);
    c->lcfg.tls.cert_file = hmq_h_pki(b, "client.crt", c->cert, sizeof c->cert);
    c->lcfg.tls.key_file = hmq_h_pki(b, "client.key", c->key, sizeof c->key);
  }
  hmq_client_config_default(&c->ccfg);
  c->ccfg.client_id = hmq_str_c(c->id);
  c->ccfg.keep_alive = 30;
  c->ccfg.clean_start = 0;
  c->ccfg.session_expiry = 300;
  c->ccfg.receive_max = 65535;
  c->ccfg.topic_alias_max = 0;
  if (filter) {
    snprintf(c->filter, sizeof c->filter, "%s", filter);
    c->sub.filter = hmq_str_c(c->filter);
    c->sub.qos = 1;
    c->ccfg.subs = &c->sub;
    c->ccfg.sub_count = 1;
  }
  c->mem.rx = c->rx;
  c->mem.rx_cap = sizeof c->rx;
  c->mem.tx = c->tx;
  c->mem.tx_cap = sizeof c->tx;
  c->mem.slots = c->slots;
  c->mem.slots_cap = sizeof c->slots / sizeof c->slots[0];
  c->mem.alias = c->alias;
  c->mem.alias_cap = sizeof c->alias;
  c->auto_ack = true;
}

hmq_status hmq_h_client_start(hmq_h_client *c) {
  hmq_link_init(&c->link, &c->lcfg, &c->ccfg, &c->mem);
  hmq_status st = hmq_link_start(&c->link, hmq_h_now());
  if (st != HMQ_OK) {
    snprintf(c->last_msg, sizeof c->last_msg, "%s", hmq_link_errmsg(&c->link));
    c->last_down = st;
  }
  return st;
}

/* Message number from a payload ending in ...<digits>"} */
static long msg_number(hmq_bin p) {
  size_t i = p.len;
  while (i > 0 && (p.ptr[i - 1] == '"' || p.ptr[i - 1] == '}' || p.ptr[i - 1] == '\n'))
    i--;
  long v = 0, mul = 1;
  bool any = false;
  while (i > 0 && p.ptr[i - 1] >= '0' && p.ptr[i - 1] <= '9' && mul < 1000000000L) {
    v += (p.ptr[i - 1] - '0') * mul;
    mul *= 10;
    any = true;
    i--;
  }
  return any ? v : -1;
}

static void on_event(hmq_h_client *c, const hmq_link_event *ev) {
  uint64_t now = hmq_h_now();
  switch (ev->type) {
  case HMQ_LINK_EV_MQTT:
    if (ev->mqtt.type == HMQ_EV_CONNACK) {
      c->connacks++;
      c->session_present = ev->mqtt.connack.session_present != 0;
      c->last_connack_ms = now;
    } else if (ev->mqtt.type == HMQ_EV_SUBACK) {
      c->subacks++;
    } else if (ev->mqtt.type == HMQ_EV_PUBACK) {
      c->pubacks++;
    } else if (ev->mqtt.type == HMQ_EV_PUBLISH) {
      c->received++;
      if (ev->mqtt.publish.dup)
        c->dups++;
      long n = msg_number(ev->mqtt.publish.payload);
      if (n >= 0 && n < HMQ_H_MAX_MSGS && !c->seen[n]) {
        c->seen[n] = 1;
        c->unique++;
      }
      if (c->auto_ack && ev->mqtt.seq != 0)
        hmq_link_ack(&c->link, ev->mqtt.seq);
    }
    break;
  case HMQ_LINK_EV_UP:
    c->ups++;
    break;
  case HMQ_LINK_EV_DOWN:
    c->downs++;
    c->last_down = ev->status;
    c->last_reason = ev->reason;
    c->last_final = ev->final;
    c->last_down_ms = now;
    snprintf(c->last_msg, sizeof c->last_msg, "%s", ev->msg);
    fprintf(stderr, "[%s] down: %s (%s)%s\n", c->id, hmq_status_name(ev->status), ev->msg,
            ev->final ? " final" : "");
    break;
  case HMQ_LINK_EV_TAKEN_OVER:
    c->takeovers++;
    break;
  case HMQ_LINK_EV_RETRY:
    c->retries++;
    break;
  default:
    break;
  }
}

bool hmq_h_run(hmq_h_client *const *cs, size_t n, uint64_t timeout_ms, bool (*done)(void *ctx),
               void *ctx) {
  hmq_link *links[16];
  hmq_h_client *who[16];
  struct pollfd pfd[16];
  uint64_t end = hmq_h_now() + timeout_ms;
  for (;;) {
    size_t m = 0;
    for (size_t i = 0; i < n && m < 16; i++) {
      if (cs[i]->stop_reading)
        continue;
      who[m] = cs[i];
      links[m++] = &cs[i]->link;
    }
    for (size_t i = 0; i < m; i++) {
      hmq_link_event ev;
      while (hmq_link_next_event(links[i], hmq_h_now(), &ev) == HMQ_OK)
        on_event(who[i], &ev);
    }
    if (done && done(ctx))
      return true;
    uint64_t now = hmq_h_now();
    if (now >= end)
      return false;
    uint64_t left = end - now;
    hmq_link_run_once(links, m, pfd, left > 50 ? 50 : (int)left);
  }
}

void hmq_h_client_close(hmq_h_client *c) {
  hmq_link_close(&c->link, 0x00, hmq_h_now());
  uint64_t end = hmq_h_now() + 3000;
  while (hmq_link_get_state(&c->link) != HMQ_LINK_DONE && hmq_h_now() < end) {
    hmq_link *l = &c->link;
    struct pollfd pfd[1];
    hmq_link_run_once(&l, 1, pfd, 20);
  }
  hmq_link_event ev;
  while (hmq_link_next_event(&c->link, hmq_h_now(), &ev) == HMQ_OK)
    on_event(c, &ev);
  hmq_link_free(&c->link);
}

hmq_h_client *hmq_h_client_new(const hmq_h_broker *b, const char *id, const char *filter,
                               bool plain) {
  hmq_h_client *c = calloc(1, sizeof *c);
  if (c)
    hmq_h_client_init(c, b, id, filter, plain);
  return c;
}

void hmq_h_client_free(hmq_h_client *c) {
  hmq_h_client_close(c);
  free(c);
}
