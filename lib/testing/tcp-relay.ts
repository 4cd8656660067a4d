// lib/testing/tcp-relay.ts
/**
 * A real TCP relay between a client and a server, for link failures that a
 * process kill cannot show: freeze() turns the current connections into black
 * holes (TCP stays open, nothing passes either way, like a dead NAT entry or a
 * partition without RST); cut() resets them. New connections pass unless
 * blockNew() says otherwise. Test-only code: unstable API.
 */
import { createServer, connect, type Server, type Socket } from 'node:net'
import type { Teardown } from './zookeeper.js'

interface Pair { client: Socket, server: Socket, frozen: boolean }

export class TcpRelay {
  readonly port: number
  readonly targetPort: number
  #server: Server
  #pairs = new Set<Pair>()
  #blockNew = false
  /** Connections accepted so far. */
  accepted = 0

  constructor (server: Server, port: number, targetPort: number) {
    this.#server = server
    this.port = port
    this.targetPort = targetPort
    server.on('connection', (client) => this.#accept(client))
  }

  get address (): string { return `127.0.0.1:${this.port}` }
  /** Open connections that still pass traffic. */
  get flowing (): number { let n = 0; for (const p of this.#pairs) if (!p.frozen) n++; return n }

  #accept (client: Socket): void {
    this.accepted++
    const server = connect({ host: '127.0.0.1', port: this.targetPort })
    const pair: Pair = { client, server, frozen: this.#blockNew }
    this.#pairs.add(pair)
    const end = (): void => { this.#pairs.delete(pair); client.destroy(); server.destroy() }
    client.on('data', (b: Buffer) => { if (!pair.frozen) server.write(b) })
    server.on('data', (b: Buffer) => { if (!pair.frozen) client.write(b) })
    // A frozen link never carries a FIN or RST either: only cut() or close() end it.
    client.on('close', () => { if (!pair.frozen) end() })
    server.on('close', () => { if (!pair.frozen) end() })
    client.on('error', () => {})
    server.on('error', () => {})
  }

  /** Every open connection silently drops all bytes from now on, both ways. */
  freeze (): void { for (const p of this.#pairs) p.frozen = true }
  /** New connections are accepted but frozen from the start (true) or pass (false). */
  blockNew (on: boolean): void { this.#blockNew = on }
  /** Reset every open connection (frozen or not). */
  cut (): void {
    for (const p of this.#pairs) { p.client.resetAndDestroy(); p.server.destroy() }
    this.#pairs.clear()
  }

  close (): Promise<void> {
    this.cut()
    return new Promise((resolve) => this.#server.close(() => resolve()))
  }
}

/** A relay on a free loopback port forwarding to 127.0.0.1:targetPort; closed with `t`. */
export async function startRelay (t: Teardown, targetPort: number): Promise<TcpRelay> {
  const server = createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const addr = server.address()
  const relay = new TcpRelay(server, typeof addr === 'object' && addr !== null ? addr.port : 0, targetPort)
  t.teardown(() => relay.close())
  return relay
}
