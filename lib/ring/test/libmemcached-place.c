/*
 * Test helper for lib/ring/test/libmemcached-placement.test.ts: asks the system
 * libmemcached (Debian libmemcached-dev) which server it would use for each key.
 * Connects to nothing: placement only hashes server labels and keys.
 *
 * stdin:  MODE N [HASH]    MODE: "weighted-before" | "weighted-after": behaviour
 *                         MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED = 1 (libketama-compatible)
 *                         set before or after adding the servers; "ketama-before" |
 *                         "ketama-after": MEMCACHED_BEHAVIOR_KETAMA = 1 (unweighted) and,
 *                         if given, MEMCACHED_BEHAVIOR_HASH = HASH (default, md5,
 *                         fnv1_64, fnv1a_64, fnv1_32, fnv1a_32, murmur).
 *                         N: number of servers
 *         HOST PORT W     N lines; W = 0 adds the server without a weight
 *         KEY             one key per line, to end of input
 * stdout: one server index (position in the list above) per key.
 */
#include <libmemcached/memcached.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void die (const char *what, memcached_st *m, memcached_return_t rc) {
  fprintf(stderr, "libmemcached-place: %s: %s\n", what, m ? memcached_strerror(m, rc) : "bad input");
  exit(2);
}

static int hash_by_name (const char *name) {
  static const struct { const char *name; int hash; } names[] = {
    {"default", MEMCACHED_HASH_DEFAULT}, {"md5", MEMCACHED_HASH_MD5},
    {"fnv1_64", MEMCACHED_HASH_FNV1_64}, {"fnv1a_64", MEMCACHED_HASH_FNV1A_64},
    {"fnv1_32", MEMCACHED_HASH_FNV1_32}, {"fnv1a_32", MEMCACHED_HASH_FNV1A_32},
    {"murmur", MEMCACHED_HASH_MURMUR},
  };
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    if (strcmp(names[i].name, name) == 0) return names[i].hash;
  }
  return -1;
}

static int weighted_mode;
static int hash = -1;

static void behaviour (memcached_st *m) {
  memcached_return_t rc = memcached_behavior_set(m, weighted_mode ? MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED : MEMCACHED_BEHAVIOR_KETAMA, 1);
  if (rc != MEMCACHED_SUCCESS) die("behavior", m, rc);
  if (hash >= 0) {
    rc = memcached_behavior_set(m, MEMCACHED_BEHAVIOR_HASH, (uint64_t)hash);
    if (rc != MEMCACHED_SUCCESS) die("hash", m, rc);
  }
}

int main (void) {
  char mode[64], host[1100], header[256], hashname[64];
  unsigned port, weight, n;
  memcached_st *m = memcached_create(NULL);
  if (m == NULL) die("create", NULL, MEMCACHED_FAILURE);
  if (fgets(header, sizeof header, stdin) == NULL) die("header", NULL, MEMCACHED_FAILURE);
  int fields = sscanf(header, "%63s %u %63s", mode, &n, hashname);
  if (fields < 2) die("header", NULL, MEMCACHED_FAILURE);
  if (fields == 3 && (hash = hash_by_name(hashname)) < 0) die("hash name", NULL, MEMCACHED_FAILURE);
  int before = strcmp(mode, "weighted-before") == 0 || strcmp(mode, "ketama-before") == 0;
  weighted_mode = strncmp(mode, "weighted-", 9) == 0;
  if (!before && strcmp(mode, "weighted-after") != 0 && strcmp(mode, "ketama-after") != 0) die("mode", NULL, MEMCACHED_FAILURE);
  if (before) behaviour(m);
  for (unsigned i = 0; i < n; i++) {
    if (scanf("%1099s %u %u", host, &port, &weight) != 3) die("server line", NULL, MEMCACHED_FAILURE);
    memcached_return_t rc = weight == 0
      ? memcached_server_add(m, host, (in_port_t)port)
      : memcached_server_add_with_weight(m, host, (in_port_t)port, weight);
    if (rc != MEMCACHED_SUCCESS) die("server add", m, rc);
  }
  if (!before) behaviour(m);
  int c;
  while ((c = getchar()) != '\n' && c != EOF) {}
  static char line[4096];
  while (fgets(line, sizeof line, stdin) != NULL) {
    size_t len = strlen(line);
    if (len > 0 && line[len - 1] == '\n') line[--len] = '\0';
    printf("%u\n", memcached_generate_hash(m, line, len));
  }
  memcached_free(m);
  return 0;
}
