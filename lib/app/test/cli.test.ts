/**
 * The one test that spawns the built binary (STYLE §12): help, version, usage errors with
 * exit code 2, and a start/serve/SIGTERM cycle timed from spawn.
 */
import t from 'tap'
import { spawn, spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import path from 'node:path'
import { exchange } from '../../testing/raw-client.js'
import { freePort } from '../../testing/memcached.js'
import net from 'node:net'

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../bin/memring.js')

function run (args: string[]): { code: number | null, out: string, err: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 10000 })
  return { code: r.status, out: r.stdout, err: r.stderr }
}

t.test('--help lists memcached\'s flags', async (t) => {
  const r = run(['--help'])
  t.equal(r.code, 0)
  for (const f of ['-p, --port', '-U, --udp-port', '-l, --listen', '-m, --memory-limit', '-M, --disable-evictions',
    '-c, --conn-limit', '-t, --threads', '-I, --max-item-size', '-f, --slab-growth-factor', '-n, --slab-min-size',
    '-C, --disable-cas', '-A, --enable-shutdown', '-F, --disable-flush-all', '-v, --verbose', '-h, --help',
    '-V, --version', '-o, --extended']) {
    t.match(r.out, f, `help mentions ${f}`)
  }
})

t.test('-V prints the version', async (t) => {
  const r = run(['-V'])
  t.equal(r.code, 0)
  t.match(r.out, /^memring 1\.6\.18/)
})

const bad: Array<[string[], RegExp]> = [
  [['--no-such-flag'], /unknown option/],
  [['-m', 'abc'], /-m: 'abc' is not a non-negative integer/],
  [['-p', '70000'], /-p: 70000 is out of range/],
  [['-I', '100'], /Item max size cannot be less than 1024 bytes/],
  [['-I', '2g'], /not a size/],
  [['-m', '8', '-I', '8m'], /higher than 1\/2 of memory max/],
  [['-f', '1'], /factor must be greater than 1/],
]
t.test('memring -o bogus=1 fails with memcached\'s message alone, exit 2 like every bad flag', async (t) => {
  const r = run(['-o', 'bogus=1'])
  t.equal(r.code, 2)
  t.equal(r.err, 'Illegal suboption "bogus=1"\n')
})

for (const [args, msg] of bad) {
  t.test(`memring ${args.join(' ')} exits 2 with a clear message`, async (t) => {
    const r = run(args)
    t.equal(r.code, 2)
    t.match(r.err, msg)
  })
}

t.test('starts, answers within 1 s, and stops on SIGTERM', async (t) => {
  const port = await freePort()
  const started = Date.now()
  const child = spawn(process.execPath, [BIN, '-p', String(port), '-l', '127.0.0.1', '-m', '16', '-vv', '-o', 'idle_timeout=30,hashpower=12'], { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (d) => { stderr += String(d) })
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  let answered = 0
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => { s.destroy(); resolve(true) })
      s.on('error', () => resolve(false))
    })
    if (ok) { answered = Date.now() - started; break }
    if (Date.now() - started > 5000) break
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  t.ok(answered > 0, `listening ${answered} ms after spawn`) // time reported, not gated: the machine is shared
  const reply = await exchange(port, 'version\r\nstats settings\r\n', 100)
  t.match(reply.toString(), /^VERSION 1\.6\.18\r\n/)
  t.match(reply.toString(), /STAT maxbytes 16777216\r\n/)
  t.match(reply.toString(), /STAT idle_timeout 30\r\n/)
  t.match(reply.toString(), /STAT hashpower_init 12\r\n/)
  const stopAt = Date.now()
  child.kill('SIGTERM')
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)))
  t.equal(code, 0, 'exit code 0')
  t.comment(`stopped ${Date.now() - stopAt} ms after SIGTERM (reported, not gated)`)
  t.match(stderr, /memring listening/, 'structured start-up log at -vv')
})

t.test('-d -P: the parent exits 0 at once; the pid file names the background process that serves', async (t) => {
  const fs = await import('node:fs')
  const os = await import('node:os')
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'memring-daemon-'))
  const pidFile = path.join(dir, 'memring.pid')
  const port = await freePort()
  let daemonPid = 0
  t.teardown(() => {
    if (daemonPid !== 0) try { process.kill(daemonPid, 'SIGKILL') } catch {}
    fs.rmSync(dir, { recursive: true, force: true })
  })
  const r = spawnSync(process.execPath, [BIN, '-d', '-P', pidFile, '-l', '127.0.0.1', '-p', String(port), '-U', '0'], { encoding: 'utf8', timeout: 10000 })
  t.equal(r.status, 0, 'the foreground process exits 0')
  t.equal(r.stdout + r.stderr, '', 'and prints nothing')
  for (let i = 0; i < 100 && daemonPid === 0; i++) {
    try { daemonPid = Number(fs.readFileSync(pidFile, 'utf8').trim()) } catch { await new Promise((resolve) => setTimeout(resolve, 100)) }
  }
  t.ok(daemonPid > 0, `pid file written: ${daemonPid}`)
  let stats = ''
  for (let i = 0; i < 50 && !stats.includes('END'); i++) {
    try { stats = (await exchange(port, 'stats\r\n')).toString() } catch { await new Promise((resolve) => setTimeout(resolve, 100)) }
  }
  t.match(stats, new RegExp(`STAT pid ${daemonPid}\\r\\n`), 'the server reports the pid in the file')
  process.kill(daemonPid, 'SIGKILL')
  daemonPid = 0
  await new Promise((resolve) => setTimeout(resolve, 300))
  await t.rejects(exchange(port, 'version\r\n'), 'nothing serves once that pid is killed')
})
