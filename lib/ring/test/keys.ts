/**
 * Deterministic test keys (not a test file). A seeded xorshift PRNG, so a failure
 * names a seed and replays. Keys are valid memcached text-protocol keys: no control
 * bytes, no spaces, at most 250 bytes.
 */

export function prng (seed: number): () => number {
  let x = (seed | 0) || 0x9e3779b9
  return () => {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    return (x >>> 0) / 0x100000000
  }
}

const NON_ASCII = ['é', 'ü', 'ß', 'ø', 'Ω', 'ж', '中', '文', '😀']

/**
 * n distinct keys: a third "user:<i>"-style, a third random printable ASCII of 1..250
 * bytes, a third with non-ASCII characters (bytes >= 0x80 in UTF-8) and some `{tags}`.
 */
export function makeKeys (n: number, seed: number, prefix = ''): string[] {
  const rnd = prng(seed)
  const out = new Set<string>()
  let i = 0
  while (out.size < n) {
    let k: string
    switch (i % 3) {
      case 0:
        k = `${prefix}user:${i}`
        break
      case 1: {
        const len = 1 + Math.floor(rnd() * (rnd() < 0.8 ? 40 : 240))
        let s = prefix
        for (let j = 0; j < len && s.length < 250; j++) s += String.fromCharCode(0x21 + Math.floor(rnd() * 94))
        k = s
        break
      }
      default: {
        let s = prefix + (rnd() < 0.5 ? `{tag${Math.floor(rnd() * 50)}}` : '')
        const len = 1 + Math.floor(rnd() * 20)
        for (let j = 0; j < len; j++) {
          s += rnd() < 0.4 ? NON_ASCII[Math.floor(rnd() * NON_ASCII.length)] : String.fromCharCode(0x21 + Math.floor(rnd() * 94))
        }
        k = Buffer.byteLength(s) <= 250 ? s : `${prefix}long:${i}`
      }
    }
    i++
    out.add(k)
  }
  return [...out]
}
