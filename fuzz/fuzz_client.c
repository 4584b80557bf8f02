/* SPDX-License-Identifier: MIT */
/*
 * Fuzz harness for the whole client engine. After start() and a valid
 * CONNACK, the input is a little program: feed raw bytes, feed packets
 * built from a few input bytes (so deep paths are reached quickly), deliver
 * what is buffered at fuzzer-chosen split points, ack messages in a
 * fuzzer-chosen order, write tx in fuzzer-chosen pieces, move time,
 * reconnect. Invariants are checked on everything the engine writes;
 * abort() on a violation.
 *
 * Checked: never more PUBACK/PUBREC than QoS>0 PUBLISHes delivered; acks
 * leave in arrival order and only for messages the app acked; acks carry
 * reason 0x00; PUBCOMP 0x00 only for ids whose PUBREC went out; nothing
 * after our DISCONNECT; every packet we write decodes; inflight never
 * exceeds our Receive Maximum; the buffers' bookkeeping stays in bounds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hmq/client.h"

#define RX_CAP    512
#define SLOTS     16
#define ALIAS_CAP 600 /* two aliases of up to 256 bytes, or more shorter */
#define FIFO_CAP  4096

static hmq_client c;
static uint8_t rx[RX_CAP];
static uint8_t tx[1024];
static hmq_client_slot slots[SLOTS];
static char alias[ALIAS_CAP];

/* Server bytes queued by the harness, delivered in fuzzer-sized pieces. */
static uint8_t srv[8192];
static size_t srv_len, srv_off;

/* What we wrote, parsed frame by frame. */
static uint8_t wire[4096];
static size_t wire_len;

/* Delivered QoS>0 messages of this connection, in arrival order. */
typedef struct delivered {
  uint64_t seq;
  uint16_t id;
  uint8_t qos;
  uint8_t acked;
} delivered;
static delivered fifo[FIFO_CAP];
static size_t fifo_head, fifo_len;
/* Seqs ever handed out (any connection), for acks in any order. */
static uint64_t seqs[64];
static size_t seq_n;
/* Harness model of QoS 2 ids whose PUBREC went out. */
static uint8_t rec_sent[65536];
static uint64_t n_qos_delivered, n_acks_seen;
static int disconnect_seen;
static uint64_t now;

static void fail(const char *why) {
  fprintf(stderr, "fuzz_client invariant violated: %s\n", why);
  abort();
}

static int verbose;

static void check_packet(const uint8_t *p, size_t n, const hmq_frame *f) {
  if (verbose) {
    fprintf(stderr, "  out %s %zu bytes, id %u\n", hmq_packet_name(f->type), n,
            n >= 4 ? (unsigned)(p[2] << 8 | p[3]) : 0u);
  }
  if (disconnect_seen) {
    fail("bytes after our DISCONNECT");
  }
  switch (f->type) {
  case HMQ_PKT_PUBACK:
  case HMQ_PKT_PUBREC:
  case HMQ_PKT_PUBCOMP: {
    hmq_ack a;
    if (hmq_decode_ack(p, n, &a) != HMQ_OK) {
      fail("our ack does not decode");
    }
    if (a.type == HMQ_PKT_PUBCOMP) {
      if ((a.reason == 0) != (rec_sent[a.packet_id] != 0)) {
        fail("PUBCOMP reason does not match the QoS 2 state");
      }
      rec_sent[a.packet_id] = 0;
      return;
    }
    if (a.reason != 0) {
      fail("ack with a failure reason code");
    }
    if (a.type == HMQ_PKT_PUBREC && rec_sent[a.packet_id]) {
      /* PUBREC repeated for a resent PUBLISH: a new message with this id
       * is only delivered after our PUBCOMP for it, which clears the flag. */
      return;
    }
    if (fifo_len > 0) {
      delivered *d = &fifo[fifo_head];
      uint8_t want = d->qos == 2 ? HMQ_PKT_PUBREC : HMQ_PKT_PUBACK;
      if (d->id == a.packet_id && want == a.type) {
        if (!d->acked) {
          fail("ack for a message the app did not ack");
        }
        if (d->qos == 2) {
          rec_sent[d->id] = 1;
        }
        fifo_head = (fifo_head + 1) % FIFO_CAP;
        fifo_len--;
        n_acks_seen++;
        if (n_acks_seen > n_qos_delivered) {
          fail("more acks than QoS>0 PUBLISHes");
        }
        return;
      }
    }
    fail("ack out of arrival order");
    return;
  }
  case HMQ_PKT_DISCONNECT: {
    hmq_disconnect d;
    if (hmq_decode_disconnect(p, n, &d) != HMQ_OK) {
      fail("our DISCONNECT does not decode");
    }
    disconnect_seen = 1;
    return;
  }
  case HMQ_PKT_CONNECT: {
    hmq_connect k;
    hmq_will w;
    if (hmq_decode_connect(p, n, &k, &w) != HMQ_OK) {
      fail("our CONNECT does not decode");
    }
    return;
  }
  case HMQ_PKT_SUBSCRIBE: {
    hmq_subscribe s;
    hmq_bin raw;
    if (hmq_decode_subscribe(p, n, &s, &raw) != HMQ_OK) {
      fail("our SUBSCRIBE does not decode");
    }
    return;
  }
  case HMQ_PKT_PINGREQ:
    if (n != 2) {
      fail("bad PINGREQ");
    }
    return;
  default:
    fail("unexpected packet type from the client");
  }
}

/* Write up to `limit` bytes of tx (0: everything) and check them. */
static void drain(size_t limit) {
  for (int i = 0; i < 64; i++) {
    const uint8_t *p = NULL;
    size_t n = 0;
    hmq_client_txbuf(&c, &p, &n);
    if (limit != 0 && n > limit) {
      n = limit;
    }
    if (n == 0) {
      return;
    }
    if (n > sizeof wire - wire_len) {
      fail("tx region larger than tx");
    }
    memcpy(wire + wire_len, p, n);
    wire_len += n;
    hmq_client_tx_ack(&c, n);
    size_t off = 0;
    hmq_frame f;
    while (hmq_frame_peek(wire + off, wire_len - off, 0, &f, NULL) == HMQ_OK) {
      check_packet(wire + off, f.total, &f);
      off += f.total;
    }
    memmove(wire, wire + off, wire_len - off);
    wire_len -= off;
    if (limit != 0) {
      return;
    }
  }
}

/* The connection dies with bytes still in tx: the engine considers them
 * sent (its QoS 2 state moved on at encode time), so the model sees them
 * too, but nothing is acknowledged to the engine. */
static void shadow_pending(void) {
  const uint8_t *p = NULL;
  size_t n = 0;
  hmq_client_txbuf(&c, &p, &n);
  if (n > sizeof wire - wire_len) {
    fail("tx region larger than tx");
  }
  memcpy(wire + wire_len, p, n);
  wire_len += n;
  size_t off = 0;
  hmq_frame f;
  while (hmq_frame_peek(wire + off, wire_len - off, 0, &f, NULL) == HMQ_OK) {
    check_packet(wire + off, f.total, &f);
    off += f.total;
  }
}

static void events(void) {
  hmq_event ev;
  for (int i = 0; i < 1000; i++) {
    /* A tagged union: nothing may depend on what an earlier event left. */
    memset(&ev, 0xA5, sizeof ev);
    hmq_status st = hmq_client_next_event(&c, now, &ev);
    if (c.ids_count > HMQ_CLIENT_IDS_MAX(c.mem.slots_cap) || c.qos2_conn_count > c.qos2_count ||
        c.qos2_count + c.out_inflight != c.ids_count) {
      fail("packet-id set bookkeeping out of bounds");
    }
    if (hmq_client_inflight(&c) > c.cfg.receive_max) {
      fail("inflight above our Receive Maximum");
    }
    if (c.rx_off > c.rx_len || c.rx_len > RX_CAP || c.tx_off > c.tx_len ||
        c.tx_len > c.mem.tx_cap || c.slot_count > SLOTS) {
      fail("buffer bookkeeping out of bounds");
    }
    if (st != HMQ_OK && st != HMQ_ERR_SUBSCRIBE_REFUSED) {
      if (verbose && st != HMQ_WANT_READ) {
        fprintf(stderr, "  status %s\n", hmq_status_name(st));
      }
      return;
    }
    if (verbose && ev.type == HMQ_EV_PUBLISH) {
      fprintf(stderr, "  event PUBLISH seq %llu id %u qos %u\n", (unsigned long long)ev.seq,
              ev.publish.packet_id, ev.publish.qos);
    } else if (verbose) {
      fprintf(stderr, "  event %d\n", (int)ev.type);
    }
    if (ev.type == HMQ_EV_PUBLISH) {
      if (ev.publish.topic.ptr == NULL || ev.publish.topic.len == 0) {
        fail("PUBLISH event without a resolved topic");
      }
      if (ev.publish.qos > 0) {
        if (ev.seq == 0 || fifo_len == FIFO_CAP) {
          fail("QoS>0 PUBLISH without a seq");
        }
        delivered *d = &fifo[(fifo_head + fifo_len) % FIFO_CAP];
        d->seq = ev.seq;
        d->id = ev.publish.packet_id;
        d->qos = ev.publish.qos;
        d->acked = 0;
        fifo_len++;
        n_qos_delivered++;
        seqs[seq_n++ % 64] = ev.seq;
      } else if (ev.seq != 0) {
        fail("QoS 0 PUBLISH with a seq");
      }
    }
  }
}

static void app_ack(uint64_t seq) {
  if (hmq_client_ack(&c, seq) != HMQ_OK) {
    fail("ack of a handed-out seq refused");
  }
  for (size_t i = 0; i < fifo_len; i++) {
    delivered *d = &fifo[(fifo_head + i) % FIFO_CAP];
    if (d->seq == seq) {
      d->acked = 1;
    }
  }
}

static void put(const uint8_t *p, size_t n) {
  if (n <= sizeof srv - srv_len) {
    memcpy(srv + srv_len, p, n);
    srv_len += n;
  }
}

static const char *const topics[] = {"live/level13/app/VIN1/diagnostics", "t", "", "a/b/c"};

static void gen_packet(const uint8_t *b) {
  uint8_t buf[600];
  size_t n = 0;
  switch (b[0] % 6) {
  case 0:
  case 1: {
    hmq_publish p;
    memset(&p, 0, sizeof p);
    p.qos = b[1] % 3;
    p.packet_id = p.qos ? (uint16_t)(1 + b[2] % 8) : 0;
    p.dup = p.qos ? (b[1] >> 2) & 1u : 0;
    p.topic = hmq_str_c(topics[(b[1] >> 3) % 4]);
    if (b[1] & 0x20) {
      p.props.present = HMQ_PROP_BIT(HMQ_PROP_TOPIC_ALIAS);
      p.props.topic_alias = (uint16_t)(b[2] >> 4);
    }
    p.payload.ptr = b;
    p.payload.len = 3;
    if (hmq_encode_publish(buf, sizeof buf, &p, &n) != HMQ_OK) {
      n = 0;
    }
    break;
  }
  case 2: {
    hmq_ack a;
    memset(&a, 0, sizeof a);
    a.type = HMQ_PKT_PUBREL;
    a.packet_id = (uint16_t)(1 + b[2] % 8);
    (void)hmq_encode_ack(buf, sizeof buf, &a, &n);
    break;
  }
  case 3:
    (void)hmq_encode_pingresp(buf, sizeof buf, &n);
    break;
  case 4: {
    hmq_suback s;
    memset(&s, 0, sizeof s);
    s.type = HMQ_PKT_SUBACK;
    s.packet_id = b[1] & 1 ? c.sub_packet_id : (uint16_t)(b[2] + 1);
    uint8_t r = b[2] & 0x80;
    s.reasons.ptr = &r;
    s.reasons.len = 1;
    if (hmq_encode_suback(buf, sizeof buf, &s, &n) != HMQ_OK) {
      n = 0;
    }
    break;
  }
  default: {
    hmq_ack a;
    memset(&a, 0, sizeof a);
    a.type = HMQ_PKT_PUBACK; /* we have nothing in flight: a protocol error */
    a.packet_id = (uint16_t)(1 + b[2] % 8);
    (void)hmq_encode_ack(buf, sizeof buf, &a, &n);
    break;
  }
  }
  put(buf, n);
}

static void reconnect(uint8_t session_present) {
  if (hmq_client_start(&c, now) != HMQ_OK) {
    fail("start refused a valid configuration");
  }
  wire_len = 0;
  disconnect_seen = 0;
  fifo_head = fifo_len = 0;
  srv_len = srv_off = 0;
  if (!session_present) {
    memset(rec_sent, 0, sizeof rec_sent);
  }
  drain(0);
  hmq_connack ck;
  memset(&ck, 0, sizeof ck);
  ck.session_present = session_present;
  uint8_t buf[64];
  size_t n = 0;
  if (hmq_encode_connack(buf, sizeof buf, &ck, &n) != HMQ_OK) {
    fail("cannot encode CONNACK");
  }
  uint8_t *p = NULL;
  size_t cap = 0;
  hmq_client_rxbuf(&c, &p, &cap);
  memcpy(p, buf, n);
  hmq_client_rx_ack(&c, n);
  hmq_event ev;
  if (hmq_client_next_event(&c, now, &ev) != HMQ_OK || ev.type != HMQ_EV_CONNACK) {
    fail("valid CONNACK not accepted");
  }
  drain(0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) {
    return 0;
  }
  static const hmq_sub_filter sub = {{"$share/app/live/level13/app/#", 29}, 1, 0, 0, 0};
  hmq_client_config cfg;
  hmq_client_config_default(&cfg);
  cfg.client_id = hmq_str_c("fuzz");
  cfg.keep_alive = (uint16_t)(data[0] & 0x0F);
  cfg.receive_max = (uint16_t)(1 + (data[1] & 0x0F));
  cfg.topic_alias_max = 4;
  cfg.subs = &sub;
  cfg.sub_count = 1;
  hmq_client_mem mem = {rx,    RX_CAP, tx,    96 + (size_t)(data[1] >> 4) * 32,
                        slots, SLOTS,  alias, ALIAS_CAP};
  hmq_client_init(&c, &cfg, &mem);
  verbose = getenv("HMQ_FUZZ_VERBOSE") != NULL;
  memset(rec_sent, 0, sizeof rec_sent);
  seq_n = 0;
  n_qos_delivered = n_acks_seen = 0;
  now = 1000;
  reconnect(0);
  size_t i = 2;
  while (i + 3 <= size) {
    const uint8_t *b = data + i;
    i += 3;
    if (verbose) {
      fprintf(stderr, "op %02x %02x %02x\n", b[0], b[1], b[2]);
    }
    switch (b[0] >> 5) {
    case 0: { /* raw bytes from the input */
      size_t n = b[1] % 48;
      if (n > size - i) {
        n = size - i;
      }
      put(data + i, n);
      i += n;
      break;
    }
    case 1:
      gen_packet(b);
      break;
    case 2: { /* deliver b[1] bytes of what is queued (a split point) */
      size_t n = (size_t)b[1] + 1;
      uint8_t *p = NULL;
      size_t cap = 0;
      hmq_client_rxbuf(&c, &p, &cap);
      if (n > cap) {
        n = cap;
      }
      if (n > srv_len - srv_off) {
        n = srv_len - srv_off;
      }
      memcpy(p, srv + srv_off, n);
      srv_off += n;
      hmq_client_rx_ack(&c, n);
      events();
      break;
    }
    case 3: /* ack a recent message, possibly of an earlier connection */
      if (seq_n > 0) {
        size_t have = seq_n < 64 ? seq_n : 64;
        app_ack(seqs[(seq_n - 1 - b[1] % have) % 64]);
      }
      break;
    case 4: /* ack the message at position b[1] of this connection's fifo */
      if (fifo_len > 0) {
        app_ack(fifo[(fifo_head + b[1] % fifo_len) % FIFO_CAP].seq);
      }
      break;
    case 5: /* partial write */
      drain((size_t)b[1] + 1);
      events();
      break;
    case 6: /* time passes */
      now += (uint64_t)b[1] * 250u;
      (void)hmq_client_tick(&c, now);
      drain(b[2] & 1 ? 0 : 4);
      break;
    default: /* connection lost: reconnect */
      shadow_pending();
      hmq_client_transport_closed(&c, HMQ_ERR_CLOSED);
      reconnect(b[1] & 1);
      break;
    }
    if (hmq_client_inflight(&c) > cfg.receive_max) {
      fail("inflight above our Receive Maximum");
    }
    if (hmq_client_deadline(&c) < now && c.state == HMQ_CLIENT_CONNECTED &&
        hmq_client_tick(&c, now) == HMQ_OK && hmq_client_deadline(&c) < now) {
      fail("deadline stays in the past after tick");
    }
  }
  /* Deliver everything left, ack all, write all. */
  while (srv_off < srv_len && (hmq_client_want(&c) & HMQ_CLIENT_WANT_READ)) {
    uint8_t *p = NULL;
    size_t cap = 0;
    hmq_client_rxbuf(&c, &p, &cap);
    size_t n = srv_len - srv_off < cap ? srv_len - srv_off : cap;
    memcpy(p, srv + srv_off, n);
    srv_off += n;
    hmq_client_rx_ack(&c, n);
    events();
    for (size_t k = 0; k < fifo_len; k++) {
      app_ack(fifo[(fifo_head + k) % FIFO_CAP].seq);
    }
    drain(0);
    if (n == 0) {
      break;
    }
  }
  for (size_t k = 0; k < fifo_len; k++) {
    app_ack(fifo[(fifo_head + k) % FIFO_CAP].seq);
  }
  drain(0);
  if (c.state == HMQ_CLIENT_CONNECTED && fifo_len != 0) {
    fail("acked messages never left");
  }
  if (getenv("HMQ_FUZZ_VERBOSE") != NULL) {
    fprintf(stderr, "state %s error %s delivered %llu acks %llu publish %llu dup %llu\n",
            hmq_client_state_name(c.state), hmq_status_name(c.error),
            (unsigned long long)n_qos_delivered, (unsigned long long)n_acks_seen,
            (unsigned long long)c.n_publish_rx, (unsigned long long)c.n_dup_rx);
  }
  return 0;
}
