/* SPDX-License-Identifier: MIT */
/*
 * RFC 3339 section 5.6 date-time to Unix milliseconds.
 *
 * High Mobility stamps entries with 0, 3 or 6 fractional digits and 'Z';
 * we accept the whole RFC 3339 profile (up to 9 digits here, numeric
 * offsets, lower-case 't'/'z' per the section 5.6 note) so a change of
 * precision upstream does not turn into warnings. No libc time functions:
 * they depend on the TZ environment and are not all reentrant.
 */
#include "hmq/envelope.h"

/* Value of n decimal digits at s, or -1. */
static int digits(const char *s, size_t n) {
  int v = 0;
  size_t i;
  for (i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') {
      return -1;
    }
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

static int is_leap(int y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int y, int m) {
  static const int len[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : len[m - 1];
}

/* Days since 0000-03-01 in the proleptic Gregorian calendar, counting
 * years from March so the leap day is the last day of the "year". The
 * 400-year shift keeps every quotient non-negative for years 0..9999. */
static int64_t day_number(int y, int m, int d) {
  int64_t yy = (int64_t)y + 400 - (m <= 2 ? 1 : 0);
  int64_t mm = m <= 2 ? m + 9 : m - 3; /* March = 0 … February = 11 */
  return 365 * yy + yy / 4 - yy / 100 + yy / 400 + (153 * mm + 2) / 5 + (d - 1);
}

hmq_status hmq_rfc3339_parse(hmq_str s, int64_t *ms) {
  const char *p = s.ptr;
  size_t n = s.len, i;
  int y, mo, d, h, mi, sec, frac_ms = 0, off_min = 0;
  int64_t days;

  if (p == NULL || ms == NULL || n < 20) {
    return HMQ_ERR_ARG;
  }
  /* YYYY-MM-DDTHH:MM:SS */
  if (p[4] != '-' || p[7] != '-' || (p[10] != 'T' && p[10] != 't') || p[13] != ':' ||
      p[16] != ':') {
    return HMQ_ERR_ARG;
  }
  y = digits(p, 4);
  mo = digits(p + 5, 2);
  d = digits(p + 8, 2);
  h = digits(p + 11, 2);
  mi = digits(p + 14, 2);
  sec = digits(p + 17, 2);
  if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > month_days(y, mo) || h < 0 || h > 23 || mi < 0 ||
      mi > 59 || sec < 0 || sec > 60) {
    return HMQ_ERR_ARG;
  }
  i = 19;
  if (p[i] == '.') {
    size_t first = ++i;
    while (i < n && p[i] >= '0' && p[i] <= '9') {
      if (i - first < 3) {
        frac_ms = frac_ms * 10 + (p[i] - '0');
      }
      i++;
    }
    if (i == first || i - first > 9) {
      return HMQ_ERR_ARG;
    }
    for (size_t k = i - first; k < 3; k++) {
      frac_ms *= 10;
    }
  }
  if (i < n && (p[i] == 'Z' || p[i] == 'z')) {
    i++;
  } else if (i + 6 == n && (p[i] == '+' || p[i] == '-') && p[i + 3] == ':') {
    int oh = digits(p + i + 1, 2), om = digits(p + i + 4, 2);
    if (oh < 0 || oh > 23 || om < 0 || om > 59) {
      return HMQ_ERR_ARG;
    }
    off_min = (oh * 60 + om) * (p[i] == '-' ? -1 : 1);
    i += 6;
  } else {
    return HMQ_ERR_ARG;
  }
  if (i != n) {
    return HMQ_ERR_ARG;
  }
  days = day_number(y, mo, d) - day_number(1970, 1, 1);
  /* Local time = UTC + offset, so UTC = local - offset (RFC 3339 4.2). */
  *ms = ((days * 86400 + h * 3600 + mi * 60 + sec) - (int64_t)off_min * 60) * 1000 + frac_ms;
  return HMQ_OK;
}
