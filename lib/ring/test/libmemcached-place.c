/*
 * Test helper for lib/ring/test/libmemcached-placement.test.ts: asks the system
 * libmemcached (Debian libmemcached-dev) which server it would use for each key.
 * Connects to nothing: placement only hashes server labels and keys.
 *
 * stdin:  MODE            "weighted" (MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED = 1, the
 *                         libketama-compatible mode) set before or after the servers:
 *                         "weighted-before" | "weighted-after"
 *         N               number of servers
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

static void weighted (memcached_st *m) {
  memcached_return_t rc = memcached_behavior_set(m, MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED, 1);
  if (rc != MEMCACHED_SUCCESS) die("behavior", m, rc);
}

int main (void) {
  char mode[64], host[1100];
  unsigned port, weight, n;
  memcached_st *m = memcached_create(NULL);
  if (m == NULL) die("create", NULL, MEMCACHED_FAILURE);
  if (scanf("%63s %u", mode, &n) != 2) die("header", NULL, MEMCACHED_FAILURE);
  int before = strcmp(mode, "weighted-before") == 0;
  if (!before && strcmp(mode, "weighted-after") != 0) die("mode", NULL, MEMCACHED_FAILURE);
  if (before) weighted(m);
  for (unsigned i = 0; i < n; i++) {
    if (scanf("%1099s %u %u", host, &port, &weight) != 3) die("server line", NULL, MEMCACHED_FAILURE);
    memcached_return_t rc = weight == 0
      ? memcached_server_add(m, host, (in_port_t)port)
      : memcached_server_add_with_weight(m, host, (in_port_t)port, weight);
    if (rc != MEMCACHED_SUCCESS) die("server add", m, rc);
  }
  if (!before) weighted(m);
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
