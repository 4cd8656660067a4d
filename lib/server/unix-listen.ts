/**
 * memcached -s / -a: listen on a unix socket. A stale socket file at the path (an earlier
 * run's) is removed first, anything else there makes the start fail; once bound, the
 * file gets the -a permission bits. As memcached does, the bits are set by a umask around
 * the bind (Node binds a pipe synchronously inside listen()), so no client ever sees the
 * file with other bits; the chmod after it is the fallback where umask cannot be set
 * (worker threads). Shared by the server and memring-proxy.
 */
import fs from 'node:fs'
import type net from 'node:net'

export async function listenUnix (l: net.Server, path: string, mask: number, backlog?: number): Promise<void> {
  try {
    if (fs.lstatSync(path).isSocket()) fs.unlinkSync(path)
  } catch (err) { if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err }
  await new Promise<void>((resolve, reject) => {
    l.once('error', reject)
    const old = setUmask(~mask & 0o777)
    try {
      l.listen({ path, backlog }, () => { l.off('error', reject); resolve() })
    } finally {
      if (old !== undefined) setUmask(old)
    }
  })
  fs.chmodSync(path, mask & 0o777)
}

function setUmask (m: number): number | undefined {
  try { return process.umask(m) } catch { return undefined } // not allowed in worker threads
}
