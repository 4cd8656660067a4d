/**
 * Server-wide counters, named exactly as memcached's `stats` fields so dashboards and
 * exporters work unchanged. Plain number fields incremented inline on the hot path.
 */
export class ServerStats {
  curr_connections = 0
  total_connections = 0
  rejected_connections = 0
  connection_structures = 0
  cmd_get = 0
  cmd_set = 0
  cmd_flush = 0
  cmd_touch = 0
  cmd_meta = 0
  get_hits = 0
  get_misses = 0
  delete_misses = 0
  delete_hits = 0
  incr_misses = 0
  incr_hits = 0
  decr_misses = 0
  decr_hits = 0
  cas_misses = 0
  cas_hits = 0
  cas_badval = 0
  touch_hits = 0
  touch_misses = 0
  store_too_large = 0
  store_no_memory = 0
  auth_cmds = 0
  auth_errors = 0
  bytes_read = 0
  bytes_written = 0
  listen_disabled_num = 0
  conn_yields = 0
  idle_kicks = 0
  /** Bugs caught at the connection boundary (should stay 0; tests assert it). */
  internal_errors = 0

  reset (): void {
    const keep = { curr_connections: this.curr_connections, connection_structures: this.connection_structures }
    const fresh = new ServerStats()
    Object.assign(this, fresh, keep)
  }
}
