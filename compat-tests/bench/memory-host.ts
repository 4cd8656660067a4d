// memring in this very process, so the memory benchmark can time full GCs with the items
// resident: forked by memory.ts with --expose-gc and an IPC channel.
//
//   parent -> {cmd: 'measure'}  : reply {cmd: 'measured', ...} (RSS, heap, full-GC pauses)
//   parent -> {cmd: 'stop'}     : close the server and exit
//   child  -> {cmd: 'ready', port, pid} once listening
//
// The load comes over TCP from the parent process, never from this one, so the event loop
// here serves requests exactly as bin/memring's does.

import { PerformanceObserver, performance } from 'node:perf_hooks'
import { serverSettings } from '../../lib/app/config.js'
import { startServerApp } from '../../lib/app/server-app.js'

export interface Measured {
  cmd: 'measured'
  rssBeforeGc: number
  rssAfterGc: number
  heapUsedAfterGc: number
  externalAfterGc: number
  arrayBuffersAfterGc: number
  /** Wall time of each of ten forced full GCs (global.gc()), milliseconds. */
  fullGcMs: number[]
  /** GCs V8 ran by itself since start (perf_hooks 'gc' entries): count and longest pause. */
  gcCount: number
  gcMaxMs: number
  gcTotalMs: number
}

const gc = (globalThis as { gc?: () => void }).gc
if (gc === undefined || process.send === undefined) {
  process.stderr.write('memory-host: run me through memory.js (needs --expose-gc and an IPC channel)\n')
  process.exit(2)
}
const send = (m: unknown): void => { process.send?.(m) }

let gcCount = 0
let gcMaxMs = 0
let gcTotalMs = 0
const obs = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gcCount++
    gcTotalMs += e.duration
    if (e.duration > gcMaxMs) gcMaxMs = e.duration
  }
})
obs.observe({ entryTypes: ['gc'] })

const memoryMb = process.argv[2] ?? '1024'
const app = await startServerApp({ settings: serverSettings({ port: '0', listen: ['127.0.0.1'], memoryLimit: memoryMb }) })
send({ cmd: 'ready', port: app.server.port, pid: process.pid })

process.on('message', (m: { cmd: string }) => {
  if (m.cmd === 'measure') {
    const rssBeforeGc = process.memoryUsage().rss
    const fullGcMs: number[] = []
    for (let i = 0; i < 10; i++) {
      const t0 = performance.now()
      gc()
      fullGcMs.push(performance.now() - t0)
    }
    const mu = process.memoryUsage()
    const reply: Measured = {
      cmd: 'measured',
      rssBeforeGc,
      rssAfterGc: mu.rss,
      heapUsedAfterGc: mu.heapUsed,
      externalAfterGc: mu.external,
      arrayBuffersAfterGc: mu.arrayBuffers,
      fullGcMs,
      gcCount,
      gcMaxMs,
      gcTotalMs,
    }
    send(reply)
  } else if (m.cmd === 'stop') {
    obs.disconnect()
    void app.close(500).then(() => process.exit(0))
  }
})
