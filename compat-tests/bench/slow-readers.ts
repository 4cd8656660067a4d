// compat-tests/bench/slow-readers.ts
/**
 * Slow readers (issue 15): many connections pipeline `get` of a large value and never read
 * their replies. What the server's memory does meanwhile, and how fast a normal client's
 * `get` of the same value is answered. memcached and memring in the same run, alternating.
 *
 *   node dist/compat-tests/bench/slow-readers.js [--conns 300] [--seconds 10] [--value-bytes 500000]
 *     [--rounds 1] [--targets memcached,memring] [--memring-args "--conn-output-limit 64k"] [--json FILE]
 *     [--before-bin OTHER/dist/bin/memring.js]   (adds target memring-before: another build, e.g. main)
 *
 * Per target and round: a fresh server (-m 64, -t 1), one item `big` of --value-bytes, then
 * --conns connections that each write 2000 `get big` requests (about 1 GB of replies each)
 * and read nothing, for --seconds. Server RSS is sampled every 200 ms (growth = peak minus
 * the RSS before the slow connections); a normal client sends `get big` every 100 ms and
 * times the whole reply. Goal (issue 15): growth <= 64 MB and every normal get < 50 ms.
 * Numbers depend on what else the machine is doing: compare targets within one run.
 */
import fs from 'node:fs'
import net from 'node:net'
import { machineInfo, rssBytes } from './proc.js'
import { median } from './report.js'
import { startServer, type ServerKind } from './servers.js'
import { arg } from './args.js'

const conns = Number(arg('conns', '300'))
const seconds = Number(arg('seconds', '10'))
const valueBytes = Number(arg('value-bytes', '500000'))
const rounds = Number(arg('rounds', '1'))
const targets = arg('targets', 'memcached,memring').split(',') as ServerKind[]
const memringArgs = arg('memring-args', '').split(' ').filter((s) => s !== '')
const jsonOut = arg('json', '')
const beforeBin = arg('before-bin', '')
type Target = ServerKind | 'memring-before'
if (beforeBin !== '') (targets as Target[]).push('memring-before')

interface Row {
  target: string
  round: number
  rssBeforeMb: number
  rssPeakMb: number
  growthMb: number
  getP50Ms: number
  getMaxMs: number
  gets: number
}

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

async function connect (port: number): Promise<net.Socket> {
  const s = net.connect(port, '127.0.0.1')
  await new Promise<void>((resolve, reject) => { s.once('connect', resolve); s.once('error', reject) })
  s.setNoDelay(true)
  s.on('error', () => {})
  return s
}

/** One request on `s`; resolves once `bytes` reply bytes have arrived, with the elapsed ms. */
async function timed (s: net.Socket, req: Buffer, bytes: number): Promise<number> {
  const t0 = process.hrtime.bigint()
  let got = 0
  await new Promise<void>((resolve) => {
    const on = (d: Buffer): void => { got += d.length; if (got >= bytes) { s.off('data', on); resolve() } }
    s.on('data', on)
    s.write(req)
  })
  return Number(process.hrtime.bigint() - t0) / 1e6
}

async function measure (target: Target, round: number): Promise<Row> {
  const kind: ServerKind = target === 'memring-before' ? 'memring' : target
  const server = await startServer({
    kind, cpu: null, memoryMb: 64, threads: 1, extraArgs: target === 'memring' ? memringArgs : [],
    memringBin: target === 'memring-before' ? beforeBin : undefined,
  })
  const value = Buffer.alloc(valueBytes, 0x61)
  const normal = await connect(server.port)
  const reply = `VALUE big 0 ${valueBytes}\r\n`.length + valueBytes + 2 + 5
  await timed(normal, Buffer.concat([Buffer.from(`set big 0 0 ${valueBytes}\r\n`), value, Buffer.from('\r\n')]), 8)
  await timed(normal, Buffer.from('get big\r\n'), reply) // warm
  await sleep(200)
  const rssBefore = rssBytes(server.pid)
  const slow: net.Socket[] = []
  const gets = Buffer.from('get big\r\n'.repeat(2000))
  for (let i = 0; i < conns; i++) {
    const s = await connect(server.port)
    s.pause() // never reads
    s.write(gets)
    slow.push(s)
  }
  let peak = rssBefore
  const lat: number[] = []
  const end = Date.now() + seconds * 1000
  let nextSample = 0
  while (Date.now() < end) {
    if (Date.now() >= nextSample) { peak = Math.max(peak, rssBytes(server.pid)); nextSample = Date.now() + 200 }
    lat.push(await timed(normal, Buffer.from('get big\r\n'), reply))
    peak = Math.max(peak, rssBytes(server.pid))
    await sleep(100)
  }
  for (const s of slow) s.destroy()
  normal.destroy()
  await server.stop(false)
  const mb = (b: number): number => Math.round(b / 1e5) / 10
  return {
    target,
    round,
    rssBeforeMb: mb(rssBefore),
    rssPeakMb: mb(peak),
    growthMb: mb(peak - rssBefore),
    getP50Ms: Math.round(median(lat) * 10) / 10,
    getMaxMs: Math.round(Math.max(...lat) * 10) / 10,
    gets: lat.length,
  }
}

async function main (): Promise<void> {
  const m = machineInfo()
  console.log(`# slow readers: ${conns} connections x pipelined get of ${valueBytes} B, not reading, ${seconds} s`)
  console.log(`# ${m.cpuModel} x ${m.cpus}, Node ${m.node}, ${m.memcached}, load average ${m.loadAvg.map((x) => x.toFixed(1)).join(' ')}`)
  if (memringArgs.length > 0) console.log(`# memring args: ${memringArgs.join(' ')}`)
  const rows: Row[] = []
  for (let r = 1; r <= rounds; r++) {
    for (const target of targets as Target[]) {
      const row = await measure(target, r)
      rows.push(row)
      console.log(JSON.stringify(row))
    }
  }
  console.log('\n| target | RSS before MB | peak MB | growth MB (goal <= 64) | normal get p50 ms | max ms (goal < 50) | gets |')
  console.log('|---|---:|---:|---:|---:|---:|---:|')
  for (const r of rows) console.log(`| ${r.target} (round ${r.round}) | ${r.rssBeforeMb} | ${r.rssPeakMb} | ${r.growthMb} | ${r.getP50Ms} | ${r.getMaxMs} | ${r.gets} |`)
  if (jsonOut !== '') fs.writeFileSync(jsonOut, JSON.stringify({ machine: m, conns, seconds, valueBytes, memringArgs, rows }, null, 2))
}

main().catch((err) => { console.error(err); process.exit(1) })
