// lib/proxy/value-blocks.ts
/**
 * VALUE blocks of a text retrieval reply (`VALUE <key> <flags> <bytes> [<cas>]\r\n<data>\r\n`),
 * as Forward hands them over (one Buffer per block, the END line its own piece): the
 * key of a block, and blocks put back in the order a multi-get asked for the keys.
 * Used when a reply is assembled from several backend replies (split multi-gets,
 * warm-up re-reads).
 */

/** The key of a VALUE block (latin1), or null when `p` is not one. */
export function valueBlockKey (p: Buffer): string | null {
  if (p[0] !== 0x56 || p[1] !== 0x41) return null // not "VALUE "
  const ke = p.indexOf(0x20, 6)
  return ke < 0 ? null : p.toString('latin1', 6, ke)
}

const END = Buffer.from('END\r\n')
export function isEnd (p: Buffer): boolean { return p.equals(END) }

/**
 * The blocks for `keys` in key order: a key asked twice gets its blocks in turn (the
 * last one again when there are fewer), a key without a block is left out.
 */
export function inKeyOrder (blocks: Iterable<Buffer>, keys: readonly Buffer[]): Buffer[] {
  const byKey = new Map<string, Buffer[]>()
  for (const p of blocks) {
    const k = valueBlockKey(p)
    if (k === null) continue
    let list = byKey.get(k)
    if (list === undefined) byKey.set(k, list = [])
    list.push(p)
  }
  const out: Buffer[] = []
  const used = new Map<string, number>()
  for (const key of keys) {
    const k = key.toString('latin1')
    const list = byKey.get(k)
    if (list === undefined) continue
    const n = used.get(k) ?? 0
    out.push(list[n] ?? list[list.length - 1]!)
    used.set(k, n + 1)
  }
  return out
}
