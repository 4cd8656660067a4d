// Output's held replies (the write gate of --min-replicas-to-ack): a flush stops at the
// first hold still waiting, a released hold lets its reply and what follows go in order, a
// failed one is replaced by its error (also an empty, noreply reply), and discard()/clear()
// keep the markers consistent. The end-to-end behaviour is lib/replication/test/min-acks.test.ts.
import t from 'tap'
import { HOLD_FAILED, HOLD_RELEASED, HOLD_WAITING, Output, type Hold, type Sink } from '../output.js'

class Recorder implements Sink {
  chunks: Buffer[] = []
  write (b: Buffer): boolean { this.chunks.push(Buffer.from(b)); return true }
  cork (): void {}
  uncork (): void {}
  take (): string { const s = Buffer.concat(this.chunks).toString('latin1'); this.chunks = []; return s }
}

const hold = (): Hold => ({ state: HOLD_WAITING, wake: null })
const ERR = Buffer.from('SERVER_ERROR timeout\r\n')

function held (out: Output, reply: string, h: Hold | null): void {
  out.holdBegin()
  if (reply !== '') out.ascii(reply)
  out.holdEnd(h, ERR)
}

t.test('a waiting hold stops the flush; release sends its reply and the rest, in order', async (t) => {
  const out = new Output()
  const sink = new Recorder()
  out.ascii('A\r\n')
  const h1 = hold()
  held(out, 'STORED\r\n', h1)
  out.ascii('VALUE\r\n')
  const h2 = hold()
  held(out, 'DELETED\r\n', h2)
  out.ascii('END\r\n')
  out.flush(sink)
  t.equal(sink.take(), 'A\r\n', 'only what precedes the first waiting hold')
  t.ok(out.gates !== null && out.gates.length === 2)
  h2.state = HOLD_RELEASED
  out.flush(sink)
  t.equal(sink.take(), '', 'a later hold released first changes nothing')
  h1.state = HOLD_RELEASED
  out.flush(sink)
  t.equal(sink.take(), 'STORED\r\nVALUE\r\nDELETED\r\nEND\r\n')
  t.equal(out.gates, null, 'no gates left: the fast path again')
  t.equal(out.pendingBytes, 0)
  t.equal(out.bytesWritten, 'A\r\nSTORED\r\nVALUE\r\nDELETED\r\nEND\r\n'.length)
})

t.test('a failed hold is replaced by its error, also when its reply was empty (noreply)', async (t) => {
  const out = new Output()
  const sink = new Recorder()
  const h1 = hold()
  held(out, 'STORED\r\n', h1)
  const h2 = hold()
  held(out, '', h2) // noreply
  out.ascii('END\r\n')
  h1.state = HOLD_FAILED
  h2.state = HOLD_FAILED
  out.flush(sink)
  t.equal(sink.take(), 'SERVER_ERROR timeout\r\nSERVER_ERROR timeout\r\nEND\r\n')
  t.equal(out.pendingBytes, 0)
})

t.test('holdEnd(null): nothing to wait for, the reply goes in order', async (t) => {
  const out = new Output()
  const sink = new Recorder()
  held(out, 'NOT_FOUND\r\n', null)
  out.ascii('X\r\n')
  out.flush(sink)
  t.equal(sink.take(), 'NOT_FOUND\r\nX\r\n')
  t.equal(out.gates, null)
})

t.test('an open hold (reply being written) stops a flush in the middle of a command', async (t) => {
  const out = new Output()
  const sink = new Recorder()
  out.ascii('before\r\n')
  out.holdBegin()
  out.ascii('VALUE k 0 1\r\n')
  t.ok(out.holding)
  out.flush(sink)
  t.equal(sink.take(), 'before\r\n')
  out.ascii('END\r\n')
  out.holdEnd(null, ERR)
  out.flush(sink)
  t.equal(sink.take(), 'VALUE k 0 1\r\nEND\r\n')
})

t.test('discard() cuts uncommitted replies and keeps the gates consistent', async (t) => {
  const out = new Output()
  const sink = new Recorder()
  const h1 = hold()
  held(out, 'ONE\r\n', h1)
  out.commit()
  const h2 = hold()
  held(out, 'TWO\r\n', h2) // uncommitted: culled below, its gate with it
  out.holdBegin() // a gat in progress whose replies get culled
  out.ascii('VALUE\r\n')
  out.discard()
  out.ascii('CLIENT_ERROR\r\n')
  out.holdEnd(null, ERR)
  t.equal(out.gates?.length, 2, 'the committed gate and the open one')
  h1.state = HOLD_RELEASED
  out.flush(sink)
  t.equal(sink.take(), 'ONE\r\nCLIENT_ERROR\r\n')
  t.equal(out.gates, null)
})

t.test('a gate cut mid-reply by discard() is closed again', async (t) => {
  const out = new Output()
  const sink = new Recorder()
  const h = hold()
  out.holdBegin()
  out.ascii('VALUE a\r\n')
  out.commit() // memcached transmits after each get, inside a multi-key gat
  out.ascii('VALUE b\r\n')
  out.holdEnd(h, ERR)
  out.ascii('more\r\n')
  out.discard()
  out.ascii('after\r\n')
  h.state = HOLD_FAILED
  out.flush(sink)
  t.equal(sink.take(), 'SERVER_ERROR timeout\r\nafter\r\n')
})

t.test('clear() drops held replies', async (t) => {
  const out = new Output()
  const sink = new Recorder()
  held(out, 'STORED\r\n', hold())
  out.clear()
  t.equal(out.gates, null)
  t.notOk(out.holding)
  out.ascii('x\r\n')
  out.flush(sink)
  t.equal(sink.take(), 'x\r\n')
})

t.test('a settled hold wakes its owner once per batch', async (t) => {
  const out = new Output()
  let wakes = 0
  out.owner = { flushHeld: () => { wakes++ } }
  const h1 = hold()
  const h2 = hold()
  held(out, 'A\r\n', h1)
  held(out, 'B\r\n', h2)
  h1.state = HOLD_RELEASED; h1.wake?.()
  h2.state = HOLD_RELEASED; h2.wake?.()
  t.equal(wakes, 0, 'not synchronously')
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(wakes, 1, 'one flush for both')
})
