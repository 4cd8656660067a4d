/**
 * `-o meta_e`: memcached 1.6.27's meta E(token) and md x. No memcached of 1.6.27 or later
 * can be installed here (Debian's is 1.6.18, which refuses both), so these replies are
 * derived from memcached's doc/protocol.txt and its 1.6.27 proto_text.c / memcached.c
 * (cited per scenario) rather than recorded from a run. Each scenario runs on a fresh
 * memring (CAS counter at 0) with the mode on; the same lines with the mode off are pinned
 * against memcached 1.6.18 in meta-scenarios.ts ("E and x (newer than 1.6.18) ...").
 */
import net from 'node:net'
import t from 'tap'
import { RawClient } from '../../testing/raw-client.js'
import { runScenario, type Scenario } from './meta-harness.js'
import { startMemring } from './meta-target.js'

const scenarios: Scenario[] = [
  {
    // protocol.txt ms "E(token): use token as new CAS value"; do_store_item links with cas_in.
    name: 'ms E gives the stored item that CAS; C still compares; the counter does not move',
    steps: [
      { send: 'ms k 2 E1000 c\r\nab\r\n', want: 'HD c1000\r\n' },
      { send: 'mg k c v\r\n', want: 'VA 2 c1000\r\nab\r\n' },
      { send: 'ms k 2 C1000 E2000 c\r\ncd\r\n', want: 'HD c2000\r\n' },
      { send: 'ms k 2 C1000 E3000 c\r\nef\r\n', want: 'EX c0\r\n' },
      { send: 'ms k 1 MA E4000 c\r\nx\r\n', want: 'HD c4000\r\n' },
      { send: 'mg k c v\r\n', want: 'VA 3 c4000\r\ncdx\r\n' },
      { send: 'ms k 1 ME E5000 c\r\ny\r\n', want: 'NS c0\r\n' },
      // E0 on ms is no E at all: 1.6.27 stores with `c->cas ? c->cas : get_cas_id()`.
      { send: 'ms z 1 E0 c\r\nz\r\n', want: 'HD c1\r\n' },
      { send: 'ms other 1 c\r\no\r\n', want: 'HD c2\r\n' },
      { send: 'gets k\r\n', want: 'VALUE k 0 3 4000\r\ncdx\r\nEND\r\n' },
    ],
  },
  {
    // protocol.txt md "x: removes the item value, but leaves the item"; 1.6.27
    // process_mdelete_command: a new empty item with F's flags and T's TTL (none without
    // them), linked with E or the old item's CAS; counted as a delete hit.
    name: 'md x leaves an empty item: flags from F, TTL from T, CAS from E or the old item',
    clock: true,
    steps: [
      { send: 'ms t 3 F5 T100 c\r\nabc\r\n', want: 'HD c1\r\n' },
      { send: 'md t x\r\n', want: 'HD\r\n' },
      { send: 'mg t s f t c v\r\n', want: 'VA 0 s0 f0 t-1 c1\r\n\r\n' },
      { send: 'md t x F7 T50 E9 k Oa\r\n', want: 'HD kt Oa\r\n' },
      { send: 'mg t f t c v\r\n', want: 'VA 0 f7 t50 c9\r\n\r\n' },
      { send: 'md t x q\r\nmn\r\n', want: 'MN\r\n' },
      { send: 'md t x C8\r\n', want: 'EX\r\n' },
      { send: 'md nope x\r\n', want: 'NF\r\n' },
      // E without I or x: a plain delete.
      { send: 'md t E5\r\n', want: 'HD\r\n' },
      { send: 'mg t v\r\n', want: 'EN\r\n' },
    ],
  },
  {
    // protocol.txt md "Combined with I this can leave what is effectively a tombstone";
    // I sets the CAS to E, or to a new counter value.
    name: 'md I with E and x: stale tombstones with chosen or fresh CAS values',
    steps: [
      { send: 'ms s 2 T0\r\nab\r\n', want: 'HD\r\n' },
      { send: 'md s I E700\r\n', want: 'HD\r\n' },
      { send: 'mg s c v\r\n', want: 'VA 2 c700 X W\r\nab\r\n' },
      { send: 'md s I x\r\n', want: 'HD\r\n' },
      { send: 'mg s c v\r\n', want: 'VA 0 c2 X W\r\n\r\n' },
      { send: 'md s I x E50 q\r\nmn\r\n', want: 'MN\r\n' },
      { send: 'mg s c\r\n', want: 'HD c50 X W\r\n' },
    ],
  },
  {
    // 1.6.27 process_marithmetic_command: E on vivify (do_store_item's cas_in) and on a hit
    // (ITEM_set_cas on the item do_add_delta returns, after it took a counter value). When
    // the number grows, that item is the old, unlinked one: the reply shows E, the live item
    // keeps its counter CAS.
    name: 'ma E: on vivify, in place, and on a grown number',
    steps: [
      { send: 'ma n N0 J10 E42 c v\r\n', want: 'VA 2 c42\r\n10\r\n' },
      { send: 'ma n E43 c v\r\n', want: 'VA 2 c43\r\n11\r\n' },
      { send: 'mg n c\r\n', want: 'HD c43\r\n' },
      { send: 'ms g 1 c\r\n9\r\n', want: 'HD c2\r\n' },
      { send: 'ma g E50 c v\r\n', want: 'VA 2 c50\r\n10\r\n' },
      { send: 'mg g c v\r\n', want: 'VA 2 c3\r\n10\r\n' },
      { send: 'ma g E60 c\r\n', want: 'HD c60\r\n' },
      { send: 'ma g C60 E70 c\r\n', want: 'HD c70\r\n' },
      { send: 'ma g C60 E80\r\n', want: 'EX\r\n' },
      { send: 'ma none E5\r\n', want: 'NF\r\n' },
      { send: 'mg g c v\r\n', want: 'VA 2 c70\r\n12\r\n' },
    ],
  },
  {
    // protocol.txt mg "E(token): use token as new CAS value if item is modified": only an
    // item N creates gets it (do_item_link); a hit is not modified by E.
    name: 'mg E sets the CAS of an item N creates, and nothing on a hit',
    steps: [
      { send: 'mg v N30 E99 c v\r\n', want: 'VA 0 c99 W\r\n\r\n' },
      { send: 'mg v c E5\r\n', want: 'HD c99 Z\r\n' },
      { send: 'mg w N30 E0 c\r\n', want: 'HD c0 W\r\n' },
    ],
  },
  {
    // 1.6.27 _meta_flag_preparse: E is read with safe_strtoull ("bad token in command line
    // format"); md and ma report any flag error as "invalid or duplicate flag". x is known
    // to every command and only md uses it. memring also refuses E above 2^53 - 1 (README).
    name: 'E and x errors and no-ops',
    steps: [
      { send: 'mg k Ex\r\n', want: 'CLIENT_ERROR bad token in command line format\r\n' },
      { send: 'ms k 1 Ex\r\na\r\n', want: 'CLIENT_ERROR bad token in command line format\r\n' },
      { send: 'md k Ex\r\n', want: 'CLIENT_ERROR invalid or duplicate flag\r\n' },
      { send: 'ma k E-1\r\n', want: 'CLIENT_ERROR invalid or duplicate flag\r\n' },
      { send: 'mg k E1 E2\r\n', want: 'CLIENT_ERROR duplicate flag\r\n' },
      { send: 'mg k x x\r\n', want: 'CLIENT_ERROR duplicate flag\r\n' },
      { send: 'mg k E9007199254740992 N0\r\n', want: 'CLIENT_ERROR bad token in command line format\r\n' },
      { send: 'mg k E9007199254740991 N0 c\r\n', want: 'HD c9007199254740991 W\r\n' },
      { send: 'ms y 1 x c\r\na\r\n', want: 'HD c1\r\n' },
      { send: 'mg y x v\r\n', want: 'VA 1\r\na\r\n' },
      { send: 'ma nokey x\r\n', want: 'NF\r\n' },
      { send: 'mg k z\r\n', want: 'CLIENT_ERROR invalid flag\r\n' },
    ],
  },
]

for (const sc of scenarios) {
  t.test(sc.name, async (t) => {
    const attempts = sc.clock === true ? 3 : 1
    for (let a = 1; ; a++) {
      const target = await startMemring({ metaE: true })
      let res
      try { res = await runScenario(target, sc, 'whole') } finally { await target.close() }
      if (res.every((r) => r.got === r.want) || a >= attempts) {
        res.forEach((r, i) => t.equal(r.got, r.want, `step ${i + 1}: ${JSON.stringify(sc.steps[i].send)}`))
        return
      }
      t.comment(`clock-dependent reply differed on attempt ${a}, retrying`)
    }
  })
}

t.test('stats settings shows meta_e only when it is on', async (t) => {
  for (const on of [true, false]) {
    const target = await startMemring({ metaE: on })
    const sock = net.connect(target.port, '127.0.0.1')
    const c = new RawClient(sock)
    try {
      c.write('stats settings\r\n')
      const text = await c.until('END\r\n')
      t.equal(text.includes('STAT meta_e yes\r\n'), on, `meta_e ${on ? 'on' : 'off'}`)
      t.match(text, /STAT cas_enabled yes\r\n/, 'a real settings dump')
    } finally {
      sock.destroy()
      await target.close()
    }
  }
})
