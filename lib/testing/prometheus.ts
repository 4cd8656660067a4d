/**
 * A REAL Prometheus (Debian's `prometheus` package, installed by scripts/setup.sh) for the
 * metrics tests: the binary run directly with a temp config, its own TSDB directory and a
 * free loopback port, so the package's service (if any) and port 9090 play no part.
 * Scrapes every `interval` seconds; query() is the HTTP API's instant query.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { freePort, type Teardown } from './zookeeper.js'
import { waitFor } from './wait-for.js'

export const PROMETHEUS_BIN = '/usr/bin/prometheus'

export function prometheusAvailable (): boolean {
  return spawnSync(PROMETHEUS_BIN, ['--version'], { stdio: 'ignore' }).status === 0
}

export interface PromSample { labels: Record<string, string>, value: number }

export class PrometheusServer {
  constructor (readonly port: number, private readonly proc: ChildProcess, public log: string) {}

  /** Instant query: the samples of `expr` now. */
  async query (expr: string): Promise<PromSample[]> {
    const res = await fetch(`http://127.0.0.1:${this.port}/api/v1/query?query=${encodeURIComponent(expr)}`)
    const body = await res.json() as { status: string, error?: string, data: { result: Array<{ metric: Record<string, string>, value: [number, string] }> } }
    if (body.status !== 'success') throw new Error(`prometheus query ${expr}: ${body.error ?? body.status}`)
    return body.data.result.map((r) => ({ labels: r.metric, value: Number(r.value[1]) }))
  }

  /** The scrape targets' health as Prometheus reports it (job -> 'up' | 'down' | 'unknown'). */
  async targets (): Promise<Array<{ job: string, health: string, lastError: string }>> {
    const res = await fetch(`http://127.0.0.1:${this.port}/api/v1/targets`)
    const body = await res.json() as { data: { activeTargets: Array<{ labels: Record<string, string>, health: string, lastError: string }> } }
    return body.data.activeTargets.map((t) => ({ job: t.labels.job ?? '', health: t.health, lastError: t.lastError }))
  }

  stop (): void { this.proc.kill('SIGKILL') }
}

/** Starts Prometheus scraping `jobs` (job name -> "host:port" of a /metrics endpoint). */
export async function startPrometheus (t: Teardown, jobs: Record<string, string>, intervalSec = 1): Promise<PrometheusServer> {
  const dir = mkdtempSync(path.join(tmpdir(), 'memring-prom-'))
  const cfg = path.join(dir, 'prometheus.yml')
  const scrape = Object.entries(jobs).map(([job, target]) =>
    `  - job_name: ${job}\n    scrape_interval: ${intervalSec}s\n    scrape_timeout: ${intervalSec}s\n    static_configs:\n      - targets: ['${target}']\n`).join('')
  writeFileSync(cfg, `global:\n  scrape_interval: ${intervalSec}s\nscrape_configs:\n${scrape}`)
  const port = await freePort()
  const proc = spawn(PROMETHEUS_BIN, [
    `--config.file=${cfg}`, `--web.listen-address=127.0.0.1:${port}`, `--storage.tsdb.path=${path.join(dir, 'data')}`,
    '--log.level=warn',
  ], { stdio: ['ignore', 'ignore', 'pipe'] })
  const server = new PrometheusServer(port, proc, '')
  proc.stderr!.on('data', (b: Buffer) => { if (server.log.length < 20000) server.log += b.toString() })
  t.teardown(() => { proc.kill('SIGKILL'); rmSync(dir, { recursive: true, force: true }) })
  await waitFor(async () => {
    if (proc.exitCode !== null) throw new Error(`prometheus exited ${proc.exitCode}: ${server.log}`)
    try { return (await fetch(`http://127.0.0.1:${port}/-/ready`)).ok } catch { return false }
  }, { timeoutMs: 30_000, intervalMs: 100, what: 'prometheus ready' })
  return server
}
