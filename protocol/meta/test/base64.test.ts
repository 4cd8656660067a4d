import t from 'tap'
import { decodeBase64, decodedLengthMax, encodeBase64, encodedLength } from '../base64.js'

const dec = (s: string): number[] | null => {
  const src = Buffer.from(s, 'latin1')
  const dst = new Uint8Array(decodedLengthMax(src.length) + 3)
  const n = decodeBase64(src, 0, src.length, dst, 0)
  return n === 0 ? null : [...dst.subarray(0, n)]
}
const enc = (bytes: number[]): string => {
  const src = Uint8Array.from(bytes)
  const dst = Buffer.alloc(encodedLength(src.length))
  const end = encodeBase64(src, 0, src.length, dst, 0)
  return dst.subarray(0, end).toString('latin1')
}

t.test('round trips every length 1..64 of random bytes and agrees with Node', async (t) => {
  for (let n = 1; n <= 64; n++) {
    const bytes = Array.from({ length: n }, (_, i) => (i * 97 + n * 31) & 0xff)
    const e = enc(bytes)
    t.equal(e, Buffer.from(bytes).toString('base64'), `encode ${n}`)
    t.same(dec(e), bytes, `decode ${n}`)
  }
})

t.test('decoding is as loose as memcached 1.6.18: skips strange bytes, stops at the first padded group', async (t) => {
  t.same(dec('Zm9v'), [102, 111, 111])
  t.same(dec('Zm 9v'), [102, 111, 111], 'a byte outside the alphabet is skipped')
  t.same(dec('Zm9v!'), [102, 111, 111])
  t.same(dec('Zg=='), [102])
  t.same(dec('Zm8='), [102, 111])
  t.same(dec('Zg==Zm9v'), [102], 'bytes after the first padded group are ignored')
  t.same(dec('Z==='), null, 'three pads are invalid')
  t.same(dec('===='), null)
  t.same(dec('Zm9'), null, 'not a multiple of four')
  t.same(dec(''), null, 'empty')
  t.same(dec('!!!!'), null, 'nothing from the alphabet')
  t.same(dec('Z=g='), [100], 'a pad mid-group counts as a zero digit')
})

t.test('decoding in place over its own source works (the output never overtakes the input)', async (t) => {
  const b = Buffer.from('AAEC/w==')
  const n = decodeBase64(b, 0, b.length, b, 0)
  t.same([...b.subarray(0, n)], [0, 1, 2, 255])
})
