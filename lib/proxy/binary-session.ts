// lib/proxy/binary-session.ts
/**
 * Binary protocol frontend of the proxy: NOT BUILT YET. A client that opens with
 * the binary magic (0x80) is disconnected at once (as memcached does when a
 * protocol is disabled with -B ascii), and counted in `stats proxy`
 * (proxy_binary_refused), so the gap is visible rather than a hang.
 */
import type { ProtocolSession } from '../server/connection.js'
import type { ConnControl } from '../server/context.js'
import type { ProxyCore } from './core.js'

export class ProxyBinarySession implements ProtocolSession {
  constructor (conn: ConnControl, core: ProxyCore) {
    core.counters.proxy_binary_refused++
    conn.destroy()
  }

  push (): void {}
  pause (): void {}
  resume (): void {}
  close (): void {}
}
