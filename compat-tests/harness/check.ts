// Assertions for compat scripts. A failed check throws CompatFailure with a message
// that shows both sides escaped, so a diff of protocol bytes is readable in a terminal.

export class CompatFailure extends Error {
  override name = 'CompatFailure'
}

/** Thrown by ctx.skip(): the test cannot run on this target (never counts as a failure). */
export class CompatSkip extends Error {
  override name = 'CompatSkip'
}

/** Printable form of protocol bytes: \r \n \0 and non-ASCII escaped, long runs cut. */
export function show (b: Buffer | string, max = 400): string {
  const buf = typeof b === 'string' ? Buffer.from(b, 'latin1') : b
  let out = ''
  const n = Math.min(buf.length, max)
  for (let i = 0; i < n; i++) {
    const c = buf[i]
    if (c === 13) out += '\\r'
    else if (c === 10) out += '\\n'
    else if (c === 0) out += '\\0'
    else if (c === 92) out += '\\\\'
    else if (c < 32 || c > 126) out += '\\x' + c.toString(16).padStart(2, '0')
    else out += String.fromCharCode(c)
  }
  if (buf.length > max) out += `…(+${buf.length - max} bytes)`
  return out
}

export function fail (msg: string): never {
  throw new CompatFailure(msg)
}

export function ok (cond: unknown, msg: string): asserts cond {
  if (!cond) fail(msg)
}

export function eq<T> (actual: T, expected: T, what: string): void {
  if (Buffer.isBuffer(actual) && Buffer.isBuffer(expected)) {
    if (!actual.equals(expected)) fail(`${what}: expected "${show(expected)}", got "${show(actual)}"`)
    return
  }
  if (actual !== expected) fail(`${what}: expected ${fmt(expected)}, got ${fmt(actual)}`)
}

export function deepEq (actual: unknown, expected: unknown, what: string): void {
  const a = JSON.stringify(actual)
  const e = JSON.stringify(expected)
  if (a !== e) fail(`${what}: expected ${e}, got ${a}`)
}

function fmt (v: unknown): string {
  if (typeof v === 'string') return `"${show(v)}"`
  if (typeof v === 'bigint') return `${v}n`
  return String(v)
}
