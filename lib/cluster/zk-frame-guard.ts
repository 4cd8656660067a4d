// lib/cluster/zk-frame-guard.ts
/**
 * node-zookeeper-client 1.1.3 parses replies inside the socket's 'data' handler and
 * throws there when a frame does not parse ("Unknown code: <garbage>" from
 * Exception.create): an uncaught exception that kills the process. It happened around
 * ZooKeeper restarts on a loaded machine (lib/cluster/test/watcher.test.ts, about one
 * run in four with a CPU hog; issue 20). For every other protocol error the library
 * destroys the socket, which makes it reconnect and resume the session; this does the
 * same for a frame that throws, and drops the partial frame it was holding.
 * Imported once, for its effect, by zk.ts.
 */
import { createRequire } from 'node:module'

interface ConnectionManagerProto {
  onSocketData (this: ConnectionManagerLike, buf: Buffer): void
}
interface ConnectionManagerLike { pendingBuffer: Buffer | null, socket: { destroy (): void } | null }

/** How many unparseable frames were dropped (with their connection) in this process. */
export const zkFrameErrors = { count: 0 }

const proto = (createRequire(import.meta.url)('node-zookeeper-client/lib/ConnectionManager.js') as { prototype: ConnectionManagerProto }).prototype
const onSocketData = proto.onSocketData
if (!(onSocketData as { guarded?: boolean }).guarded) {
  const guarded = function (this: ConnectionManagerLike, buf: Buffer): void {
    try {
      onSocketData.call(this, buf)
    } catch {
      zkFrameErrors.count++
      this.pendingBuffer = null
      this.socket?.destroy() // the library reconnects and resumes the session
    }
  }
  ;(guarded as { guarded?: boolean }).guarded = true
  proto.onSocketData = guarded
}
