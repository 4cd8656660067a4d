/**
 * Input below Node's stream layer (issue 15): an accepted socket re-wrapped with
 * net.Socket's `onread` option, so the kernel's bytes land in one buffer shared by every
 * connection of the process, with no Buffer allocated and no 'data' event per read.
 *
 * net.Server has no `onread` option for accepted sockets, so the listener is created with
 * `pauseOnConnect: true` (nothing is read yet) and the accepted socket's handle moves to a
 * new net.Socket made with `onread`. The new socket takes over the server's bookkeeping
 * (`server._connections` is decremented when it closes); the old object keeps no handle and
 * is never used again.
 *
 * Ownership: the chunk given to onChunk is a view of the shared buffer, valid only during
 * the call; the next read on any socket overwrites it. Whoever keeps input past the call
 * copies it (the parsers do, when paused mid-chunk; Connection copies for sessions that
 * do not say they do). pause()/resume() and 'end' work as usual; 'data' is never emitted.
 */
import net from 'node:net'

/** As large as the chunks libuv reads by default (64 KiB). */
const SHARED = Buffer.allocUnsafeSlow(64 * 1024)

interface Internals { _handle: unknown, server?: net.Server, _server?: net.Server }

/**
 * Returns the socket to use instead of `raw` (accepted with pauseOnConnect), or null if
 * `raw` already lost its handle (the peer went away): then `raw` is destroyed.
 */
export function adoptWithOnread (raw: net.Socket, onChunk: (chunk: Buffer) => void): net.Socket | null {
  const r = raw as unknown as Internals
  const handle = r._handle
  if (handle === null || handle === undefined) { raw.destroy(); return null }
  const s = new net.Socket({
    handle,
    allowHalfOpen: raw.allowHalfOpen,
    onread: { buffer: SHARED, callback: (n: number, buf: Uint8Array) => { onChunk((buf as Buffer).subarray(0, n)); return true } },
  } as unknown as net.SocketConstructorOpts)
  r._handle = null
  const o = s as unknown as Internals
  o.server = r.server
  o._server = r._server
  return s
}
