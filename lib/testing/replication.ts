// lib/testing/replication.ts
/**
 * Helpers for replication tests over real TCP: a seeded mixed write load that uses every
 * command kind in the text, meta and binary protocols, a digest of a server's items over
 * a key set (value, flags, CAS, TTL via `mg`), and `stats <group>` as a map.
 * Test-only code: unstable API.
 */
import net from 'node:net'
import { RawClient } from './raw-client.js'
import { rng } from './seeds.js'

async function connect (port: number): Promise<RawClient> {
  const socket = net.connect(port, '127.0.0.1')
  await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) })
  return new RawClient(socket)
}

/** `stats <group>` (or general) as name -> value. */
export async function stats (port: number, group = ''): Promise<Record<string, string>> {
  const c = await connect(port)
  try {
    c.write(group === '' ? 'stats\r\n' : `stats ${group}\r\n`)
    const text = await c.until('END\r\n', 10_000)
    const out: Record<string, string> = {}
    for (const line of text.split('\r\n')) {
      const m = /^STAT (\S+) ?(.*)$/.exec(line)
      if (m !== null) out[m[1]] = m[2]
    }
    return out
  } finally { c.end() }
}

export interface ItemView { value: string, flags: number, cas: number, ttl: number }

/** Every key's item as `mg <key> v f c t` shows it (missing keys are absent). */
export async function digest (port: number, keys: Iterable<string>): Promise<Map<string, ItemView>> {
  const c = await connect(port)
  const out = new Map<string, ItemView>()
  try {
    const list = [...keys]
    for (let i = 0; i < list.length; i += 200) {
      const batch = list.slice(i, i + 200)
      c.write(batch.map((k) => `mg ${k} v f c t k\r\n`).join('') + 'mn\r\n')
      for (;;) {
        const line = (await c.until('\r\n', 10_000)).slice(0, -2)
        if (line === 'MN') break
        if (line.startsWith('EN')) continue
        const m = /^VA (\d+) (.*)$/.exec(line)
        if (m === null) throw new Error(`digest: unexpected line ${JSON.stringify(line)}`)
        const value = (await c.bytes(Number(m[1]) + 2, 10_000)).subarray(0, -2).toString('latin1')
        const f: Record<string, string> = {}
        for (const tok of m[2].split(' ')) f[tok[0]] = tok.slice(1)
        out.set(f.k, { value, flags: Number(f.f), cas: Number(f.c), ttl: Number(f.t) })
      }
    }
    return out
  } finally { c.end() }
}

/** Differences between two digests (TTLs may differ by `ttlSlack` seconds); [] when equal. */
export function compareDigests (a: Map<string, ItemView>, b: Map<string, ItemView>, ttlSlack = 1): string[] {
  const diffs: string[] = []
  for (const [k, x] of a) {
    const y = b.get(k)
    if (y === undefined) { diffs.push(`${k}: only on the first`); continue }
    if (x.value !== y.value) diffs.push(`${k}: value ${JSON.stringify(x.value.slice(0, 40))} != ${JSON.stringify(y.value.slice(0, 40))}`)
    if (x.flags !== y.flags) diffs.push(`${k}: flags ${x.flags} != ${y.flags}`)
    if (x.cas !== y.cas) diffs.push(`${k}: cas ${x.cas} != ${y.cas}`)
    const ttlOk = x.ttl === y.ttl || (x.ttl >= 0 && y.ttl >= 0 && Math.abs(x.ttl - y.ttl) <= ttlSlack)
    if (!ttlOk) diffs.push(`${k}: ttl ${x.ttl} != ${y.ttl}`)
  }
  for (const k of b.keys()) if (!a.has(k)) diffs.push(`${k}: only on the second`)
  return diffs
}

const EMPTY = Buffer.alloc(0)

/** Binary request frame (protocol_binary.h layout). */
export function bin (opcode: number, key: string, extras: Buffer = EMPTY, value: Buffer = EMPTY, opaque = 0, cas = 0n): Buffer {
  const k = Buffer.from(key, 'latin1')
  const h = Buffer.alloc(24)
  h[0] = 0x80; h[1] = opcode
  h.writeUInt16BE(k.length, 2)
  h[4] = extras.length
  h.writeUInt32BE(extras.length + k.length + value.length, 8)
  h.writeUInt32BE(opaque, 12)
  h.writeBigUInt64BE(cas, 16)
  return Buffer.concat([h, extras, k, value])
}

function ext (...words: Array<[number, number | bigint]>): Buffer {
  const parts = words.map(([size, v]) => {
    const b = Buffer.alloc(size)
    if (size === 8) b.writeBigUInt64BE(BigInt(v)); else b.writeUInt32BE(Number(v))
    return b
  })
  return Buffer.concat(parts)
}

export interface LoadOptions {
  seed: number
  /** Operations in all. */
  ops: number
  /** Keys are k0..k(keys-1) (values) and n0..n(keys/10) (counters). */
  keys?: number
  /** Value sizes up to this many bytes. */
  maxValue?: number
  /** Stop early when this returns true (checked between batches). */
  stop?: () => boolean
}

/**
 * Sends a mixed write load to a master: text (set add replace append prepend cas incr
 * decr touch gat gats delete), meta (ms with every mode, md, md I, ma, mg T, mg N) and
 * binary (set add replace append prepend delete incr decr touch gat), pipelined in batches
 * on three connections. Returns the keys it may have written.
 */
export async function mixedLoad (port: number, o: LoadOptions): Promise<Set<string>> {
  const r = rng(o.seed)
  const nkeys = o.keys ?? 500
  const maxValue = o.maxValue ?? 300
  const keys = new Set<string>()
  const text = await connect(port)
  const binc = await connect(port)
  try {
    const pick = (n: number): number => Math.floor(r() * n)
    const key = (): string => { const k = `k${pick(nkeys)}`; keys.add(k); return k }
    const counter = (): string => { const k = `n${pick(Math.max(1, nkeys / 10))}`; keys.add(k); return k }
    const value = (): string => {
      const n = pick(maxValue) + 1
      let s = ''
      while (s.length < n) s += Math.floor(r() * 1e9).toString(36)
      return s.slice(0, n)
    }
    const ttl = (): number => { const x = r(); return x < 0.5 ? 0 : x < 0.8 ? 300 + pick(3000) : Math.floor(Date.now() / 1000) + 1000 + pick(5000) }
    let done = 0
    while (done < o.ops && !(o.stop?.() ?? false)) {
      const batch = Math.min(100, o.ops - done)
      let t = ''
      const b: Buffer[] = []
      for (let i = 0; i < batch; i++) {
        const x = pick(30)
        const v = value()
        switch (x) {
          case 0: case 1: case 2: case 3: t += `set ${key()} ${pick(65536)} ${ttl()} ${v.length}\r\n${v}\r\n`; break
          case 4: t += `add ${key()} ${pick(100)} ${ttl()} ${v.length}\r\n${v}\r\n`; break
          case 5: t += `replace ${key()} 7 ${ttl()} ${v.length}\r\n${v}\r\n`; break
          case 6: t += `append ${key()} 0 0 ${v.length}\r\n${v}\r\n`; break
          case 7: t += `prepend ${key()} 0 0 ${v.length}\r\n${v}\r\n`; break
          case 8: { const n = String(pick(100000)); t += `set ${counter()} 3 ${ttl()} ${n.length}\r\n${n}\r\n`; break }
          case 9: t += `incr ${counter()} ${pick(1000)}\r\n`; break
          case 10: t += `decr ${counter()} ${pick(100)}\r\n`; break
          case 11: t += `touch ${key()} ${ttl()}\r\n`; break
          case 12: t += `gat ${ttl()} ${key()} ${key()}\r\n`; break
          case 13: t += `delete ${key()}\r\n`; break
          case 14: t += `ms ${key()} ${v.length} F${pick(1000)} T${ttl()}\r\n${v}\r\n`; break
          case 15: t += `ms ${key()} ${v.length} M${'EAPRS'[pick(5)]}\r\n${v}\r\n`; break
          case 16: t += `md ${key()} q\r\n`; break
          case 17: t += `md ${key()} I T30\r\n`; break
          case 18: t += `ma ${counter()} D${pick(1000)} M${pick(2) === 0 ? 'I' : 'D'}\r\n`; break
          case 19: t += `ma ${counter()} N${ttl()} J${pick(100)}\r\n`; break
          case 20: t += `mg ${key()} T${ttl()} v\r\n`; break
          case 21: t += `mg ${key()} N${ttl()} s\r\n`; break
          case 22: b.push(bin(0x01, key(), ext([4, pick(1 << 30)], [4, ttl()]), Buffer.from(v))); break // set
          case 23: b.push(bin(0x02, key(), ext([4, 9], [4, ttl()]), Buffer.from(v))); break // add
          case 24: b.push(bin(0x03, key(), ext([4, 11], [4, ttl()]), Buffer.from(v))); break // replace
          case 25: b.push(bin(0x0e, key(), Buffer.alloc(0), Buffer.from(v))); break // append
          case 26: b.push(bin(0x04, key(), Buffer.alloc(0), Buffer.alloc(0))); break // delete
          case 27: b.push(bin(0x05, counter(), ext([8, pick(50)], [8, pick(100)], [4, ttl()]), Buffer.alloc(0))); break // incr
          case 28: b.push(bin(0x1c, key(), ext([4, ttl()]), Buffer.alloc(0))); break // touch
          default: b.push(bin(0x1d, key(), ext([4, ttl()]), Buffer.alloc(0))); break // gat
        }
      }
      // End each batch with a no-op whose reply proves every earlier reply was sent.
      text.write(t + 'mn\r\n')
      b.push(bin(0x0a, '', Buffer.alloc(0), Buffer.alloc(0)))
      binc.write(Buffer.concat(b))
      await text.until('MN\r\n', 20_000)
      await binaryUntilNoop(binc)
      // A successful cas needs the current CAS: one gets + cas round trip per batch.
      const k = key()
      text.write(`gets ${k}\r\n`)
      const got = await text.until('END\r\n', 20_000)
      const m = /^VALUE \S+ \d+ \d+ (\d+)\r\n/.exec(got)
      if (m !== null) {
        const v = value()
        text.write(`cas ${k} 5 ${ttl()} ${v.length} ${m[1]}\r\n${v}\r\n`)
        await text.until('\r\n', 20_000)
      }
      done += batch
    }
    return keys
  } finally {
    text.end()
    binc.end()
  }
}

async function binaryUntilNoop (c: RawClient): Promise<void> {
  for (;;) {
    const h = await c.bytes(24, 20_000)
    const body = h.readUInt32BE(8)
    if (body > 0) await c.bytes(body, 20_000)
    if (h[1] === 0x0a) return
  }
}
