/**
 * `-s PATH` and `-a MASK`, against real memcached 1.6.18 started the same way: only the
 * unix socket is served, the socket file gets the mask's permission bits, a stale socket
 * file is replaced, commands answer the same, and `stats settings` shows the path and
 * mask as memcached does. The flags go through the command-line parser (serverSettings).
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { haveMemcached, MEMCACHED_BIN } from '../../testing/memcached.js'
import { startServer } from '../../testing/servers.js'
import { serverSettings } from '../../app/config.js'

const skip = haveMemcached() ? false : 'memcached not installed'

/** Writes, half-closes, returns everything until the server closes. */
async function talk (sock: string, script: string): Promise<string> {
  return await new Promise((resolve, reject) => {
    const s = net.connect(sock)
    const parts: Buffer[] = []
    s.on('connect', () => s.end(script))
    s.on('data', (d) => parts.push(d))
    s.on('error', reject)
    s.on('close', () => resolve(Buffer.concat(parts).toString('latin1')))
  })
}

async function waitForSocket (p: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try { if (fs.statSync(p).isSocket()) return } catch {}
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  throw new Error(`no socket at ${p}`)
}

t.test('-s PATH -a 0766: socket only, mode, replies and settings as memcached', { skip }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'memring-unix-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const mcPath = path.join(dir, 'mc.sock')
  const mrPath = path.join(dir, 'mr.sock')
  const mc = spawn(MEMCACHED_BIN, ['-u', 'root', '-s', mcPath, '-a', '0766', '-U', '0'], { stdio: 'ignore' })
  t.teardown(() => { mc.kill('SIGKILL') })
  await waitForSocket(mcPath)
  // A stale socket file from an earlier run is replaced, as memcached does.
  const stale = net.createServer().listen(mrPath)
  await new Promise((resolve) => stale.once('listening', resolve))
  stale.close()
  fs.closeSync(fs.openSync(path.join(dir, 'keep'), 'w'))
  const settings = serverSettings({ unixSocket: mrPath, unixMask: '0766', port: '0' })
  const mr = await startServer(t, settings)
  t.equal(mr.addresses().length, 0, 'no TCP listener')
  t.equal(fs.statSync(mrPath).mode & 0o777, fs.statSync(mcPath).mode & 0o777, 'same file mode')
  t.equal(fs.statSync(mrPath).mode & 0o777, 0o766, 'the -a bits')
  const script = 'set a 0 0 1\r\nx\r\nget a\r\nincr a 1\r\nmn\r\nstats settings\r\n'
  const [want, got] = await Promise.all([talk(mcPath, script), talk(mrPath, script)])
  const rows = (x: string): string => x.split('\r\n').filter((l) => !l.startsWith('STAT ') || /^STAT (domain_socket|umask) /.test(l)).join('\r\n')
  t.equal(rows(got).replace(mrPath, 'PATH'), rows(want).replace(mcPath, 'PATH'), 'same replies and settings rows')
  t.match(want, /STAT umask 766\r\n/, 'memcached shows the mask')
  t.throws(() => serverSettings({ unixMask: '8' }), /octal/, 'a non-octal mask is refused')
  // A path holding something that is not a socket is not deleted: start fails.
  const other = serverSettings({ unixSocket: path.join(dir, 'keep') })
  await t.rejects(startServer(t, other), /EADDRINUSE/, 'a regular file at the path is kept and the start fails')
  t.ok(fs.statSync(path.join(dir, 'keep')).isFile(), 'the file is still there')
})

t.test('memring-proxy -s PATH -a 0770: clients reach the hosts through the socket', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'memring-proxy-unix-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const host = await startServer(t)
  const sock = path.join(dir, 'proxy.sock')
  const bin = path.join(path.dirname(new URL(import.meta.url).pathname), '../../../bin/memring-proxy.js')
  const proc = spawn(process.execPath, [bin, '-s', sock, '-a', '0770', '--servers', `127.0.0.1:${host.port}`], { stdio: 'ignore' })
  t.teardown(() => { proc.kill('SIGKILL') })
  await waitForSocket(sock)
  t.equal(fs.statSync(sock).mode & 0o777, 0o770, 'the -a bits')
  const got = await talk(sock, 'set px 0 0 2\r\nhi\r\nget px\r\n')
  t.equal(got, 'STORED\r\nVALUE px 0 2\r\nhi\r\nEND\r\n', 'served through the proxy')
  t.equal(host.ctx.stats.cmd_set, 1, 'the set reached the host')
})
