// lib/cluster/presence.ts
/**
 * Presence: an EPHEMERAL node that says "this process is here", rewritten every `everyMs`
 * with fresh figures, and created again in every new session (after an expiry). Used by
 * memring-proxy (/memring/<cluster>/proxies/<host:port>, ProxyRecord) so `memringctl
 * status` can list the proxies and their backends' health. Best effort: a failed write
 * is retried at the next tick; routing never depends on it.
 */
import { ClusterError } from './errors.js'
import type { ZkSession } from './zk.js'

export class Presence {
  #timer: NodeJS.Timeout | null = null
  #closed = false
  #created = false

  constructor (
    private readonly session: ZkSession,
    private readonly dir: string,
    private readonly id: string,
    private readonly data: () => Buffer,
    private readonly everyMs = 5000,
  ) {}

  get path (): string { return `${this.dir}/${this.id}` }

  start (): void {
    this.session.on('session', this.#onSession)
    this.#timer = setInterval(() => { void this.#write() }, this.everyMs)
    this.#timer.unref()
    void this.#write()
  }

  #onSession = (): void => { this.#created = false; void this.#write() }

  async #write (): Promise<void> {
    if (this.#closed || !this.session.healthy) return
    try {
      if (!this.#created) {
        await this.session.ensurePath(this.dir)
        try {
          await this.session.create(this.path, this.data(), 'ephemeral')
        } catch (err) {
          // our node from an earlier session that has not expired yet: overwrite it
          if (!(err instanceof ClusterError) || err.zkCode !== 'NODE_EXISTS') throw err
          await this.session.setData(this.path, this.data())
        }
        this.#created = true
        return
      }
      await this.session.setData(this.path, this.data())
    } catch {
      this.#created = false
    }
  }

  async close (): Promise<void> {
    this.#closed = true
    if (this.#timer !== null) clearInterval(this.#timer)
    this.session.off('session', this.#onSession)
    if (this.#created) await this.session.remove(this.path).catch(() => false)
  }
}
