// MEMCACHED_PORT_FILENAME, as memcached writes it: the real process on an ephemeral port
// writes `TCP INET: <port>` (and INET6 for a dual-stack listener) into the file, and
// clients reach it on that port. memcached's own t/issue_67.t reads the file this way.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { spawn } from 'node:child_process'
import t from 'tap'
import { MEMRING_BIN } from '../../testing/memring-process.js'
import { exchange } from '../../testing/raw-client.js'
import { waitFor } from '../../testing/wait-for.js'
import { portFileLines } from '../port-file.js'

t.test('the lines, per listener', async (t) => {
  t.equal(portFileLines([{ address: '127.0.0.1', family: 'IPv4', port: 4000 }], false), 'TCP INET: 4000\n')
  t.equal(portFileLines([{ address: '::', family: 'IPv6', port: 4001 }], true), 'TCP INET: 4001\nTCP INET6: 4001\n', 'dual-stack :: with no -l: both, as memcached\'s two sockets')
  t.equal(portFileLines([{ address: '::1', family: 'IPv6', port: 4002 }], false), 'TCP INET6: 4002\n')
})

t.test('a process on -p -1 writes its port, and answers there', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'memring-ports-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const file = path.join(dir, 'ports')
  const proc = spawn(process.execPath, [MEMRING_BIN, '-p', '-1', '-l', '127.0.0.1', '-U', '0'], { stdio: 'ignore', env: { ...process.env, MEMCACHED_PORT_FILENAME: file } })
  t.teardown(() => { proc.kill('SIGKILL') })
  await waitFor(() => fs.existsSync(file), { timeoutMs: 15000, what: 'the port file' })
  const text = fs.readFileSync(file, 'latin1')
  const m = /^TCP INET: (\d+)\n$/.exec(text)
  t.ok(m !== null, `one TCP INET line: ${JSON.stringify(text)}`)
  t.notOk(fs.existsSync(`${file}.lck`), 'the .lck file was renamed')
  const got = await exchange(Number(m![1]), 'version\r\n')
  t.match(got.toString('latin1'), /^VERSION /, 'the server answers on that port')
})
