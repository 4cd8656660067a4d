/**
 * Long pipelines: thousands of replies for one input chunk, on two connections at once, so
 * the shared staging chunk of Output fills and rolls over many times mid-batch. Every reply
 * must be a well-formed packet with the right opaque, status and body.
 * (Regression: a reply header written into the old staging chunk after reserving space in
 * a new one went out as uninitialised bytes; memaslap -B found it.)
 */
import t from 'tap'
import net from 'node:net'
import { startServer } from '../../testing/servers.js'
import { Opcode as O } from '../../../protocol/binary/opcodes.js'
import { counterExtras, encodeRequest, storeExtras } from '../../../protocol/binary/request-encoder.js'
import { BinaryResponseParser, type BinaryResponse } from '../../../protocol/binary/response-parser.js'

function pipeline (port: number, script: Buffer, expect: number): Promise<BinaryResponse[]> {
  return new Promise((resolve, reject) => {
    const got: BinaryResponse[] = []
    const timer = setTimeout(() => { s.destroy(); reject(new Error(`only ${got.length} of ${expect} well-framed replies within 20 s`)) }, 20000)
    const s = net.connect({ host: '127.0.0.1', port }, () => s.write(script))
    const p = new BinaryResponseParser((r) => { got.push(r); if (got.length === expect) { clearTimeout(timer); s.destroy(); resolve(got) } })
    s.on('data', (d) => p.push(d))
    s.on('error', reject)
    s.on('close', () => { if (got.length !== expect) reject(new Error(`closed after ${got.length} of ${expect} replies`)) })
  })
}

t.test('20 000 replies per chunk on two connections are all well formed', async (t) => {
  const server = await startServer(t)
  const N = 4000
  const build = (tag: string): Buffer => {
    const parts: Buffer[] = []
    for (let i = 0; i < N; i++) {
      const key = `${tag}${i}`
      parts.push(encodeRequest({ opcode: O.Set, key, extras: storeExtras(i, 0), value: `v${i}`, opaque: 5 * i }))
      parts.push(encodeRequest({ opcode: O.GetK, key, opaque: 5 * i + 1 }))
      parts.push(encodeRequest({ opcode: O.Increment, key: `${tag}n`, extras: counterExtras(1n, 0n, 0), opaque: 5 * i + 2 }))
      parts.push(encodeRequest({ opcode: O.Get, key: `${tag}missing`, opaque: 5 * i + 3 }))
      parts.push(encodeRequest({ opcode: O.Version, opaque: 5 * i + 4 }))
    }
    return Buffer.concat(parts)
  }
  const [a, b] = await Promise.all([pipeline(server.port, build('a'), 5 * N), pipeline(server.port, build('b'), 5 * N)])
  for (const [tag, got] of [['a', a], ['b', b]] as const) {
    let bad = ''
    for (let i = 0; i < N && bad === ''; i++) {
      const [set, getk, incr, miss, ver] = got.slice(5 * i, 5 * i + 5)
      if (set.magic !== 0x81 || set.opcode !== O.Set || set.status !== 0 || set.opaque !== 5 * i || set.bodylen !== 0) bad = `set ${i}`
      else if (getk.opaque !== 5 * i + 1 || getk.key.toString() !== `${tag}${i}` || getk.value.toString() !== `v${i}` || getk.extras.readUInt32BE(0) !== i) bad = `getk ${i}`
      else if (incr.opaque !== 5 * i + 2 || incr.value.readBigUInt64BE(0) !== BigInt(i)) bad = `incr ${i}`
      else if (miss.opaque !== 5 * i + 3 || miss.status !== 1 || miss.value.toString() !== 'Not found') bad = `miss ${i}`
      else if (ver.opaque !== 5 * i + 4 || ver.value.toString() !== '1.6.18') bad = `version ${i}`
    }
    t.equal(bad, '', `connection ${tag}: every one of ${5 * N} replies is right`)
  }
})
