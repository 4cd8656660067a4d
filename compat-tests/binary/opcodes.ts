// Every opcode 0x00..0x25 in six request shapes (no body; key; 4-byte extras + key;
// 8-byte extras + key + value; 20-byte extras + key; key + value), each on a fresh
// connection where "k" holds "5", followed by a NOOP. The responses memcached 1.6.18
// gives, recorded from it and written out here, one "|" per response packet:
//   opcode:status:extras(hex):key:value(JSON):cas(0 or nz)   then NOOP or CLOSED
// (a run of STAT packets with a key is one "<stat lines>").
// Not pinned: VERBOSITY (0x1b), and unknown opcodes that carry extras or a key,
// because 1.6.18 skips their body twice and so eats the next request.

import { CompatFailure } from '../harness/check.js'
import { binReq, readBin, u32, u64, type BinRequest, type BinResponse } from '../harness/bin.js'
import { RawConn } from '../harness/raw.js'
import { suite, test } from '../harness/suite.js'

const SHAPES: Record<string, Omit<BinRequest, 'op'>> = {
  none: {},
  key: { key: 'k' },
  ext4key: { extras: u32(100), key: 'k' },
  ext8keyval: { extras: u32(7, 0), key: 'k', value: 'v' },
  ext20key: { extras: Buffer.concat([u64(1n), u64(0n), u32(0)]), key: 'k' },
  keyval: { key: 'k', value: 'v' },
}

const ROWS: Array<[op: number, shape: string, replies: string]> = [
  [0x00, 'none', "00:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x00, 'key', "00:0:00000000::\"5\":nz | NOOP"],
  [0x00, 'ext4key', "00:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x00, 'ext8keyval', "00:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x00, 'ext20key', "00:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x00, 'keyval', "00:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x01, 'none', "01:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x01, 'key', "01:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x01, 'ext4key', "01:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x01, 'ext8keyval', "01:0:::\"\":nz | NOOP"],
  [0x01, 'ext20key', "01:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x01, 'keyval', "01:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x02, 'none', "02:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x02, 'key', "02:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x02, 'ext4key', "02:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x02, 'ext8keyval', "02:2:::\"Data exists for key.\":0 | NOOP"],
  [0x02, 'ext20key', "02:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x02, 'keyval', "02:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x03, 'none', "03:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x03, 'key', "03:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x03, 'ext4key', "03:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x03, 'ext8keyval', "03:0:::\"\":nz | NOOP"],
  [0x03, 'ext20key', "03:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x03, 'keyval', "03:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x04, 'none', "04:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x04, 'key', "04:0:::\"\":0 | NOOP"],
  [0x04, 'ext4key', "04:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x04, 'ext8keyval', "04:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x04, 'ext20key', "04:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x04, 'keyval', "04:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x05, 'none', "05:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x05, 'key', "05:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x05, 'ext4key', "05:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x05, 'ext8keyval', "05:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x05, 'ext20key', "05:0:::\"\\u0000\\u0000\\u0000\\u0000\\u0000\\u0000\\u0000\\u0006\":nz | NOOP"],
  [0x05, 'keyval', "05:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x06, 'none', "06:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x06, 'key', "06:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x06, 'ext4key', "06:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x06, 'ext8keyval', "06:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x06, 'ext20key', "06:0:::\"\\u0000\\u0000\\u0000\\u0000\\u0000\\u0000\\u0000\\u0004\":nz | NOOP"],
  [0x06, 'keyval', "06:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x07, 'none', "07:0:::\"\":0 | CLOSED"],
  [0x07, 'key', "07:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x07, 'ext4key', "07:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x07, 'ext8keyval', "07:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x07, 'ext20key', "07:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x07, 'keyval', "07:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x08, 'none', "08:0:::\"\":0 | NOOP"],
  [0x08, 'key', "08:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x08, 'ext4key', "08:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x08, 'ext8keyval', "08:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x08, 'ext20key', "08:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x08, 'keyval', "08:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x09, 'none', "09:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x09, 'key', "09:0:00000000::\"5\":nz | NOOP"],
  [0x09, 'ext4key', "09:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x09, 'ext8keyval', "09:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x09, 'ext20key', "09:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x09, 'keyval', "09:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x0a, 'none', "0a:0:::\"\":0 | NOOP"],
  [0x0a, 'key', "0a:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x0a, 'ext4key', "0a:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x0a, 'ext8keyval', "0a:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x0a, 'ext20key', "0a:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x0a, 'keyval', "0a:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x0b, 'none', "0b:0:::<version>:0 | NOOP"],
  [0x0b, 'key', "0b:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x0b, 'ext4key', "0b:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x0b, 'ext8keyval', "0b:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x0b, 'ext20key', "0b:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x0b, 'keyval', "0b:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x0c, 'none', "0c:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x0c, 'key', "0c:0:00000000:k:\"5\":nz | NOOP"],
  [0x0c, 'ext4key', "0c:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x0c, 'ext8keyval', "0c:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x0c, 'ext20key', "0c:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x0c, 'keyval', "0c:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x0d, 'none', "0d:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x0d, 'key', "0d:0:00000000:k:\"5\":nz | NOOP"],
  [0x0d, 'ext4key', "0d:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x0d, 'ext8keyval', "0d:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x0d, 'ext20key', "0d:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x0d, 'keyval', "0d:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x0e, 'none', "0e:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x0e, 'key', "0e:0:::\"\":nz | NOOP"],
  [0x0e, 'ext4key', "0e:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x0e, 'ext8keyval', "0e:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x0e, 'ext20key', "0e:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x0e, 'keyval', "0e:0:::\"\":nz | NOOP"],
  [0x0f, 'none', "0f:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x0f, 'key', "0f:0:::\"\":nz | NOOP"],
  [0x0f, 'ext4key', "0f:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x0f, 'ext8keyval', "0f:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x0f, 'ext20key', "0f:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x0f, 'keyval', "0f:0:::\"\":nz | NOOP"],
  [0x10, 'none', "<stat lines> | 10:0:::\"\":0 | NOOP"],
  [0x10, 'key', "10:1:::\"Not found\":0 | NOOP"],
  [0x10, 'ext4key', "10:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x10, 'ext8keyval', "10:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x10, 'ext20key', "10:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x10, 'keyval', "10:1:::\"Not found\":0 | CLOSED"],
  [0x11, 'none', "11:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x11, 'key', "11:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x11, 'ext4key', "11:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x11, 'ext8keyval', "NOOP"],
  [0x11, 'ext20key', "11:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x11, 'keyval', "11:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x12, 'none', "12:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x12, 'key', "12:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x12, 'ext4key', "12:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x12, 'ext8keyval', "12:2:::\"Data exists for key.\":0 | NOOP"],
  [0x12, 'ext20key', "12:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x12, 'keyval', "12:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x13, 'none', "13:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x13, 'key', "13:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x13, 'ext4key', "13:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x13, 'ext8keyval', "NOOP"],
  [0x13, 'ext20key', "13:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x13, 'keyval', "13:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x14, 'none', "14:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x14, 'key', "NOOP"],
  [0x14, 'ext4key', "14:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x14, 'ext8keyval', "14:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x14, 'ext20key', "14:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x14, 'keyval', "14:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x15, 'none', "15:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x15, 'key', "15:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x15, 'ext4key', "15:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x15, 'ext8keyval', "15:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x15, 'ext20key', "NOOP"],
  [0x15, 'keyval', "15:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x16, 'none', "16:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x16, 'key', "16:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x16, 'ext4key', "16:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x16, 'ext8keyval', "16:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x16, 'ext20key', "NOOP"],
  [0x16, 'keyval', "16:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x17, 'none', "CLOSED"],
  [0x17, 'key', "17:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x17, 'ext4key', "17:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x17, 'ext8keyval', "17:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x17, 'ext20key', "17:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x17, 'keyval', "17:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x18, 'none', "NOOP"],
  [0x18, 'key', "18:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x18, 'ext4key', "18:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x18, 'ext8keyval', "18:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x18, 'ext20key', "18:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x18, 'keyval', "18:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x19, 'none', "19:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x19, 'key', "NOOP"],
  [0x19, 'ext4key', "19:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x19, 'ext8keyval', "19:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x19, 'ext20key', "19:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x19, 'keyval', "NOOP"],
  [0x1a, 'none', "1a:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x1a, 'key', "NOOP"],
  [0x1a, 'ext4key', "1a:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x1a, 'ext8keyval', "1a:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x1a, 'ext20key', "1a:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x1a, 'keyval', "NOOP"],
  [0x1c, 'none', "1c:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x1c, 'key', "1c:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x1c, 'ext4key', "1c:0:00000000::\"\":nz | NOOP"],
  [0x1c, 'ext8keyval', "1c:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x1c, 'ext20key', "1c:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x1c, 'keyval', "1c:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x1d, 'none', "1d:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x1d, 'key', "1d:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x1d, 'ext4key', "1d:0:00000000::\"5\":nz | NOOP"],
  [0x1d, 'ext8keyval', "1d:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x1d, 'ext20key', "1d:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x1d, 'keyval', "1d:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x1e, 'none', "1e:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x1e, 'key', "1e:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x1e, 'ext4key', "1e:0:00000000::\"5\":nz | NOOP"],
  [0x1e, 'ext8keyval', "1e:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x1e, 'ext20key', "1e:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x1e, 'keyval', "1e:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x1f, 'none', "1f:81:::\"Unknown command\":0 | NOOP"],
  [0x20, 'none', "20:81:::\"Unknown command\":0 | NOOP"],
  [0x20, 'key', "20:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x20, 'ext4key', "20:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x20, 'ext8keyval', "20:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x20, 'ext20key', "20:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x20, 'keyval', "20:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x21, 'none', "21:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x21, 'key', "21:81:::\"Unknown command\":0 | NOOP"],
  [0x21, 'ext4key', "21:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x21, 'ext8keyval', "21:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x21, 'ext20key', "21:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x21, 'keyval', "21:81:::\"Unknown command\":0 | NOOP"],
  [0x22, 'none', "22:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x22, 'key', "22:81:::\"Unknown command\":0 | NOOP"],
  [0x22, 'ext4key', "22:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x22, 'ext8keyval', "22:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x22, 'ext20key', "22:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x22, 'keyval', "22:81:::\"Unknown command\":0 | NOOP"],
  [0x23, 'none', "23:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x23, 'key', "23:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x23, 'ext4key', "23:0:00000000:k:\"5\":nz | NOOP"],
  [0x23, 'ext8keyval', "23:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x23, 'ext20key', "23:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x23, 'keyval', "23:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x24, 'none', "24:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x24, 'key', "24:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x24, 'ext4key', "24:0:00000000:k:\"5\":nz | NOOP"],
  [0x24, 'ext8keyval', "24:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x24, 'ext20key', "24:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x24, 'keyval', "24:4:::\"Invalid arguments\":0 | CLOSED"],
  [0x25, 'none', "25:81:::\"Unknown command\":0 | NOOP"],
]

const OPAQUE = 0x11223344
const NOOP_OPAQUE = 0xabcdef

function describe (r: BinResponse): string {
  const value = r.op === 0x0b && r.status === 0 ? '<version>' : r.value.length > 40 ? `<${r.value.length}>` : JSON.stringify(r.value.toString('latin1'))
  return `${r.op.toString(16).padStart(2, '0')}:${r.status.toString(16)}:${r.extras.toString('hex')}:${r.key.toString('latin1')}:${value}:${r.cas === 0n ? '0' : 'nz'}` +
    (r.opaque === OPAQUE ? '' : `:opaque=${r.opaque.toString(16)}`)
}

async function run (host: string, port: number, op: number, shape: string): Promise<string> {
  const c = await RawConn.connect(host, port)
  try {
    c.send(binReq({ op: 0x01, key: 'k', extras: u32(0, 0), value: '5' }))
    await readBin(c)
    c.send(Buffer.concat([binReq({ op, opaque: OPAQUE, ...SHAPES[shape] }), binReq({ op: 0x0a, opaque: NOOP_OPAQUE })]))
    const got: string[] = []
    for (;;) {
      let r: BinResponse
      try {
        r = await readBin(c, 2000)
      } catch (e) {
        if (c.isClosed() && c.pending().length === 0) { got.push('CLOSED'); break }
        throw e
      }
      if (r.op === 0x0a && r.opaque === NOOP_OPAQUE) { got.push('NOOP'); break }
      if (r.op === 0x10 && r.status === 0 && r.key.length > 0) { // one STAT packet per stat: their content is checked elsewhere
        if (got[got.length - 1] !== '<stat lines>') got.push('<stat lines>')
        continue
      }
      got.push(describe(r))
    }
    return got.join(' | ')
  } finally {
    c.close()
  }
}

const groups = [[0x00, 0x0f], [0x10, 0x1a], [0x1c, 0x25]] as const

export default suite('binary/every-opcode', 'binary', groups.map(([lo, hi]) =>
  test(`opcodes 0x${lo.toString(16).padStart(2, '0')}..0x${hi.toString(16)} in six request shapes`, async (ctx) => {
    for (const [op, shape, want] of ROWS.filter(([o]) => o >= lo && o <= hi)) {
      const got = await run(ctx.server.host, ctx.server.port, op, shape)
      if (got !== want) throw new CompatFailure(`opcode 0x${op.toString(16)} ${shape}:\n      expected ${want}\n      got      ${got}`)
    }
  }, 30000),
))

