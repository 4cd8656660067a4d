/**
 * Scripted misbehaving TCP peers for failure-path tests (not a test file): real sockets
 * on loopback port 0, each with one named behaviour, closed at teardown. Same idea as
 * mcrouter's SleepServer/ConnectionErrorServer; lib/testing/scripted-backend.ts in the
 * design would be their eventual home.
 */
import { createServer, connect, type Server, type Socket } from 'node:net'

interface Tap { teardown (fn: () => unknown): void }

export type Behaviour =
  /** Accepts and reads, never answers. */
  | { kind: 'hang' }
  /** Resets the connection when the first request bytes arrive. */
  | { kind: 'reset' }
  /** Answers every chunk with these bytes. */
  | { kind: 'reply', bytes: string }
  /** Closes the first `n` connections right after accepting, then relays to a real server. */
  | { kind: 'flaky-then-relay', n: number, port: number }

export interface Peer {
  readonly port: number
  /** Connections accepted so far. */
  accepted: number
  /** Bytes received on all connections. */
  received: Buffer[]
  close (): Promise<void>
}

/** Listens on 127.0.0.1:`port` (0: a free port). */
export async function startPeer (t: Tap, behaviour: Behaviour, port = 0): Promise<Peer> {
  const sockets = new Set<Socket>()
  const peer: Peer = { port: 0, accepted: 0, received: [], close: async () => {} }
  const server: Server = createServer((sock) => {
    peer.accepted++
    sockets.add(sock)
    sock.on('close', () => sockets.delete(sock))
    sock.on('error', () => {})
    switch (behaviour.kind) {
      case 'hang':
        sock.on('data', (d: Buffer) => peer.received.push(d))
        break
      case 'reset':
        sock.on('data', (d: Buffer) => { peer.received.push(d); sock.resetAndDestroy() })
        break
      case 'reply':
        sock.on('data', (d: Buffer) => { peer.received.push(d); sock.write(behaviour.bytes) })
        break
      case 'flaky-then-relay': {
        if (peer.accepted <= behaviour.n) { sock.destroy(); break }
        const up = connect(behaviour.port, '127.0.0.1')
        up.on('error', () => sock.destroy())
        sock.on('data', (d: Buffer) => peer.received.push(d))
        sock.pipe(up).pipe(sock)
        sock.on('close', () => up.destroy())
        break
      }
    }
  })
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(port, '127.0.0.1', resolve) })
  const addr = server.address()
  ;(peer as { port: number }).port = typeof addr === 'object' && addr !== null ? addr.port : 0
  let closed = false
  peer.close = async () => {
    if (closed) return
    closed = true
    for (const s of sockets) s.destroy()
    await new Promise((resolve) => server.close(resolve))
  }
  t.teardown(peer.close)
  return peer
}
