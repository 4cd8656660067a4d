/**
 * prom-client metrics whose values are read at scrape time (a `collect` callback), so the
 * request path pays nothing for them: the counters they report already exist (the
 * server's `stats`, the proxy's counters). One scrape reads each source once (perScrape).
 */
import { Counter, Gauge, type Registry } from 'prom-client'

/** Emits one sample: labels (in labelNames order) and a value. */
export type Emit = (value: number, ...labels: string[]) => void

export type MetricKind = 'counter' | 'gauge'

/** Registers a metric filled by `fill` on every scrape. Counters take the source's running total. */
export function defineMetric (reg: Registry, kind: MetricKind, name: string, help: string, labelNames: string[], fill: (emit: Emit) => void): void {
  const toLabels = (values: string[]): Record<string, string> => {
    const o: Record<string, string> = {}
    for (let i = 0; i < labelNames.length; i++) o[labelNames[i]!] = values[i] ?? ''
    return o
  }
  if (kind === 'counter') {
    // eslint-disable-next-line no-new
    new Counter({
      name, help, labelNames, registers: [reg],
      collect () {
        this.reset()
        fill((v, ...l) => { if (Number.isFinite(v)) this.inc(toLabels(l), Math.max(0, v)) })
      },
    })
  } else {
    // eslint-disable-next-line no-new
    new Gauge({
      name, help, labelNames, registers: [reg],
      collect () {
        this.reset()
        fill((v, ...l) => { if (Number.isFinite(v)) this.set(toLabels(l), v) })
      },
    })
  }
}

/**
 * `fn` computed at most once per scrape: a scrape collects every metric in one turn of the
 * event loop, so the value is kept until the next turn (setImmediate), then dropped.
 */
export function perScrape<T> (fn: () => T): () => T {
  let cached: { v: T } | null = null
  return () => {
    if (cached === null) {
      cached = { v: fn() }
      setImmediate(() => { cached = null })
    }
    return cached.v
  }
}
