/**
 * -e (restartable cache), side by side with real memcached started with the same flags:
 * a graceful stop (SIGUSR1) keeps the items for the next start with the same -e; expired
 * items, SIGTERM and changed settings do not bring data back; a bad metadata file fails
 * the start. Each step's observation must be the same for both servers.
 */
import t from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { exchange } from '../../testing/raw-client.js'
import { freePort, haveMemcached, MEMCACHED_BIN } from '../../testing/memcached.js'

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../bin/memring.js')
const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

interface Target { name: string, cmd: (args: string[]) => [string, string[]] }
const targets: Target[] = [
  { name: 'memring', cmd: (a) => [process.execPath, [BIN, ...a]] },
]
if (haveMemcached()) targets.unshift({ name: 'memcached', cmd: (a) => [MEMCACHED_BIN, ['-u', 'root', ...a]] })

/** Starts the server; resolves once it answers, or with its exit code if it dies first. */
async function start (target: Target, args: string[], port: number): Promise<{ proc: ChildProcess, exit: number | null, stderr: () => string }> {
  const [cmd, argv] = target.cmd(['-l', '127.0.0.1', '-p', String(port), '-U', '0', ...args])
  const proc = spawn(cmd, argv, { stdio: ['ignore', 'ignore', 'pipe'] })
  let err = ''
  proc.stderr!.on('data', (d) => { err += String(d) })
  const exited = new Promise<number>((resolve) => proc.once('exit', (c, s) => resolve(c ?? (s !== null ? 128 : -1))))
  for (let i = 0; i < 100; i++) {
    const r = await Promise.race([exited, exchange(port, 'version\r\n', undefined, 2000).then(() => 'up', () => 'down')])
    if (typeof r === 'number') return { proc, exit: r, stderr: () => err }
    if (r === 'up') return { proc, exit: null, stderr: () => err }
    await sleep(100)
  }
  throw new Error(`${target.name} did not start`)
}

async function stop (proc: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return
  const done = new Promise((resolve) => proc.once('exit', resolve))
  proc.kill(signal)
  await done
}

const ask = async (port: number, req: string): Promise<string> => (await exchange(port, req)).toString('latin1')

for (const target of targets) {
  t.test(`${target.name} -e: what survives a restart`, async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'memring-efile-'))
    const file = path.join(dir, 'cache')
    const running: ChildProcess[] = []
    t.teardown(async () => {
      for (const p of running) await stop(p, 'SIGKILL')
      fs.rmSync(dir, { recursive: true, force: true })
    })
    const port = await freePort()
    const args = ['-m', '64', '-e', file]

    let s = await start(target, args, port)
    running.push(s.proc)
    t.equal(s.exit, null, 'starts with no metadata file')
    t.match(s.stderr(), /\[restart\] no metadata save file, starting with a clean cache/, 'and says so on stderr')
    t.match(await ask(port, 'stats settings\r\n'), `STAT memory_file ${file}\r\n`, 'stats settings shows the file')
    const big = 'v'.repeat(300 * 1024)
    const stored = await ask(port, `set keep 5 0 5\r\nhello\r\nset short 0 2 3\r\nbye\r\nset long 0 1000 4\r\nstay\r\nset big 0 0 ${big.length}\r\n${big}\r\ngets keep\r\n`)
    t.equal(stored.split('STORED\r\n').length - 1, 4, 'four items stored')
    const cas = /VALUE keep 5 5 (\d+)\r\n/.exec(stored)?.[1]
    t.ok(cas, `CAS before the stop: ${cas}`)

    await stop(s.proc, 'SIGUSR1') // graceful: the image is written
    t.ok(fs.existsSync(`${file}.meta`), 'a graceful stop writes <file>.meta')
    await sleep(2500) // `short` (TTL 2 s) expires while the server is down

    s = await start(target, args, port)
    running.push(s.proc)
    t.equal(s.exit, null, 'restarts on the image')
    t.notOk(fs.existsSync(`${file}.meta`), 'the metadata file is consumed at start')
    const after = await ask(port, 'gets keep\r\nget short\r\nget long\r\nget big\r\n')
    t.match(after, `VALUE keep 5 5 ${cas}\r\nhello\r\n`, 'value, flags and CAS carried over')
    t.notMatch(after, 'VALUE short', 'an item that expired while down is gone')
    t.match(after, 'VALUE long 0 4\r\nstay\r\n', 'an item with TTL left is kept')
    t.ok(after.includes(`VALUE big 0 ${big.length}\r\n${big}\r\n`), 'a 300 KiB value comes back whole')
    const ttl = /ttl: *(\d+)|t(\d+)/.exec(await ask(port, 'mg long t\r\n'))
    const left = Number(ttl?.[1] ?? ttl?.[2])
    t.ok(left > 900 && left <= 1000, `its remaining TTL still counts down from the set (${left} s)`)

    await stop(s.proc, 'SIGTERM') // not graceful: nothing written
    t.notOk(fs.existsSync(`${file}.meta`), 'SIGTERM writes no metadata')
    s = await start(target, args, port)
    running.push(s.proc)
    t.equal(await ask(port, 'get keep\r\n'), 'END\r\n', 'so the next start is clean')
    await stop(s.proc, 'SIGUSR1')

    s = await start(target, ['-m', '48', '-e', file], port)
    running.push(s.proc)
    t.equal(s.exit, null, 'an image saved under other settings does not stop the start')
    t.match(s.stderr(), /\[restart\] restart incompatible due to setting for \[maxbytes\] \[old value: 67108864\]/, 'stderr names the setting')
    t.match(s.stderr(), /\[restart\] failed to validate metadata, starting with a clean cache/, '... and the clean start')
    t.equal(await ask(port, 'get keep\r\n'), 'END\r\n', '... and is not loaded')
    await stop(s.proc, 'SIGTERM')

    fs.writeFileSync(`${file}.meta`, '')
    s = await start(target, args, port)
    running.push(s.proc)
    t.not(s.exit, null, `an empty metadata file fails the start (exit ${s.exit})`)
    t.match(s.stderr(), /\[restart\] Failed to read a tag from metadata file/, 'with memcached\'s message')
  })
}
