/**
 * Starts memring for the meta tests: a real server on a loopback port 0, in-process.
 * Until the server core lands this reports itself not ready and the memring half of the
 * differential suite is skipped (the memcached half still runs).
 */
import type { Target } from './meta-harness.js'

export function memringReady (): boolean {
  return false
}

export async function startMemring (): Promise<Target> {
  throw new Error('memring server core not available yet')
}
