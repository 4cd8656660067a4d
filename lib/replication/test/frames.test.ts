// The stream's framing: every frame survives any split of the byte stream, HELLO round-trips,
// a frame announcing more than MAX_FRAME breaks the stream instead of allocating it.
import t from 'tap'
import {
  F, FrameReader, MAX_FRAME, SyncMode, decodeHello, encodeAck, encodeError, encodeHello, encodePing, encodeSnapEnd,
  readU32, readU64, writeHeader, writeU32,
} from '../frames.js'

function frames (r: FrameReader): Array<{ type: number, payload: string }> {
  const out: Array<{ type: number, payload: string }> = []
  while (r.next()) out.push({ type: r.type, payload: r.buf.toString('hex', r.start, r.end) })
  return out
}

t.test('frames survive every split point, byte by byte and whole', async (t) => {
  const hello = encodeHello({
    mode: SyncMode.Full, seq: 2 ** 40 + 7, syncId: '00ff00ff00ff00ff', cursor: 5, total: 9, flushAt: 1_800_000_000,
    flushCas: 2 ** 35, epoch: 4_000_000_007, history: [{ id: '0123456789abcdef', start: 1 }, { id: 'fedcba9876543210', start: 1000 }],
  })
  const big = Buffer.alloc(5 + 70000, 0x61)
  writeHeader(big, 0, F.Item, 70000)
  const stream = Buffer.concat([hello, encodePing(42, 3), big, encodeAck(7, 1), encodeSnapEnd(99), encodeError('bye'), encodeSnapEnd(0)])
  const whole = frames((() => { const r = new FrameReader(); r.push(stream); return r })())
  t.same(whole.map((f) => f.type), [F.Hello, F.Ping, F.Item, F.Ack, F.SnapEnd, F.Error, F.SnapEnd])
  for (const cut of [1, 2, 3, 4, 5, 6, hello.length - 1, hello.length + 3, hello.length + 17 + 5, stream.length - 2]) {
    const r = new FrameReader()
    const got: Array<{ type: number, payload: string }> = []
    for (const part of [stream.subarray(0, cut), stream.subarray(cut)]) { r.push(part); got.push(...frames(r)) }
    t.same(got, whole, `split at ${cut}`)
  }
  const r = new FrameReader()
  const got: Array<{ type: number, payload: string }> = []
  for (let i = 0; i < stream.length; i++) { r.push(stream.subarray(i, i + 1)); got.push(...frames(r)) }
  t.same(got, whole, 'one byte at a time')
  const h = decodeHello(Buffer.from(whole[0].payload, 'hex'), 0, whole[0].payload.length / 2)
  t.same(h, {
    mode: SyncMode.Full, seq: 2 ** 40 + 7, syncId: '00ff00ff00ff00ff', cursor: 5, total: 9, flushAt: 1_800_000_000,
    flushCas: 2 ** 35, epoch: 4_000_000_007, history: [{ id: '0123456789abcdef', start: 1 }, { id: 'fedcba9876543210', start: 1000 }],
  })
  const ping = Buffer.from(whole[1].payload, 'hex')
  t.equal(readU64(ping, 0), 42)
  t.equal(readU32(ping, 8), 3)
})

t.test('a frame longer than MAX_FRAME breaks the reader, it allocates nothing', async (t) => {
  const b = Buffer.alloc(5)
  b[0] = F.Item
  writeU32(b, 1, MAX_FRAME + 1)
  const r = new FrameReader()
  r.push(b)
  t.equal(r.next(), false)
  t.equal(r.broken, true)
  t.equal(decodeHello(Buffer.alloc(10), 0, 10), null, 'a short hello is refused')
})
