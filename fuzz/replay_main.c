/* SPDX-License-Identifier: MIT */
/*
 * Replay driver for fuzz harnesses built without libFuzzer (gcc, or clang
 * without HMQ_LIBFUZZER). Each argument is a file or a directory of files;
 * every file is read into a heap buffer of exactly its size (so ASan catches
 * a harness that reads one byte too far) and passed to
 * LLVMFuzzerTestOneInput(). This turns fuzz/corpus/<name>/ into a regression
 * test in every ordinary build. Files run in name order so failures
 * reproduce.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path, size_t *count) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    fprintf(stderr, "replay: cannot open %s\n", path);
    return 1;
  }
  uint8_t *buf = NULL;
  size_t len = 0;
  size_t cap = 0;
  for (;;) {
    if (len == cap) {
      size_t ncap = cap ? cap * 2 : 4096;
      uint8_t *nbuf = realloc(buf, ncap);
      if (nbuf == NULL) {
        free(buf);
        fclose(f);
        fprintf(stderr, "replay: out of memory reading %s\n", path);
        return 1;
      }
      buf = nbuf;
      cap = ncap;
    }
    size_t got = fread(buf + len, 1, cap - len, f);
    len += got;
    if (got == 0) {
      break;
    }
  }
  int bad = ferror(f);
  fclose(f);
  if (bad) {
    free(buf);
    fprintf(stderr, "replay: read error on %s\n", path);
    return 1;
  }
  /* Exact-size copy: the bytes past `len` must not be addressable. */
  uint8_t *exact = malloc(len ? len : 1);
  if (exact == NULL) {
    free(buf);
    return 1;
  }
  if (len) {
    memcpy(exact, buf, len);
  }
  free(buf);
  LLVMFuzzerTestOneInput(exact, len);
  free(exact);
  (*count)++;
  return 0;
}

static int not_hidden(const struct dirent *d) {
  return d->d_name[0] != '.';
}

static int replay_path(const char *path, size_t *count) {
  struct stat sb;
  if (stat(path, &sb) != 0) {
    fprintf(stderr, "replay: %s does not exist (every harness ships a corpus)\n", path);
    return 1;
  }
  if (!S_ISDIR(sb.st_mode)) {
    return replay_file(path, count);
  }
  struct dirent **names = NULL;
  int n = scandir(path, &names, not_hidden, alphasort);
  if (n < 0) {
    fprintf(stderr, "replay: cannot list %s\n", path);
    return 1;
  }
  int rc = 0;
  for (int i = 0; i < n; i++) {
    size_t need = strlen(path) + strlen(names[i]->d_name) + 2;
    char *full = malloc(need);
    if (full != NULL) {
      snprintf(full, need, "%s/%s", path, names[i]->d_name);
      struct stat fs;
      if (stat(full, &fs) == 0 && S_ISREG(fs.st_mode)) {
        rc |= replay_file(full, count);
      }
      free(full);
    } else {
      rc = 1;
    }
    free(names[i]);
  }
  free(names);
  return rc;
}

int main(int argc, char **argv) {
  size_t count = 0;
  int rc = 0;
  if (argc < 2) {
    fprintf(stderr, "usage: %s <file-or-dir>...\n", argv[0]);
    return 2;
  }
  for (int i = 1; i < argc; i++) {
    rc |= replay_path(argv[i], &count);
  }
  printf("replayed %zu inputs\n", count);
  if (count == 0) {
    fprintf(stderr, "replay: no inputs found\n");
    return 1;
  }
  return rc;
}
