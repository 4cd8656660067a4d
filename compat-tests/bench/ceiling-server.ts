// Node's ceiling on this machine: a server that stores nothing and answers every get
// with a value of the profile's size, every set with STORED, on the socket API memring
// uses (input with `onread` into a shared buffer, lib/server/onread-socket.ts; `--input data`
// for 'data' events as before; output straight to the socket's handle, one write per input
// chunk, lib/server/socket-writer.ts; `--output stream` for socket.write as before). What memring loses against it is memring's own work (parsing, the store,
// reply assembly); what it loses against memcached beyond that is Node's.
//
//   node dist/compat-tests/bench/ceiling-server.js -p PORT [-l 127.0.0.1] [--value-bytes 100] [--input onread|data]
//        [--output direct|stream] [--flush batch|now]
//
// It understands just enough of both protocols for memaslap: text get/gets (any number of
// keys, each echoed back), set/add/replace/append/prepend/cas (data block skipped),
// version; binary GET/GETK/GETQ/GETKQ (value), NOOP, VERSION, and a bare success for any
// other opcode. The first byte picks the protocol, as in memcached.

import net from 'node:net'
import { adoptWithOnread } from '../../lib/server/onread-socket.js'
import { SocketWriter } from '../../lib/server/socket-writer.js'

function arg (name: string, dflt: string): string {
  const i = process.argv.indexOf(name)
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : dflt
}
const port = Number(arg('-p', '11211'))
const host = arg('-l', '127.0.0.1')
const valueBytes = Number(arg('--value-bytes', '100'))
const value = Buffer.alloc(valueBytes, 0x78)
const sizeText = Buffer.from(` 0 ${valueBytes}\r\n`)
const VALUE = Buffer.from('VALUE ')
const END = Buffer.from('END\r\n')
const STORED = Buffer.from('STORED\r\n')
const ERROR = Buffer.from('ERROR\r\n')
const VERSION = Buffer.from('VERSION 1.6.18-ceiling\r\n')

/** Reply bytes for one input chunk, grown as needed and reused. */
class Out {
  buf = Buffer.allocUnsafe(64 * 1024)
  n = 0
  room (k: number): void {
    if (this.n + k <= this.buf.length) return
    const b = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.n + k))
    this.buf.copy(b, 0, 0, this.n)
    this.buf = b
  }
  put (src: Uint8Array, s = 0, e = src.length): void {
    this.room(e - s)
    this.buf.set(src.subarray(s, e), this.n)
    this.n += e - s
  }
  take (): Buffer {
    // the socket owns what it is given: hand over a copy of just the used part
    const b = Buffer.allocUnsafe(this.n)
    this.buf.copy(b, 0, 0, this.n)
    this.n = 0
    return b
  }
}

class TextConn {
  /** Bytes of a data block still to skip. */
  skip = 0
  pending: Buffer | null = null
  feed (chunk: Buffer, out: Out): void {
    let buf = chunk
    if (this.pending !== null) { buf = Buffer.concat([this.pending, chunk]); this.pending = null }
    let p = 0
    while (p < buf.length) {
      if (this.skip > 0) {
        const k = Math.min(this.skip, buf.length - p)
        this.skip -= k
        p += k
        continue
      }
      const nl = buf.indexOf(10, p)
      if (nl < 0) { this.pending = Buffer.from(buf.subarray(p)); return }
      const e = nl > p && buf[nl - 1] === 13 ? nl - 1 : nl
      const c0 = buf[p]
      if (c0 === 0x67) { // get / gets
        let q = p
        while (q < e && buf[q] !== 32) q++
        while (q < e) {
          while (q < e && buf[q] === 32) q++
          const ks = q
          while (q < e && buf[q] !== 32) q++
          if (q > ks) { out.put(VALUE); out.put(buf, ks, q); out.put(sizeText); out.put(value); out.room(2); out.buf[out.n++] = 13; out.buf[out.n++] = 10 }
        }
        out.put(END)
      } else if (c0 === 0x73 || c0 === 0x61 || c0 === 0x72 || c0 === 0x70 || c0 === 0x63) { // set add replace append/prepend cas
        // the 5th token is the value length
        let q = p; let tok = 0; let n = 0
        while (q < e && tok < 5) {
          while (q < e && buf[q] === 32) q++
          const ts = q
          while (q < e && buf[q] !== 32) q++
          if (++tok === 5) for (let i = ts; i < q; i++) n = n * 10 + buf[i] - 48
        }
        this.skip = n + 2
        out.put(STORED)
      } else if (c0 === 0x76) {
        out.put(VERSION)
      } else {
        out.put(ERROR)
      }
      p = nl + 1
    }
  }
}

class BinaryConn {
  pending: Buffer | null = null
  feed (chunk: Buffer, out: Out): void {
    let buf = chunk
    if (this.pending !== null) { buf = Buffer.concat([this.pending, chunk]); this.pending = null }
    let p = 0
    while (buf.length - p >= 24) {
      const body = buf.readUInt32BE(p + 8)
      if (buf.length - p < 24 + body) break
      const op = buf[p + 1]
      const keyLen = buf.readUInt16BE(p + 2)
      const extLen = buf[p + 4]
      const isGet = op === 0x00 || op === 0x09 || op === 0x0c || op === 0x0d
      const withKey = op === 0x0c || op === 0x0d
      const rkey = withKey ? keyLen : 0
      const rbody = isGet ? 4 + rkey + valueBytes : op === 0x0b ? 13 : 0
      out.room(24 + rbody)
      const o = out.n
      out.buf.fill(0, o, o + 24)
      out.buf[o] = 0x81
      out.buf[o + 1] = op
      out.buf.writeUInt16BE(rkey, o + 2)
      out.buf[o + 4] = isGet ? 4 : 0
      out.buf.writeUInt32BE(rbody, o + 8)
      buf.copy(out.buf, o + 12, p + 12, p + 16) // opaque
      if (!isGet) out.buf[o + 23] = 1 // cas 1
      out.n += 24
      if (isGet) {
        out.buf.fill(0, out.n, out.n + 4)
        out.n += 4
        if (rkey > 0) out.put(buf, p + 24 + extLen, p + 24 + extLen + keyLen)
        out.put(value)
      } else if (op === 0x0b) {
        out.put(Buffer.from('1.6.18-ceil'.padEnd(13)))
      }
      p += 24 + body
    }
    if (p < buf.length) this.pending = Buffer.from(buf.subarray(p))
  }
}

const out = new Out()
/** --input onread (default): memring's input path (lib/server/onread-socket.ts); data: 'data' events. */
const onread = arg('--input', 'onread') === 'onread'
/** --output direct (default): memring's output path (lib/server/socket-writer.ts); stream: socket.write. */
const direct = arg('--output', 'direct') === 'direct'
/** --flush batch (default, as memring: lib/server/flush-batch.ts): replies of one event-loop turn are written together after it; now: at once. */
const batch = arg('--flush', 'batch') === 'batch'
const queued: Array<[SocketWriter, Buffer]> = []
let scheduled = false
function later (w: SocketWriter, b: Buffer): void {
  queued.push([w, b])
  if (scheduled) return
  scheduled = true
  setImmediate(() => {
    scheduled = false
    for (let i = 0; i < queued.length; i++) queued[i][0].write(queued[i][1])
    queued.length = 0
  })
}
const server = net.createServer({ pauseOnConnect: onread }, (raw) => {
  let conn: TextConn | BinaryConn | null = null
  let sock: net.Socket | null = raw
  let writer: SocketWriter | null = null
  const onChunk = (chunk: Buffer): void => {
    conn ??= chunk[0] === 0x80 ? new BinaryConn() : new TextConn()
    conn.feed(chunk, out) // both keep only copies of a chunk's unparsed rest
    if (out.n > 0) {
      if (writer === null) (sock as net.Socket).write(out.take())
      else if (batch) later(writer, out.take())
      else writer.write(out.take())
    }
  }
  if (onread) sock = adoptWithOnread(raw, onChunk)
  else raw.on('data', onChunk)
  if (sock === null) return
  if (direct) writer = new SocketWriter(sock, () => {})
  sock.setNoDelay(true)
  sock.on('error', () => sock?.destroy())
})
server.listen(port, host)
const stop = (): void => { server.close(); process.exit(0) }
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
