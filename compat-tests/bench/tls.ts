// TLS vs plaintext ops/s, for memcached and memring in the same run: each server is started
// once with -Z and a notls: listener beside the TLS one, and the same load (a 9:1 get:set
// mix of 100 B values over 1000 keys, C connections with D requests in flight each) runs
// against both listeners in turn, R rounds. memaslap has no TLS, so the load generator is
// node:tls/node:net in this process; it costs the same for both servers, so the ratios
// compare them, not the absolute figures.
//
//   node dist/compat-tests/bench/tls.js [--seconds 2] [--rounds 3] [--conns 8] [--depth 4]

import { spawn, type ChildProcess } from 'node:child_process'
import net from 'node:net'
import os from 'node:os'
import tls from 'node:tls'
import fs from 'node:fs'
import { MEMCACHED_BIN, freePort, waitForPort } from '../../lib/testing/memcached.js'
import { MEMRING_BIN } from '../../lib/testing/memring-process.js'
import { makeCerts } from '../../lib/testing/certs.js'
import { numArg as arg } from './args.js'

const SECONDS = arg('seconds', 2)
const ROUNDS = arg('rounds', 3)
const CONNS = arg('conns', 8)
const DEPTH = arg('depth', 4)
const KEYS = 1000
const VALUE = 'v'.repeat(100)

interface Ports { tls: number, plain: number }

/** One connection's loop: DEPTH requests out, wait for their replies, again, until `until`. */
async function connLoop (sock: net.Socket, until: number, seed: number): Promise<number> {
  let done = 0
  let carry = ''
  let want = 0
  let wake: (() => void) | null = null
  sock.on('data', (d: Buffer) => {
    carry += d.toString('latin1')
    // Replies end in END\r\n (get) or STORED\r\n (set); values never contain either.
    for (;;) {
      const e = carry.indexOf('END\r\n')
      const s = carry.indexOf('STORED\r\n')
      if (e === -1 && s === -1) break
      const at = e === -1 ? s + 8 : s === -1 ? e + 5 : Math.min(e + 5, s + 8)
      carry = carry.slice(at)
      want--
      done++
    }
    if (want === 0 && wake !== null) { const w = wake; wake = null; w() }
  })
  let x = seed
  while (Date.now() < until) {
    let batch = ''
    for (let i = 0; i < DEPTH; i++) {
      x = (x * 1103515245 + 12345) >>> 0
      const key = `key:${x % KEYS}`
      batch += x % 10 === 0 ? `set ${key} 0 0 ${VALUE.length}\r\n${VALUE}\r\n` : `get ${key}\r\n`
    }
    want = DEPTH
    await new Promise<void>((resolve) => { wake = resolve; sock.write(batch) })
  }
  sock.destroy()
  return done
}

async function open (port: number, useTls: boolean, ca: Buffer): Promise<net.Socket> {
  return await new Promise((resolve, reject) => {
    const s = useTls
      ? tls.connect({ port, host: '127.0.0.1', ca, servername: 'localhost' }, () => resolve(s))
      : net.connect({ port, host: '127.0.0.1' }, () => resolve(s))
    s.setNoDelay(true)
    s.once('error', reject)
  })
}

async function drive (port: number, useTls: boolean, ca: Buffer): Promise<number> {
  const socks = await Promise.all(Array.from({ length: CONNS }, async () => await open(port, useTls, ca)))
  const start = Date.now()
  const until = start + SECONDS * 1000
  const counts = await Promise.all(socks.map(async (s, i) => await connLoop(s, until, i + 1)))
  return counts.reduce((a, b) => a + b, 0) / ((Date.now() - start) / 1000)
}

async function fill (port: number): Promise<void> {
  const s = await open(port, false, Buffer.alloc(0))
  let body = ''
  for (let k = 0; k < KEYS; k++) body += `set key:${k} 0 0 ${VALUE.length} noreply\r\n${VALUE}\r\n`
  await new Promise<void>((resolve) => { s.write(body + 'version\r\n'); s.on('data', (d) => { if (d.includes('VERSION')) resolve() }) })
  s.destroy()
}

async function main (): Promise<void> {
  const teardowns: Array<() => unknown> = []
  const certs = makeCerts({ teardown: (fn) => teardowns.push(fn) })
  const ca = fs.readFileSync(certs.ca)
  const procs: ChildProcess[] = []
  const start = async (bin: string[], p: Ports): Promise<void> => {
    const proc = spawn(bin[0]!, [...bin.slice(1), '-p', String(p.tls), '-l', `127.0.0.1:${p.tls},notls:127.0.0.1:${p.plain}`, '-U', '0', '-m', '64', '-t', '1',
      '-Z', '-o', `ssl_chain_cert=${certs.serverCert},ssl_key=${certs.serverKey}`], { stdio: 'ignore' })
    procs.push(proc)
    await waitForPort(p.plain, 10_000)
    await fill(p.plain)
  }
  const servers = { memcached: { tls: await freePort(), plain: await freePort() }, memring: { tls: await freePort(), plain: await freePort() } }
  try {
    await start([MEMCACHED_BIN, '-u', 'root'], servers.memcached)
    await start([process.execPath, MEMRING_BIN], servers.memring)
    const runs: Record<string, number[]> = { 'memcached plain': [], 'memcached tls': [], 'memring plain': [], 'memring tls': [] }
    for (let r = 0; r < ROUNDS; r++) {
      for (const name of ['memcached', 'memring'] as const) {
        runs[`${name} plain`]!.push(await drive(servers[name].plain, false, ca))
        runs[`${name} tls`]!.push(await drive(servers[name].tls, true, ca))
      }
    }
    const stat = (xs: number[]): string => {
      const s = [...xs].sort((a, b) => a - b)
      return `${s[0]!.toFixed(0)} / ${s[Math.floor(s.length / 2)]!.toFixed(0)} / ${s[s.length - 1]!.toFixed(0)}`
    }
    const ratio = (a: number[], b: number[]): string => stat(a.map((x, i) => x / b[i]!).map((x) => x * 1000)).split(' / ').map((x) => (Number(x) / 1000).toFixed(2)).join(' / ')
    console.log(`CPU: ${os.cpus()[0]?.model ?? '?'} x${os.cpus().length}; load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`)
    console.log(`${ROUNDS} rounds x ${SECONDS} s, ${CONNS} connections x ${DEPTH} in flight, 9:1 get:set, 100 B values; min / median / max`)
    for (const [k, v] of Object.entries(runs)) console.log(`${k.padEnd(16)} ops/s ${stat(v)}`)
    console.log(`memcached tls/plain   ${ratio(runs['memcached tls']!, runs['memcached plain']!)}`)
    console.log(`memring   tls/plain   ${ratio(runs['memring tls']!, runs['memring plain']!)}`)
    console.log(`memring/memcached plain ${ratio(runs['memring plain']!, runs['memcached plain']!)}`)
    console.log(`memring/memcached tls   ${ratio(runs['memring tls']!, runs['memcached tls']!)}`)
  } finally {
    for (const p of procs) p.kill('SIGKILL')
    for (const f of teardowns) f()
  }
}

void main()
