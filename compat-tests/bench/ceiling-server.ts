// Node's ceiling on this machine: a server that stores nothing and answers every get
// with a value of the profile's size, every set with STORED, on the socket API memring
// uses (input with `onread` into a shared buffer, lib/server/onread-socket.ts; `--input data`
// for 'data' events as before; output straight to the socket's handle, one write per input
// chunk, lib/server/socket-writer.ts; `--output stream` for socket.write as before). What memring loses against it is memring's own work (parsing, the store,
// reply assembly); what it loses against memcached beyond that is Node's.
//
//   node dist/compat-tests/bench/ceiling-server.js -p PORT [-l 127.0.0.1] [--value-bytes 100] [--input onread|data]
//        [--output direct|stream] [--flush batch|now] [--store]
//
// --store (bench target `ceiling-store`): sets go into a real SlabStore (lib/store, -m 64)
// and gets answer from it (find, touchRead, the value copied from slab memory; a miss is
// just END), still with this file's minimal parsing and reply assembly. So the gap splits
// in two: ceiling -> ceiling-store is what keeping items costs (the store's work and its
// memory latency, which memcached pays too); ceiling-store -> memring is memring's protocol
// and connection layers (parser, dispatch, counters, Output).
//
// It understands just enough of both protocols for memaslap: text get/gets (any number of
// keys, each echoed back), set/add/replace/append/prepend/cas (data block skipped),
// version; binary GET/GETK/GETQ/GETKQ (value), NOOP, VERSION, and a bare success for any
// other opcode. The first byte picks the protocol, as in memcached.

import net from 'node:net'
import { adoptWithOnread } from '../../lib/server/onread-socket.js'
import { SocketWriter } from '../../lib/server/socket-writer.js'
import { SlabStore } from '../../lib/store/slab-store.js'
import { StoreMode } from '../../lib/store/store.js'
import { writeUint } from '../../protocol/numbers.js'

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
const SP = Buffer.from(' ')
const CRLF = Buffer.from('\r\n')
const VERSION = Buffer.from('VERSION 1.6.18-ceiling\r\n')
const BINARY_VERSION = Buffer.from('1.6.18-ceil'.padEnd(13))
/** --store: items are kept in a real store (see the file comment); null: nothing is kept. */
const store = process.argv.includes('--store') ? new SlabStore({ memoryLimitBytes: 64 * 1024 * 1024 }) : null

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
  putUint (v: number): void {
    this.room(20)
    this.n = writeUint(this.buf, this.n, v)
  }
  /** Item h's value, copied from slab memory. */
  putValue (st: SlabStore, h: number): void {
    this.room(st.nbytes(h))
    this.n = st.copyValue(h, this.buf, this.n)
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
  /** --store: the item the data block goes into (0: none), how much of its value has arrived. */
  item = 0
  filled = 0
  pending: Buffer | null = null
  /** --store: k bytes of a data block at buf[p]; the value's own bytes go into the item, which is linked after them. */
  private fill (buf: Buffer, p: number, k: number): void {
    const st = store as SlabStore
    const n = st.nbytes(this.item)
    const take = Math.min(k, n - this.filled)
    if (take > 0) st.writeValue(this.item, buf, p, p + take, this.filled)
    this.filled += take
    if (this.filled === n) {
      st.link(this.item, StoreMode.Set, 0)
      this.item = 0
    }
  }

  feed (chunk: Buffer, out: Out): void {
    let buf = chunk
    if (this.pending !== null) { buf = Buffer.concat([this.pending, chunk]); this.pending = null }
    let p = 0
    while (p < buf.length) {
      if (this.skip > 0) {
        const k = Math.min(this.skip, buf.length - p)
        if (this.item !== 0) this.fill(buf, p, k)
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
          if (q === ks) continue
          if (store === null) { out.put(VALUE); out.put(buf, ks, q); out.put(sizeText); out.put(value); out.room(2); out.buf[out.n++] = 13; out.buf[out.n++] = 10; continue }
          const h = store.find(buf, ks, q)
          if (h === 0) continue
          store.touchRead(h)
          out.put(VALUE); out.put(buf, ks, q); out.put(SP); out.putUint(store.flags(h)); out.put(SP); out.putUint(store.nbytes(h)); out.put(CRLF)
          out.putValue(store, h)
          out.put(CRLF)
        }
        out.put(END)
      } else if (c0 === 0x73 || c0 === 0x61 || c0 === 0x72 || c0 === 0x70 || c0 === 0x63) { // set add replace append/prepend cas
        // tokens: command key flags exptime bytes
        let q = p; let tok = 0; let n = 0; let flags = 0; let ks = 0; let ke = 0
        while (q < e && tok < 5) {
          while (q < e && buf[q] === 32) q++
          const ts = q
          while (q < e && buf[q] !== 32) q++
          tok++
          if (tok === 2) { ks = ts; ke = q }
          if (tok === 3) for (let i = ts; i < q; i++) flags = flags * 10 + buf[i] - 48
          if (tok === 5) for (let i = ts; i < q; i++) n = n * 10 + buf[i] - 48
        }
        this.skip = n + 2
        if (store !== null) {
          const h = store.alloc(buf, ks, ke, flags, 0, n)
          this.item = h > 0 ? h : 0
          this.filled = 0
        }
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
      if (store !== null && storeBinary(buf, p, op, keyLen, extLen, body, out)) { p += 24 + body; continue }
      const isGet = op === 0x00 || op === 0x09 || op === 0x0c || op === 0x0d
      const withKey = op === 0x0c || op === 0x0d
      const rkey = withKey ? keyLen : 0
      const rbody = isGet ? 4 + rkey + valueBytes : op === 0x0b ? 13 : 0
      // The header written in place rather than through header() below: the ceiling is the
      // baseline, and with the call it measured 0.97x (0.85-1.02, 7 alternating rounds).
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
        out.put(BINARY_VERSION)
      }
      p += 24 + body
    }
    if (p < buf.length) this.pending = Buffer.from(buf.subarray(p))
  }
}

/**
 * --store, binary: SET stores the item; the GET family answers from the store (a quiet
 * miss answers nothing, a loud one KEY_ENOENT). Returns false for other opcodes.
 */
function storeBinary (buf: Buffer, p: number, op: number, keyLen: number, extLen: number, body: number, out: Out): boolean {
  const st = store as SlabStore
  const ks = p + 24 + extLen
  const ke = ks + keyLen
  if (op === 0x01) {
    const vs = ke
    const ve = p + 24 + body
    const h = st.alloc(buf, ks, ke, extLen >= 4 ? buf.readUInt32BE(p + 24) : 0, 0, ve - vs)
    if (h > 0) { st.writeValue(h, buf, vs, ve, 0); st.link(h, StoreMode.Set, 0) }
    header(out, buf, p, op, 0, 0, 0, 1)
    return true
  }
  if (op !== 0x00 && op !== 0x09 && op !== 0x0c && op !== 0x0d) return false
  const quiet = op === 0x09 || op === 0x0d
  const rkey = op === 0x0c || op === 0x0d ? keyLen : 0
  const h = st.find(buf, ks, ke)
  if (h === 0) {
    if (!quiet) header(out, buf, p, op, 1, 0, 0, 0)
    return true
  }
  st.touchRead(h)
  header(out, buf, p, op, 0, rkey, 4, 1, 4 + rkey + st.nbytes(h))
  out.room(4)
  out.buf.writeUInt32BE(st.flags(h), out.n)
  out.n += 4
  if (rkey > 0) out.put(buf, ks, ke)
  out.putValue(st, h)
  return true
}

/** A response header echoing the request's opaque. */
function header (out: Out, req: Buffer, p: number, op: number, status: number, keyLen: number, extLen: number, cas: number, bodyLen = keyLen + extLen): void {
  out.room(24)
  const o = out.n
  out.buf.fill(0, o, o + 24)
  out.buf[o] = 0x81
  out.buf[o + 1] = op
  out.buf.writeUInt16BE(keyLen, o + 2)
  out.buf[o + 4] = extLen
  out.buf.writeUInt16BE(status, o + 6)
  out.buf.writeUInt32BE(bodyLen, o + 8)
  req.copy(out.buf, o + 12, p + 12, p + 16)
  out.buf[o + 23] = cas
  out.n += 24
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
