// lib/testing/wait-for.ts
/**
 * Poll a condition with a deadline instead of sleeping for an effect (STYLE §13.1).
 * Resolves with the first truthy value of `cond`; rejects with `what` after timeoutMs.
 */
export interface WaitForOptions { timeoutMs?: number, intervalMs?: number, what?: string }

export async function waitFor<T> (cond: () => T | Promise<T>, opts: WaitForOptions = {}): Promise<NonNullable<T>> {
  const timeoutMs = opts.timeoutMs ?? 5000
  const intervalMs = opts.intervalMs ?? 20
  const deadline = Date.now() + timeoutMs
  let lastErr: unknown = null
  for (;;) {
    try {
      const v = await cond()
      if (v !== null && v !== undefined && v !== false && v !== 0 && v !== '') return v as NonNullable<T>
    } catch (err) { lastErr = err }
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${opts.what ?? 'a condition'}` +
        (lastErr === null ? '' : ` (last error: ${String(lastErr)})`), { cause: lastErr })
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs))
  }
}
