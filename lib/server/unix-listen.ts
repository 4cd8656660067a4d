/**
 * memcached -s / -a: listen on a unix socket. A stale socket file at the path (an earlier
 * run's) is removed first, anything else there makes the start fail; once bound, the
 * file gets the -a permission bits (memcached: umask(~mask) around bind). Shared by the
 * server and memring-proxy.
 */
import fs from 'node:fs'
import type net from 'node:net'

export async function listenUnix (l: net.Server, path: string, mask: number, backlog?: number): Promise<void> {
  try {
    if (fs.lstatSync(path).isSocket()) fs.unlinkSync(path)
  } catch (err) { if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err }
  await new Promise<void>((resolve, reject) => {
    l.once('error', reject)
    l.listen({ path, backlog }, () => { l.off('error', reject); resolve() })
  })
  fs.chmodSync(path, mask & 0o777)
}
