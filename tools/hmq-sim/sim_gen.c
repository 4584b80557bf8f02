/* SPDX-License-Identifier: MIT */
/*
 * hmq-sim: envelope generator (see sim_gen.h).
 *
 * Every random choice comes from a counter-based hash of (seed, tag,
 * number), never from a running generator state, so message k is the same
 * bytes whenever it is produced: in a --write file, on the wire, and when it
 * is repeated as a duplicate. The JSON is written compactly, in the key
 * order of High Mobility's documentation (version, application_id,
 * message_id, vin, data).
 */
#include "sim_gen.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* ---- counter-based randomness ------------------------------------------ */

/* splitmix64's output function: a good 64-bit mixer. */
static uint64_t mix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

static uint64_t hash3(uint64_t seed, uint64_t tag, uint64_t n) {
  return mix64(seed ^ mix64(tag * 0x100000001B3ull ^ mix64(n)));
}

/* A short stream of numbers for one message or one vehicle. */
typedef struct sim_rng {
  uint64_t s;
} sim_rng;

static uint64_t rng_u64(sim_rng *r) {
  r->s += 0x9E3779B97F4A7C15ull;
  return mix64(r->s);
}

/* Uniform in [0, 1). */
static double rng_unit(sim_rng *r) {
  return (double)(rng_u64(r) >> 11) * (1.0 / 9007199254740992.0);
}

static double rng_range(sim_rng *r, double lo, double hi) {
  return lo + (hi - lo) * rng_unit(r);
}

static uint32_t rng_below(sim_rng *r, uint32_t n) {
  return (uint32_t)(rng_u64(r) % n);
}

/* ---- bounded text writer ------------------------------------------------ */

typedef struct sim_w {
  char *p;
  size_t cap;
  size_t len;
  int over; /* something did not fit */
} sim_w;

static void w_put(sim_w *w, const char *s) {
  size_t n = strlen(s);
  if (w->over || n > w->cap - w->len) {
    w->over = 1;
    return;
  }
  memcpy(w->p + w->len, s, n);
  w->len += n;
}

static void w_fmt(sim_w *w, const char *fmt, ...) {
  va_list ap;
  int n;
  if (w->over)
    return;
  va_start(ap, fmt);
  n = vsnprintf(w->p + w->len, w->cap - w->len, fmt, ap);
  va_end(ap);
  /* vsnprintf needs room for its NUL too; a payload exactly filling the
   * buffer is reported as no room, which only costs one byte of capacity. */
  if (n < 0 || (size_t)n >= w->cap - w->len) {
    w->over = 1;
    return;
  }
  w->len += (size_t)n;
}

/* ---- vehicles ----------------------------------------------------------- */

typedef struct sim_vehicle {
  char vin[18];
  double home_lat, home_lon;
  double odo0;       /* km at stream start */
  double tire_kpa;   /* nominal pressure */
  double service_km; /* distance to service at stream start */
  int electric;
  uint32_t phase; /* where it is in its daily pattern */
} sim_vehicle;

static const struct {
  double lat, lon;
} cities[] = {{52.520, 13.405}, {48.137, 11.575}, {50.110, 8.682},  {53.551, 9.994},
              {59.329, 18.069}, {48.857, 2.352},  {51.507, -0.128}, {45.464, 9.190},
              {40.417, -3.704}, {47.377, 8.541},  {52.370, 4.895},  {55.676, 12.568}};

static const char *const wmis[] = {"WBA", "WVW", "WDD", "VF1", "YV1", "SAL",
                                   "ZFA", "5YJ", "WAU", "TMB", "VSS", "W0L"};

static void vehicle_of(const hmq_sim_gen *g, uint32_t v, sim_vehicle *out) {
  static const char alnum[] = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"; /* VIN alphabet: no I, O, Q */
  sim_rng r = {hash3(g->cfg.seed, 0x56u, v)};
  size_t c = rng_below(&r, (uint32_t)(sizeof cities / sizeof cities[0]));
  int i;
  if (v % 8u == 7u) {
    /* Sandbox vehicles have short VINs (docs/stream.md: "EXV10000000"). */
    snprintf(out->vin, sizeof out->vin, "EXV%08" PRIu32, 10000000u + v);
  } else {
    const char *wmi = wmis[rng_below(&r, (uint32_t)(sizeof wmis / sizeof wmis[0]))];
    memcpy(out->vin, wmi, 3);
    for (i = 3; i < 11; i++)
      out->vin[i] = alnum[rng_below(&r, (uint32_t)(sizeof alnum - 1))];
    /* The serial number makes VINs distinct for up to 10^6 vehicles. */
    snprintf(out->vin + 11, 7, "%06" PRIu32, v % 1000000u);
  }
  out->home_lat = cities[c].lat + rng_range(&r, -0.08, 0.08);
  out->home_lon = cities[c].lon + rng_range(&r, -0.12, 0.12);
  out->odo0 = rng_range(&r, 800.0, 180000.0);
  out->tire_kpa = rng_range(&r, 220.0, 260.0);
  out->service_km = rng_range(&r, 500.0, 30000.0);
  out->electric = rng_below(&r, 3) == 0;
  out->phase = (uint32_t)rng_u64(&r);
}

/* A smooth-enough periodic offset in [-1, 1] without libm (triangle wave). */
static double wave(int64_t t_ms, uint32_t phase, int64_t period_ms) {
  int64_t x = (t_ms + (int64_t)(phase % (uint32_t)period_ms)) % period_ms;
  double f = (double)x / (double)period_ms; /* 0..1 */
  return f < 0.5 ? 4.0 * f - 1.0 : 3.0 - 4.0 * f;
}

/* ---- one message -------------------------------------------------------- */

typedef struct sim_ctx {
  sim_w w;
  sim_rng r;
  const sim_vehicle *veh;
  int64_t t;   /* the message's data time */
  int64_t t0;  /* stream start (odometer reference) */
  int ncap;    /* capabilities written in data */
  int nprop;   /* properties written in the current capability */
  int nent;    /* entries written in the current property */
  int ts_mode; /* this message's usual fractional digits: 0, 3 or 6 */
} sim_ctx;

static void put_timestamp(sim_ctx *c, int64_t ms) {
  char date[32];
  struct tm tm;
  time_t secs = (time_t)(ms / 1000);
  int digits = c->ts_mode;
  /* Mostly one format per message, sometimes mixed within one (seen). */
  if (rng_below(&c->r, 10) == 0)
    digits = (int)rng_below(&c->r, 3) * 3;
  gmtime_r(&secs, &tm);
  strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
  if (digits == 0)
    w_fmt(&c->w, ",\"timestamp\":\"%sZ\"", date);
  else if (digits == 3)
    w_fmt(&c->w, ",\"timestamp\":\"%s.%03dZ\"", date, (int)(ms % 1000));
  else
    w_fmt(&c->w, ",\"timestamp\":\"%s.%03d%03dZ\"", date, (int)(ms % 1000),
          (int)rng_below(&c->r, 1000));
}

static void cap_begin(sim_ctx *c, const char *name) {
  w_fmt(&c->w, "%s\"%s\":{", c->ncap++ ? "," : "", name);
  c->nprop = 0;
}

static void cap_end(sim_ctx *c) {
  w_put(&c->w, "}");
}

static const char *const failure_reasons[] = {
    "rate_limit", "execution_timeout", "format_error",        "unauthorised",
    "unknown",    "pending",           "privacy_mode_active", "oem_error"};
static const char *const failure_texts[] = {"Too many requests to the vehicle",
                                            "The vehicle did not answer in time",
                                            "Unexpected data format from the OEM",
                                            "Data access is not granted for this vehicle",
                                            "Unknown error",
                                            "Data requested, not yet available",
                                            "Privacy mode is active in the vehicle",
                                            "The OEM backend returned an error"};

/* One entry: {"data":<value>,"timestamp":"..."}; a few have no timestamp. */
static void entry_begin(sim_ctx *c) {
  w_put(&c->w, c->nent++ ? ",{\"data\":" : "{\"data\":");
}

static void entry_end(sim_ctx *c, int no_ts_percent) {
  if ((int)rng_below(&c->r, 100) >= no_ts_percent)
    put_timestamp(c, c->t - (int64_t)rng_below(&c->r, 30000));
  w_put(&c->w, "}");
}

/* Start a property. Returns 0 when a failure entry was written instead of
 * data (about 0.7 % of properties): the caller then writes no entries. */
static int prop_begin(sim_ctx *c, const char *name) {
  w_fmt(&c->w, "%s\"%s\":[", c->nprop++ ? "," : "", name);
  c->nent = 0;
  if (rng_below(&c->r, 150) == 0) {
    uint32_t k = rng_below(&c->r, (uint32_t)(sizeof failure_reasons / sizeof failure_reasons[0]));
    w_fmt(&c->w, "{\"failure\":{\"reason\":\"%s\",\"description\":\"%s\"}", failure_reasons[k],
          failure_texts[k]);
    put_timestamp(c, c->t);
    w_put(&c->w, "}");
    c->nent = 1;
    return 0;
  }
  return 1;
}

static void prop_end(sim_ctx *c) {
  w_put(&c->w, "]");
}

/* A single-valued property whose data is a unit {"unit":..,"value":..}. */
static void prop_unit(sim_ctx *c, const char *name, const char *unit, const char *vfmt, double v) {
  char num[48];
  if (prop_begin(c, name)) {
    snprintf(num, sizeof num, vfmt, v);
    entry_begin(c);
    w_fmt(&c->w, "{\"unit\":\"%s\",\"value\":%s}", unit, num);
    entry_end(c, 5);
  }
  prop_end(c);
}

/* A single-valued property whose data is a bare JSON text (number, string). */
static void prop_raw(sim_ctx *c, const char *name, const char *json) {
  if (prop_begin(c, name)) {
    entry_begin(c);
    w_put(&c->w, json);
    entry_end(c, 5);
  }
  prop_end(c);
}

static void prop_num(sim_ctx *c, const char *name, double v) {
  char num[48];
  snprintf(num, sizeof num, "%.2f", v);
  prop_raw(c, name, num);
}

static void prop_enum(sim_ctx *c, const char *name, const char *v) {
  char s[64];
  snprintf(s, sizeof s, "\"%s\"", v);
  prop_raw(c, name, s);
}

static const char *const wheels[] = {"front_left", "front_right", "rear_right", "rear_left"};

static double moving(const sim_ctx *c) {
  /* Roughly a third of the time parked, otherwise between 0 and 130 km/h. */
  double m = wave(c->t, c->veh->phase, 3600000);
  return m < -0.3 ? 0.0 : (m + 0.3) * 100.0;
}

static void diag_core(sim_ctx *c, int full) {
  const sim_vehicle *v = c->veh;
  double odo = v->odo0 + (double)(c->t - c->t0) / 3600000.0 * 9.0; /* 9 km/h on average */
  double speed = moving(c);
  int i;
  cap_begin(c, "diagnostics");
  /* The docs' odometer entry has no timestamp: a third of ours neither. */
  if (prop_begin(c, "odometer")) {
    entry_begin(c);
    w_fmt(&c->w, "{\"unit\":\"kilometers\",\"value\":%.2f}", odo);
    entry_end(c, 33);
  }
  prop_end(c);
  if (full) {
    prop_unit(c, "speed", "kilometers_per_hour", "%.0f", speed);
    if (!v->electric) {
      prop_unit(c, "engine_rpm", "revolutions_per_minute", "%.0f",
                speed > 0 ? 1200.0 + speed * 20.0 + rng_range(&c->r, 0, 200) : 0.0);
      prop_num(c, "fuel_level", 0.05 + 0.45 * (wave(c->t, v->phase, 86400000) + 1.0));
    }
    prop_unit(c, "battery_voltage", "volts", "%.1f", rng_range(&c->r, 11.8, 14.4));
    if (prop_begin(c, "tire_pressures")) {
      for (i = 0; i < 4; i++) {
        entry_begin(c);
        w_fmt(&c->w, "{\"location\":\"%s\",\"pressure\":{\"unit\":\"kilopascals\",\"value\":%.1f}}",
              wheels[i], v->tire_kpa + rng_range(&c->r, -12.0, 6.0));
        entry_end(c, 5);
      }
    }
    prop_end(c);
  }
}

static void diag_trouble(sim_ctx *c) {
  static const char *const codes[][3] = {{"C1116FA", "RDU_212FR", "chassis"},
                                         {"P0420", "ECM", "powertrain"},
                                         {"B1A4F00", "BCM_F", "body"},
                                         {"U0100", "GW_CAN", "network"}};
  static const char *const states[] = {"PENDING", "CONFIRMED", "ACTIVE"};
  uint32_t n = 1 + rng_below(&c->r, 3), i;
  if (prop_begin(c, "trouble_codes")) {
    for (i = 0; i < n; i++) {
      uint32_t k = rng_below(&c->r, 4);
      entry_begin(c);
      w_fmt(&c->w,
            "{\"occurrences\":%u,\"id\":\"%s\",\"ecu_id\":\"%s\",\"status\":\"%s\","
            "\"system\":\"%s\"}",
            1 + rng_below(&c->r, 9), codes[k][0], codes[k][1], states[rng_below(&c->r, 3)],
            codes[k][2]);
      entry_end(c, 5);
    }
  }
  prop_end(c);
}

static void location(sim_ctx *c, int full) {
  const sim_vehicle *v = c->veh;
  cap_begin(c, "vehicle_location");
  if (full)
    prop_unit(c, "altitude", "meters", "%.0f", 20.0 + 80.0 * (wave(c->t, v->phase, 7200000) + 1));
  if (prop_begin(c, "coordinates")) {
    entry_begin(c);
    w_fmt(&c->w, "{\"latitude\":%.6f,\"longitude\":%.6f}",
          v->home_lat + 0.05 * wave(c->t, v->phase, 5400000),
          v->home_lon + 0.08 * wave(c->t, v->phase ^ 0x5555u, 4800000));
    entry_end(c, 5);
  }
  prop_end(c);
  if (full)
    prop_unit(c, "heading", "degrees", "%.1f", rng_range(&c->r, 0.0, 360.0));
  cap_end(c);
}

static void charging(sim_ctx *c) {
  double level = 0.5 + 0.45 * wave(c->t, c->veh->phase, 86400000);
  int plugged = moving(c) == 0.0 && rng_below(&c->r, 2);
  cap_begin(c, "charging");
  prop_num(c, "battery_level", level);
  prop_unit(c, "estimated_range", "kilometers", "%.0f", level * 420.0);
  prop_enum(c, "status",
            plugged ? (level > 0.94 ? "charging_complete" : "charging") : "not_charging");
  prop_enum(c, "plugged_in", plugged ? "plugged_in" : "disconnected");
  prop_unit(c, "charging_rate", "kilowatts", "%.1f", plugged ? rng_range(&c->r, 3.6, 11.0) : 0.0);
  cap_end(c);
}

static void doors(sim_ctx *c) {
  int parked = moving(c) == 0.0;
  int i;
  cap_begin(c, "doors");
  prop_enum(c, "locks_state", parked ? "locked" : "unlocked");
  if (prop_begin(c, "locks")) {
    for (i = 0; i < 4; i++) {
      entry_begin(c);
      w_fmt(&c->w, "{\"location\":\"%s\",\"lock_state\":\"%s\"}", wheels[i],
            parked ? "locked" : "unlocked");
      entry_end(c, 5);
    }
  }
  prop_end(c);
  cap_end(c);
}

static void one_prop_cap(sim_ctx *c, const char *cap, const char *prop, const char *v) {
  cap_begin(c, cap);
  prop_enum(c, prop, v);
  cap_end(c);
}

static void climate(sim_ctx *c) {
  cap_begin(c, "climate");
  prop_unit(c, "outside_temperature", "celsius", "%.1f",
            8.0 + 10.0 * wave(c->t, c->veh->phase, 86400000));
  cap_end(c);
}

static void write_data(sim_ctx *c) {
  uint32_t kind = rng_below(&c->r, 100);
  int on = moving(c) > 0.0;
  if (kind < 40) { /* the periodic diagnostics + position report */
    diag_core(c, 1);
    cap_end(c);
    location(c, 1);
    if (kind < 15)
      climate(c);
  } else if (kind < 60) { /* charging status, EVs mostly */
    charging(c);
    location(c, 1);
    climate(c);
    diag_core(c, 0);
    prop_unit(c, "battery_voltage", "volts", "%.1f", rng_range(&c->r, 11.8, 14.4));
    cap_end(c);
  } else if (kind < 78) { /* trip start / end: doors, ignition, alarm */
    doors(c);
    one_prop_cap(c, "ignition", "state", on ? "on" : "off");
    one_prop_cap(c, "engine", "status", on ? "on" : "off");
    one_prop_cap(c, "theft_alarm", "status", on ? "unarmed" : "armed");
    one_prop_cap(c, "race", "vehicle_moving", on ? "moving" : "not_moving");
    location(c, 1);
    diag_core(c, 0);
    cap_end(c);
  } else if (kind < 92) { /* service data */
    diag_core(c, 0);
    diag_trouble(c);
    prop_unit(c, "battery_voltage", "volts", "%.1f", rng_range(&c->r, 11.8, 14.4));
    cap_end(c);
    cap_begin(c, "maintenance");
    prop_unit(c, "distance_to_next_service", "kilometers", "%.0f", c->veh->service_km);
    cap_end(c);
    climate(c);
    location(c, 0);
  } else { /* a bulk report with nearly everything */
    diag_core(c, 1);
    cap_end(c);
    charging(c);
    doors(c);
    location(c, 0);
  }
}

/* ---- public ------------------------------------------------------------- */

void hmq_sim_gen_config_default(hmq_sim_gen_config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  cfg->seed = 1;
  cfg->vins = 50;
  cfg->app_id = "00000000-0000-0000-0000-000000000000";
  cfg->env = "sandbox";
  cfg->dup_rate = 0.01;
  cfg->ooo_rate = 0.05;
  cfg->start_ms = 1755014400000LL; /* 2025-08-12T16:00:00Z */
  cfg->step_ms = 200;
}

hmq_status hmq_sim_gen_init(hmq_sim_gen *g, const hmq_sim_gen_config *cfg) {
  if (!g || !cfg || cfg->vins == 0 || cfg->vins > HMQ_SIM_MAX_VINS || !cfg->app_id || !cfg->env ||
      strlen(cfg->app_id) > HMQ_SIM_ID_MAX || strlen(cfg->env) > HMQ_SIM_ENV_MAX ||
      !(cfg->dup_rate >= 0.0 && cfg->dup_rate <= 1.0) ||
      !(cfg->ooo_rate >= 0.0 && cfg->ooo_rate <= 1.0))
    return HMQ_ERR_ARG;
  memset(g, 0, sizeof *g);
  g->cfg = *cfg;
  strcpy(g->app_id, cfg->app_id);
  strcpy(g->env, cfg->env);
  g->cfg.app_id = g->app_id;
  g->cfg.env = g->env;
  return HMQ_OK;
}

hmq_status hmq_sim_gen_make(const hmq_sim_gen *g, uint64_t number, char *topic, size_t topic_cap,
                            char *payload, size_t payload_cap, hmq_sim_msg *out) {
  sim_vehicle veh;
  sim_ctx c;
  sim_w tw = {topic, topic_cap, 0, 0};
  uint64_t h = hash3(g->cfg.seed, 0x4Du, number);
  uint32_t v = (uint32_t)(h % g->cfg.vins);
  uint32_t fmt;
  int i;
  if (!topic || !payload || !out || topic_cap == 0)
    return HMQ_ERR_ARG;
  vehicle_of(g, v, &veh);
  memset(&c, 0, sizeof c);
  c.w.p = payload;
  c.w.cap = payload_cap;
  c.r.s = hash3(g->cfg.seed, 0x6Du, number);
  c.veh = &veh;
  c.t0 = g->cfg.start_ms;
  c.t = g->cfg.start_ms + (int64_t)number * g->cfg.step_ms +
        (int64_t)rng_below(&c.r, g->cfg.step_ms + 1u);
  /* Out of order: data from up to two hours ago arriving now (docs/stream.md:
   * order is not chronological; bulk arrays, redeliveries). */
  if (rng_unit(&c.r) < g->cfg.ooo_rate)
    c.t -= 60000 + (int64_t)rng_below(&c.r, 7200000);
  fmt = rng_below(&c.r, 10);
  c.ts_mode = fmt < 3 ? 0 : fmt < 8 ? 3 : 6;

  w_fmt(&tw, "%s/level13/%s/%s", g->env, g->app_id, veh.vin);
  if (tw.over)
    return HMQ_ERR_NO_ROOM;
  topic[tw.len] = '\0';

  /* Production sends version 3 next to the documented 2 (docs/stream.md). */
  w_fmt(&c.w, "{\"version\":%d,\"application_id\":\"%s\",\"message_id\":\"",
        rng_below(&c.r, 5) == 0 ? 3 : 2, g->app_id);
  for (i = 0; i < 4; i++)
    w_fmt(&c.w, "%016" PRIX64, hash3(g->cfg.seed, 0x49u + (uint64_t)i, number));
  w_fmt(&c.w, "\",\"vin\":\"%s\",\"data\":{", veh.vin);
  write_data(&c);
  w_put(&c.w, "}}");
  if (c.w.over)
    return HMQ_ERR_NO_ROOM;
  out->number = number;
  out->duplicate = 0;
  out->topic_len = tw.len;
  out->payload_len = c.w.len;
  return HMQ_OK;
}

hmq_status hmq_sim_gen_next(hmq_sim_gen *g, char *topic, size_t topic_cap, char *payload,
                            size_t payload_cap, hmq_sim_msg *out) {
  sim_rng r = {hash3(g->cfg.seed, 0x44u, g->emitted)};
  uint64_t number;
  int dup = 0;
  hmq_status st;
  if (g->next_new > 0 && rng_unit(&r) < g->cfg.dup_rate) {
    uint64_t window = g->next_new < HMQ_SIM_DUP_WINDOW ? g->next_new : HMQ_SIM_DUP_WINDOW;
    number = g->next_new - 1 - rng_u64(&r) % window;
    dup = 1;
  } else {
    number = g->next_new;
  }
  st = hmq_sim_gen_make(g, number, topic, topic_cap, payload, payload_cap, out);
  if (st != HMQ_OK)
    return st;
  out->duplicate = dup;
  g->emitted++;
  if (dup)
    g->duplicates++;
  else
    g->next_new++;
  return HMQ_OK;
}
