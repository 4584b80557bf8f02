/* SPDX-License-Identifier: MIT */
/*
 * Client engine: the ring of inbound QoS>0 messages awaiting the app's ack,
 * the QoS 2 packet-id sets, and the server-to-client topic alias table.
 *
 * Acks leave strictly in arrival order (MQTT-4.6.0-2): the ring is FIFO and
 * only its acked prefix is encoded. When tx is full the rest stays in the
 * ring, so no ack is ever lost or reordered.
 */
#include "mqtt/client_int.h"

#include <string.h>

#define ID_KEY 0x3FFFFu /* kind + id: what identifies an entry */

static size_t id_home(const hmq_client *c, uint32_t key) {
  /* Multiplicative hashing: consecutive ids land far apart. */
  return (size_t)((uint32_t)(key * 2654435761u) % c->mem.slots_cap);
}

/* Bucket of `key`, or slots_cap when absent. At most slots_cap probes. */
static size_t id_find(const hmq_client *c, uint32_t key) {
  size_t cap = c->mem.slots_cap;
  if (c->ids_count == 0 || cap == 0) {
    return cap;
  }
  size_t i = id_home(c, key);
  for (size_t n = 0; n < cap; n++) {
    uint32_t e = c->mem.slots[i].id_entry;
    if (e == 0) {
      return cap;
    }
    if ((e & ID_KEY) == key) {
      return i;
    }
    i = i + 1 == cap ? 0 : i + 1;
  }
  return cap;
}

uint32_t hmq_ids_get(const hmq_client *c, uint32_t kind, uint16_t id) {
  size_t i = id_find(c, kind | id);
  return i < c->mem.slots_cap ? c->mem.slots[i].id_entry : 0;
}

bool hmq_ids_room(const hmq_client *c) {
  return c->ids_count < HMQ_CLIENT_IDS_MAX(c->mem.slots_cap);
}

hmq_status hmq_ids_add(hmq_client *c, uint32_t entry) {
  if (!hmq_ids_room(c)) {
    return HMQ_ERR_FULL;
  }
  size_t cap = c->mem.slots_cap;
  size_t i = id_home(c, entry & ID_KEY);
  while (c->mem.slots[i].id_entry != 0) { /* ends: the table has room */
    i = i + 1 == cap ? 0 : i + 1;
  }
  c->mem.slots[i].id_entry = entry;
  c->ids_count++;
  return HMQ_OK;
}

/* Empty bucket i and pull later entries of its cluster back so that every
 * entry stays reachable from its home bucket (backward-shift deletion). */
static void id_remove_at(hmq_client *c, size_t i) {
  size_t cap = c->mem.slots_cap;
  size_t j = i;
  for (size_t n = 0; n < cap; n++) {
    j = j + 1 == cap ? 0 : j + 1;
    uint32_t e = c->mem.slots[j].id_entry;
    if (e == 0) {
      break;
    }
    size_t h = id_home(c, e & ID_KEY);
    /* e may move to i unless its home lies cyclically in (i, j]. */
    bool stays = i <= j ? (h > i && h <= j) : (h > i || h <= j);
    if (!stays) {
      c->mem.slots[i].id_entry = e;
      i = j;
    }
  }
  c->mem.slots[i].id_entry = 0;
  c->ids_count--;
}

uint32_t hmq_ids_del(hmq_client *c, uint32_t kind, uint16_t id) {
  size_t i = id_find(c, kind | id);
  if (i >= c->mem.slots_cap) {
    return 0;
  }
  uint32_t e = c->mem.slots[i].id_entry;
  id_remove_at(c, i);
  return e;
}

void hmq_ids_sweep(hmq_client *c, uint32_t kinds, bool clear_conn) {
  size_t cap = c->mem.slots_cap;
  for (size_t i = 0; i < cap && c->ids_count > 0; i++) {
    /* A removal may shift another entry into i: look at i again. The
     * shift only moves entries already seen or still ahead, and every
     * removal shrinks the set, so this ends. */
    uint32_t e;
    while ((e = c->mem.slots[i].id_entry) != 0 && (e & kinds) != 0) {
      id_remove_at(c, i);
    }
    if (e != 0 && clear_conn) {
      c->mem.slots[i].id_entry = e & ~HMQ_ID_CONN;
    }
  }
}

void hmq_ids_reset(hmq_client *c) {
  for (size_t i = 0; i < c->mem.slots_cap; i++) {
    c->mem.slots[i].id_entry = 0;
  }
  c->ids_count = 0;
}

hmq_status hmq_client_put_ack(hmq_client *c, uint8_t type, uint16_t id, uint8_t reason) {
  hmq_ack a;
  memset(&a, 0, sizeof a);
  a.type = type;
  a.packet_id = id;
  a.reason = reason;
  size_t room = hmq_client_tx_room(c);
  size_t n = 0;
  hmq_status st = hmq_encode_ack(c->mem.tx + c->tx_len, room, &a, &n);
  if (st == HMQ_OK) {
    c->tx_len += n;
  }
  return st;
}

/* Encode one QoS 2 reply, deciding from the state at the moment it leaves:
 * PUBCOMP carries 0x00 for an id awaiting PUBREL (which it completes,
 * 4.3.3), 0x92 Packet Identifier not found otherwise. */
static hmq_status encode_reply(hmq_client *c, uint8_t type, uint16_t id) {
  bool known = hmq_ids_get(c, HMQ_ID_QOS2, id) != 0;
  if (type != HMQ_PKT_PUBCOMP) {
    /* A repeated PUBREC only while the id still awaits PUBREL: a PUBCOMP
     * queued before it may have completed the id meanwhile. */
    return known ? hmq_client_put_ack(c, type, id, 0) : HMQ_OK;
  }
  hmq_status st = hmq_client_put_ack(c, type, id, known ? 0x00 : 0x92);
  if (st == HMQ_OK && known) {
    uint32_t e = hmq_ids_del(c, HMQ_ID_QOS2, id);
    c->qos2_count--;
    if (e & HMQ_ID_CONN) {
      c->qos2_conn_count--;
    }
  }
  return st;
}

void hmq_client_flush_replies(hmq_client *c) {
  while (c->reply_count > 0) {
    uint32_t r = c->replies[c->reply_head];
    if (encode_reply(c, (uint8_t)(r >> 24), (uint16_t)r) != HMQ_OK) {
      return;
    }
    c->reply_head = (uint8_t)((c->reply_head + 1u) % 16u);
    c->reply_count--;
  }
}

hmq_status hmq_client_reply(hmq_client *c, uint8_t type, uint16_t id) {
  const size_t cap = sizeof c->replies / sizeof c->replies[0];
  hmq_client_flush_replies(c);
  if (c->reply_count == 0 && encode_reply(c, type, id) == HMQ_OK) {
    return HMQ_OK;
  }
  if (c->reply_count == cap) {
    return HMQ_ERR_NO_ROOM;
  }
  c->replies[(c->reply_head + c->reply_count) % cap] = (uint32_t)type << 24 | id;
  c->reply_count++;
  return HMQ_OK;
}

uint64_t hmq_client_ring_push(hmq_client *c, uint16_t packet_id, uint8_t qos) {
  size_t idx = (c->slot_head + c->slot_count) % c->mem.slots_cap;
  hmq_client_slot *s = &c->mem.slots[idx];
  s->seq = c->next_seq++;
  s->packet_id = packet_id;
  s->qos = qos;
  s->state = HMQ_SLOT_RECEIVED;
  c->slot_count++;
  return s->seq;
}

bool hmq_client_ring_has_qos2(const hmq_client *c, uint16_t packet_id) {
  for (size_t i = 0; i < c->slot_count; i++) {
    const hmq_client_slot *s = &c->mem.slots[(c->slot_head + i) % c->mem.slots_cap];
    if (s->qos == 2 && s->packet_id == packet_id) {
      return true;
    }
  }
  return false;
}

void hmq_client_flush_acks(hmq_client *c) {
  while (c->slot_count > 0) {
    hmq_client_slot *s = &c->mem.slots[c->slot_head];
    if (s->state != HMQ_SLOT_ACKED) {
      break;
    }
    /* Success only (reason 0x00): a failure code on a shared subscription
     * makes the broker drop the message for good (docs/stream.md, 3.4.2.1). */
    uint8_t type = s->qos == 2 ? HMQ_PKT_PUBREC : HMQ_PKT_PUBACK;
    if (s->qos == 2 && !hmq_ids_room(c)) {
      break; /* the id set is full: PUBREC waits for a PUBREL to free one */
    }
    if (hmq_client_put_ack(c, type, s->packet_id, 0) != HMQ_OK) {
      break;
    }
    if (s->qos == 2) {
      /* 4.3.3: from PUBREC on, the id is ours until PUBREL; a resend of
       * the PUBLISH must not be delivered again. The ring never holds an
       * id of the set (on_publish takes such a PUBLISH as a resend). */
      (void)hmq_ids_add(c, HMQ_ID_QOS2 | HMQ_ID_CONN | s->packet_id);
      c->qos2_count++;
      c->qos2_conn_count++;
    }
    c->slot_head = (c->slot_head + 1) % c->mem.slots_cap;
    c->slot_count--;
    c->n_acks_tx++;
  }
}

hmq_status hmq_client_ack(hmq_client *c, uint64_t seq) {
  if (c == NULL || seq == 0 || seq >= c->next_seq) {
    return HMQ_ERR_ARG;
  }
  if (seq < c->conn_first_seq) {
    return HMQ_OK; /* earlier connection: the server will resend it */
  }
  if (c->slot_count == 0) {
    return HMQ_OK; /* already acked on the wire */
  }
  uint64_t head_seq = c->mem.slots[c->slot_head].seq;
  if (seq < head_seq) {
    return HMQ_OK; /* already acked on the wire */
  }
  /* Seqs in the ring are consecutive: ring_push is the only producer. */
  uint64_t idx = seq - head_seq;
  if (idx >= c->slot_count) {
    return HMQ_ERR_ARG;
  }
  hmq_client_slot *s = &c->mem.slots[(c->slot_head + (size_t)idx) % c->mem.slots_cap];
  if (s->seq != seq) {
    return HMQ_ERR_ARG;
  }
  s->state = HMQ_SLOT_ACKED;
  return HMQ_OK;
}

/* Walk to alias `alias`: *off gets its entry's offset, or alias_used when
 * the table does not reach it (then *missing counts absent entries before
 * it, the entry itself included). */
static size_t alias_find(const hmq_client *c, uint16_t alias, size_t *missing) {
  size_t off = 0;
  uint16_t k = 1;
  const uint8_t *t = (const uint8_t *)c->mem.alias;
  while (k < alias && off < c->alias_used) {
    size_t len = ((size_t)t[off] << 8) | t[off + 1];
    off += 2 + len;
    k++;
  }
  *missing = off < c->alias_used ? 0 : (size_t)(alias - k) + 1u;
  return off;
}

hmq_status hmq_alias_get(const hmq_client *c, uint16_t alias, hmq_str *topic) {
  size_t missing = 0;
  size_t off = alias_find(c, alias, &missing);
  if (missing > 0) {
    return HMQ_ERR_TOPIC_ALIAS;
  }
  const uint8_t *t = (const uint8_t *)c->mem.alias;
  size_t len = ((size_t)t[off] << 8) | t[off + 1];
  if (len == 0) {
    return HMQ_ERR_TOPIC_ALIAS; /* never set: [MQTT-3.3.2-9] unknown alias */
  }
  topic->ptr = c->mem.alias + off + 2;
  topic->len = len;
  return HMQ_OK;
}

hmq_status hmq_alias_set(hmq_client *c, uint16_t alias, hmq_str topic) {
  if (topic.len == 0 || topic.len > 0xFFFFu) {
    return HMQ_ERR_TOPIC_ALIAS;
  }
  size_t missing = 0;
  size_t off = alias_find(c, alias, &missing);
  uint8_t *t = (uint8_t *)c->mem.alias;
  if (missing > 0) {
    /* Append unset entries up to the alias, then the alias itself. */
    size_t need = (missing - 1) * 2 + 2 + topic.len;
    if (need > c->mem.alias_cap - c->alias_used) {
      return HMQ_ERR_TOPIC_ALIAS;
    }
    memset(t + c->alias_used, 0, (missing - 1) * 2);
    off = c->alias_used + (missing - 1) * 2;
    c->alias_used += need;
  } else {
    size_t old = ((size_t)t[off] << 8) | t[off + 1];
    size_t tail = off + 2 + old;
    if (topic.len > old && topic.len - old > c->mem.alias_cap - c->alias_used) {
      return HMQ_ERR_TOPIC_ALIAS;
    }
    /* Replace in place: shift later entries by the length difference. */
    memmove(t + off + 2 + topic.len, t + tail, c->alias_used - tail);
    c->alias_used = c->alias_used - old + topic.len;
  }
  t[off] = (uint8_t)(topic.len >> 8);
  t[off + 1] = (uint8_t)topic.len;
  memcpy(t + off + 2, topic.ptr, topic.len);
  return HMQ_OK;
}
