/* SPDX-License-Identifier: MIT */
/*
 * The option table (src/pipeline/options.c), --help and docs/hmq.1 cannot
 * drift: every row of the table appears once in --help and once as an entry
 * of the man page's OPTIONS section, with the same short name and value
 * placeholder, and neither names an option the table does not have. The
 * parser accepts every row under both spellings.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pipeline/options.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEXT_MAX 65536

static char g_help[TEXT_MAX];
static char g_man[TEXT_MAX];

static void read_help(void) {
  size_t n;
  FILE *f = tmpfile();
  assert_non_null(f);
  hmq_opts_usage(f);
  rewind(f);
  n = fread(g_help, 1, sizeof g_help - 1, f);
  assert_true(n < sizeof g_help - 1);
  g_help[n] = '\0';
  fclose(f);
}

static void read_man(void) {
  size_t n;
  FILE *f = fopen(HMQ_SOURCE_DIR "/docs/hmq.1", "r");
  assert_non_null(f);
  n = fread(g_man, 1, sizeof g_man - 1, f);
  assert_true(n < sizeof g_man - 1);
  g_man[n] = '\0';
  fclose(f);
}

static const hmq_opt_row *row_named(const char *name, size_t len) {
  size_t i;
  for (i = 0; i < hmq_opt_count; i++)
    if (strlen(hmq_opt_table[i].name) == len && strncmp(hmq_opt_table[i].name, name, len) == 0)
      return &hmq_opt_table[i];
  return NULL;
}

/* "-h, --host HOST" / "--plain": how a row is written in --help and (after
 * normalisation) in docs/hmq.1. */
static void signature(const hmq_opt_row *r, char *out, size_t cap) {
  int n = r->short_name ? snprintf(out, cap, "-%c, --%s", r->short_name, r->name)
                        : snprintf(out, cap, "--%s", r->name);
  if (r->arg)
    snprintf(out + n, cap - (size_t)n, " %s", r->arg);
}

/* Every "--word" in text must name a row; `what` names the text. */
static void only_table_long_names(const char *text, const char *dash, const char *what) {
  size_t dl = strlen(dash);
  const char *p = text;
  while ((p = strstr(p, dash)) != NULL) {
    const char *s = p + dl;
    size_t len = 0;
    /* in the man page a '-' inside a name is written "\-" */
    char name[64];
    while (len + 1 < sizeof name) {
      if (islower((unsigned char)*s) || isdigit((unsigned char)*s)) {
        name[len++] = *s++;
      } else if (len && *s == '-' && (islower((unsigned char)s[1]))) {
        name[len++] = '-';
        s++;
      } else if (len && s[0] == '\\' && s[1] == '-' && islower((unsigned char)s[2])) {
        name[len++] = '-';
        s += 2;
      } else {
        break;
      }
    }
    name[len] = '\0';
    if (len && !row_named(name, len)) {
      print_error("%s names --%s, which is not in the option table\n", what, name);
      fail();
    }
    p = s > p + dl ? s : p + dl;
  }
}

static void test_table_is_sound(void **state) {
  size_t i, j;
  (void)state;
  assert_true(hmq_opt_count > 0);
  for (i = 0; i < hmq_opt_count; i++) {
    const hmq_opt_row *r = &hmq_opt_table[i];
    assert_non_null(r->name);
    assert_non_null(r->help);
    assert_true(r->help[0] != '\0');
    assert_true((int)r->section >= 0 && r->section < HMQ_OPT_SEC_COUNT);
    assert_true((r->kind == HMQ_OPT_FLAG) == (r->arg == NULL));
    if (r->kind == HMQ_OPT_CUSTOM)
      assert_non_null(r->parse);
    if (r->kind == HMQ_OPT_NUMBER || r->kind == HMQ_OPT_CHOICE || r->kind == HMQ_OPT_STRING)
      assert_non_null(r->what);
    if (r->kind == HMQ_OPT_NUMBER)
      assert_true(r->lo <= r->hi);
    if (r->kind == HMQ_OPT_FLAG)
      assert_int_equal(r->size, sizeof(int));
    for (j = i + 1; j < hmq_opt_count; j++) {
      if (strcmp(r->name, hmq_opt_table[j].name) == 0 ||
          (r->short_name && r->short_name == hmq_opt_table[j].short_name)) {
        print_error("option rows %zu and %zu share a name (--%s)\n", i, j, r->name);
        fail();
      }
    }
  }
}

/* Each row is accepted as --name and -c, with a value where it takes one. */
static void test_parser_accepts_every_row(void **state) {
  static hmq_opts o;
  char err[512];
  size_t i;
  (void)state;
  for (i = 0; i < hmq_opt_count; i++) {
    const hmq_opt_row *r = &hmq_opt_table[i];
    char flag[80], value[64];
    char *argv[3] = {"hmq", flag, value};
    /* a value each kind accepts: the first choice, the lowest number, a word */
    if (r->kind == HMQ_OPT_CHOICE)
      snprintf(value, sizeof value, "%.*s", (int)strcspn(r->arg, "|"), r->arg);
    else if (r->kind == HMQ_OPT_NUMBER)
      snprintf(value, sizeof value, "%lu", r->lo);
    else if (strcmp(r->name, "app-id") == 0)
      snprintf(value, sizeof value, "879577a3-b25f-4a28-8c0e-7effcc7682a2");
    else
      snprintf(value, sizeof value, "60");
    snprintf(flag, sizeof flag, "--%s", r->name);
    hmq_opts_init(&o);
    if (hmq_opts_parse(&o, r->arg ? 3 : 2, argv, err, sizeof err) != HMQ_EXIT_OK) {
      print_error("%s %s: %s\n", flag, r->arg ? value : "", err);
      fail();
    }
    if (r->short_name) {
      snprintf(flag, sizeof flag, "-%c", r->short_name);
      hmq_opts_init(&o);
      if (hmq_opts_parse(&o, r->arg ? 3 : 2, argv, err, sizeof err) != HMQ_EXIT_OK) {
        print_error("%s %s: %s\n", flag, r->arg ? value : "", err);
        fail();
      }
    }
  }
}

/* Every row is one line of --help that starts with its signature; every
 * option line of --help is a row; every --name anywhere in it is a row. */
static void test_help_lists_exactly_the_table(void **state) {
  size_t i;
  const char *line;
  (void)state;
  read_help();
  for (i = 0; i < hmq_opt_count; i++) {
    char sig[160], pat[170];
    const char *hit, *again;
    signature(&hmq_opt_table[i], sig, sizeof sig);
    snprintf(pat, sizeof pat, "\n  %s", sig);
    hit = strstr(g_help, pat);
    if (!hit || (hit[strlen(pat)] != ' ' && hit[strlen(pat)] != '\n')) {
      print_error("--help lacks a line for '%s'\n", sig);
      fail();
    }
    again = strstr(hit + 1, pat);
    if (again && (again[strlen(pat)] == ' ' || again[strlen(pat)] == '\n')) {
      print_error("--help lists '%s' twice\n", sig);
      fail();
    }
  }
  /* option lines: "  -x, --name" or "  --name" at the start of a line */
  for (line = g_help; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
    const char *s = line + 2;
    size_t len = 0;
    if (strncmp(line, "  -", 3) != 0)
      continue;
    if (s[1] != '-') /* "-h, --host" */
      s += 4;
    assert_int_equal(strncmp(s, "--", 2), 0);
    s += 2;
    while (s[len] && s[len] != ' ' && s[len] != '\n')
      len++;
    if (!row_named(s, len)) {
      print_error("--help lists --%.*s, which is not in the option table\n", (int)len, s);
      fail();
    }
  }
  only_table_long_names(g_help, "--", "--help");
}

/* Turn one man-page entry line (".BR \-h ", " \-\-host " \fIHOST\fR"") into
 * the --help signature ("-h, --host HOST"). */
static void man_signature(const char *line, size_t len, char *out, size_t cap) {
  char tmp[256];
  size_t i = 0, n = 0, w = 0;
  /* skip the macro name (.B, .BI, .BR) */
  while (i < len && line[i] != ' ')
    i++;
  for (; i < len && n + 1 < sizeof tmp; i++) {
    if (line[i] == '\\' && i + 1 < len && line[i + 1] == 'f') {
      i += 2; /* \fB \fI \fR */
    } else if (line[i] == '\\' && i + 1 < len && line[i + 1] == '-') {
      tmp[n++] = '-';
      i++;
    } else if (line[i] != '"') {
      tmp[n++] = line[i];
    }
  }
  tmp[n] = '\0';
  /* words separated by blanks and commas, joined as "-h, --host HOST" */
  out[0] = '\0';
  for (i = 0; i < n;) {
    size_t b;
    const char *sep = " ";
    while (i < n && (tmp[i] == ' ' || tmp[i] == ','))
      i++;
    b = i;
    while (i < n && tmp[i] != ' ' && tmp[i] != ',')
      i++;
    if (i == b)
      break;
    if (w == 2 && out[0] == '-' && out[1] != '-') /* after a short name */
      sep = ", ";
    w += (size_t)snprintf(out + w, cap - w, "%s%.*s", w ? sep : "", (int)(i - b), tmp + b);
    if (w >= cap)
      break;
  }
  out[w < cap ? w : cap - 1] = '\0';
}

/* The man page's OPTIONS section has one .TP entry per row, in the row's
 * spelling; nothing in the page names an option the table lacks. */
static void test_man_page_lists_exactly_the_table(void **state) {
  static char seen[256];
  const char *sec, *end, *p;
  size_t i, entries = 0;
  (void)state;
  read_man();
  sec = strstr(g_man, "\n.SH OPTIONS\n");
  assert_non_null(sec);
  end = strstr(sec + 1, "\n.SH ");
  assert_non_null(end);
  memset(seen, 0, sizeof seen);
  for (p = strstr(sec, "\n.TP\n"); p && p < end; p = strstr(p + 1, "\n.TP\n")) {
    const char *line = p + 5;
    const char *nl = strchr(line, '\n');
    char sig[200];
    int found = 0;
    assert_non_null(nl);
    man_signature(line, (size_t)(nl - line), sig, sizeof sig);
    entries++;
    for (i = 0; i < hmq_opt_count && i < sizeof seen; i++) {
      char want[160];
      signature(&hmq_opt_table[i], want, sizeof want);
      if (strcmp(sig, want) == 0) {
        if (seen[i]) {
          print_error("docs/hmq.1 lists '%s' twice\n", sig);
          fail();
        }
        seen[i] = 1;
        found = 1;
      }
    }
    if (!found) {
      print_error("docs/hmq.1 OPTIONS entry '%s' (from '%.*s') matches no row of the option "
                  "table (name, short name and value must agree)\n",
                  sig, (int)(nl - line), line);
      fail();
    }
  }
  for (i = 0; i < hmq_opt_count; i++) {
    if (!seen[i]) {
      char want[160];
      signature(&hmq_opt_table[i], want, sizeof want);
      print_error("docs/hmq.1 OPTIONS lacks an entry for '%s'\n", want);
      fail();
    }
  }
  assert_int_equal(entries, hmq_opt_count);
  only_table_long_names(g_man, "\\-\\-", "docs/hmq.1");
}

/* The normaliser itself, on the three shapes the man page uses. */
static void test_man_signature_shapes(void **state) {
  char sig[200];
  static const struct {
    const char *line, *want;
  } cases[] = {
      {".BI \\-\\-cafile \" FILE\"", "--cafile FILE"},
      {".BR \\-h \", \" \\-\\-host \" \\fIHOST\\fR\"", "-h, --host HOST"},
      {".BR \\-V \", \" \\-\\-protocol\\-version \" \\fB5\\fR|\\fBmqttv5\\fR\"",
       "-V, --protocol-version 5|mqttv5"},
      {".B \\-\\-plain", "--plain"},
      {".BR \\-c \", \" \\-\\-disable\\-clean\\-session", "-c, --disable-clean-session"},
  };
  size_t i;
  (void)state;
  for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    man_signature(cases[i].line, strlen(cases[i].line), sig, sizeof sig);
    assert_string_equal(sig, cases[i].want);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_table_is_sound),
      cmocka_unit_test(test_parser_accepts_every_row),
      cmocka_unit_test(test_man_signature_shapes),
      cmocka_unit_test(test_help_lists_exactly_the_table),
      cmocka_unit_test(test_man_page_lists_exactly_the_table),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
