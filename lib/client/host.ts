/**
 * Host: one server the client talks to, its pipelined Connection and its health.
 * A host that fails `threshold` times in a row (connect failures, resets, timeouts,
 * garbage; not error replies) is marked down: requests for it fail at once with
 * HOST_DOWN instead of each waiting for a timeout, and a `version` probe every
 * `probeIntervalMs` brings it back when it answers.
 */
import { encodeVersion } from '../../protocol/text/request-encoder.js'
import { VersionCommand } from './command.js'
import type { Connection } from './connection.js'

export class Host {
  failures = 0
  down = false
  private probe: NodeJS.Timeout | null = null

  /** `id` is "host:port" (serverId). */
  constructor (readonly id: string, readonly conn: Connection) {}

  /** Requests waiting for or in flight on this host (the read balancer's load figure). */
  get pending (): number { return this.conn.pending }

  succeeded (): void {
    this.failures = 0
  }

  /** One more consecutive failure; at `threshold` the host is marked down and probed. */
  failed (threshold: number, probeIntervalMs: number): void {
    this.failures++
    if (this.down || this.failures < threshold) return
    this.down = true
    this.probe = setInterval(() => {
      this.conn.send(new VersionCommand(encodeVersion(), (err) => {
        if (err !== null || !this.down) return
        this.down = false
        this.failures = 0
        this.stopProbe()
      }))
    }, probeIntervalMs)
    this.probe.unref()
  }

  /** Stops probing and closes the connection: what is waiting on it fails with CLOSED. */
  retire (why?: string): void {
    this.stopProbe()
    this.conn.close(why)
  }

  private stopProbe (): void {
    if (this.probe !== null) clearInterval(this.probe)
    this.probe = null
  }
}
