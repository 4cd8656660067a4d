/**
 * Differential tests: each script goes to a fresh real memcached 1.6.18 and a fresh memring
 * (same flags); the bytes that come back must be identical. Fresh servers per script keep
 * CAS numbering aligned. Expected bytes are never written here: memcached is the oracle.
 */
import t from 'tap'
import { exchange } from '../../testing/raw-client.js'
import { haveMemcached, startMemcached } from '../../testing/memcached.js'
import { startServer } from '../../testing/servers.js'
import { serverSettings } from '../../app/config.js'

const K250 = 'k'.repeat(250)
const K251 = 'k'.repeat(251)

interface Script { name: string, req: string | Buffer, args?: string[] }

const scripts: Script[] = [
  { name: 'set/get/gets/add/replace', req: 'set a 5 0 3\r\nabc\r\nget a\r\ngets a\r\nadd a 0 0 1\r\nx\r\nadd b 0 0 1\r\ny\r\nreplace c 0 0 1\r\nz\r\nreplace a 7 0 2\r\nzz\r\ngets a b c\r\n' },
  { name: 'append/prepend keep flags and need an item', req: 'append x 0 0 1\r\na\r\nset x 9 0 2\r\nmm\r\nappend x 0 0 2\r\n>>\r\nprepend x 0 0 2\r\n<<\r\ngets x\r\n' },
  { name: 'cas: match, mismatch, missing, noreply', req: 'set c 0 0 1\r\n1\r\ngets c\r\ncas c 0 0 1 1\r\n2\r\ncas c 0 0 1 1\r\n3\r\ncas nope 0 0 1 1\r\n4\r\ncas c 0 0 1 2 noreply\r\n5\r\ngets c\r\ncas c 0 0 1 abc\r\n' },
  { name: 'delete variants', req: 'set d 0 0 1\r\n1\r\ndelete d\r\ndelete d\r\nset d 0 0 1\r\n1\r\ndelete d 0\r\nset d 0 0 1\r\n1\r\ndelete d noreply\r\ndelete d 0 noreply\r\ndelete d 1\r\ndelete d 0 0\r\ndelete\r\ndelete a b c d\r\nget d\r\n' },
  { name: 'incr/decr: wrap, floor, shrink, non-numeric, bad delta', req: 'set n 0 0 2\r\n10\r\ndecr n 1\r\nget n\r\ndecr n 100\r\nincr n 18446744073709551615\r\nincr n 1\r\nset m 0 0 20\r\n18446744073709551615\r\nincr m 1\r\nget m\r\nincr n -1\r\nincr n abc\r\nincr n 18446744073709551616\r\nincr missing 1\r\nset s 0 0 3\r\nabc\r\nincr s 1\r\nset e 0 0 0\r\n\r\nincr e 1\r\nincr n +5\r\nincr n 2 noreply\r\nget n\r\nset sp 0 0 3\r\n 12\r\nincr sp 1\r\nset big 0 0 3\r\n999\r\nincr big 1\r\ngets big\r\n' },
  { name: 'touch and gat/gats', req: 'set t 3 0 2\r\nhi\r\ntouch t 100\r\ntouch nope 1\r\ntouch t abc\r\ngat 100 t nope\r\ngats 0 t\r\ngat abc t\r\ngat 1\r\ntouch t -1\r\nget t\r\n' },
  { name: 'negative and past-absolute exptime expire at once', req: 'set a 0 -1 1\r\n1\r\nget a\r\nset b 0 1000000000 1\r\n1\r\nget b\r\nset c 0 2592000 1\r\n1\r\nget c\r\n' },
  { name: 'flags are 32-bit; overflow and sign as strtoul', req: 'set f 4294967295 0 1\r\n1\r\nget f\r\nset g 4294967296 0 1\r\n1\r\nget g\r\nset h -1 0 1\r\n1\r\nget h\r\nset i +7 0 1\r\n1\r\nget i\r\n' },
  { name: 'key length 250 ok, 251 rejected without swallowing', req: `set ${K250} 0 0 1\r\n1\r\nget ${K250}\r\nset ${K251} 0 0 1\r\n1\r\nget ${K251}\r\nget a ${K251}\r\ndelete ${K251}\r\nincr ${K251} 1\r\ntouch ${K251} 1\r\n` },
  { name: 'too-long key in a multiget drops the replies stacked before it', req: `set a 0 0 1\r\n1\r\nget a ${K251} a\r\nget a\r\n` },
  { name: 'bad command line formats', req: 'set a 0 0\r\nset a 0 0 1 2 3 4\r\nset a x 0 1\r\nset a 0 x 1\r\nset a 0 0 x\r\nset a 0 0 -1\r\nget\r\ngets\r\nincr a\r\ntouch a\r\nverbosity\r\nverbosity x\r\nverbosity 1\r\nverbosity 1 noreply\r\n' },
  { name: 'bad data chunk, noreply and not', req: 'set a 0 0 1\r\n12\r\nset b 0 0 1 noreply\r\n12\r\nget a b\r\nset c 0 0 2\r\n1\r\n\r\nget c\r\n' },
  { name: 'value containing CRLF and NUL round-trips', req: Buffer.from('set bin 0 0 8\r\n\r\n\0\xff\r\nX\r\r\nget bin\r\n', 'latin1') },
  { name: 'unknown commands, empty lines, short commands', req: 'foo\r\n\r\nx\r\n\n  \r\nGET a\r\nmz\r\nstats nosuch\r\nstats detail\r\nstats detail on\r\nstats detail off\r\nstats detail dump\r\n' },
  { name: 'noreply on every storage command', req: 'set a 0 0 1 noreply\r\n1\r\nadd a 0 0 1 noreply\r\n2\r\nreplace a 0 0 1 noreply\r\n3\r\nappend a 0 0 1 noreply\r\n4\r\nprepend a 0 0 1 noreply\r\n5\r\nincr a 1 noreply\r\ndecr a 1 noreply\r\ntouch a 0 noreply\r\nget a\r\nflush_all noreply\r\nget a\r\n' },
  { name: 'flush_all variants', req: 'set a 0 0 1\r\n1\r\nflush_all\r\nget a\r\nset a 0 0 1\r\n1\r\nflush_all 0\r\nget a\r\nflush_all abc\r\nflush_all 1 2 3\r\nset b 0 0 1\r\n2\r\nflush_all 100\r\nget b\r\ngets b\r\n' },
  { name: 'flush_all disabled with -F', req: 'flush_all\r\nflush_all noreply\r\n', args: ['-F'] },
  { name: 'shutdown disabled by default', req: 'shutdown\r\nshutdown graceful\r\nversion\r\n' },
  { name: 'shutdown with -A and a bad mode', req: 'shutdown now\r\nversion\r\n', args: ['-A'] },
  { name: 'object too large swallows its data and removes the old value (set only)', req: 'set a 0 0 1\r\n1\r\nset a 0 0 2000000\r\n' + 'x'.repeat(2000000) + '\r\nget a\r\nset b 0 0 1\r\n1\r\nadd b 0 0 2000000\r\n' + 'x'.repeat(2000000) + '\r\nget b\r\n' },
  { name: 'item size limit edge at -I 1m (flags change the limit)', req: 'set a 0 0 1048516\r\n' + 'x'.repeat(1048516) + '\r\nset a 0 0 1048517\r\n' + 'x'.repeat(1048517) + '\r\nset b 1 0 1048512\r\n' + 'x'.repeat(1048512) + '\r\nset b 1 0 1048513\r\n' + 'x'.repeat(1048513) + '\r\nget a b\r\n' },
  { name: 'large value near 1 MiB round-trips', req: 'set big 0 0 1048000\r\n' + 'y'.repeat(1048000) + '\r\nget big\r\n' },
  { name: 'HTTP request line closes the connection silently', req: 'set a 0 0 1\r\n1\r\nGET / HTTP/1.1\r\nget a\r\n' },
  { name: 'pipelined multi-get of many keys beyond 23 tokens', req: Array.from({ length: 40 }, (_, i) => `set k${i} ${i} 0 ${String(i).length}\r\n${i}\r\n`).join('') + 'get ' + Array.from({ length: 45 }, (_, i) => `k${i}`).join(' ') + '\r\ngets k1  k2   k39\r\n' },
  { name: 'cache_memlimit', req: 'cache_memlimit 100\r\ncache_memlimit 4\r\ncache_memlimit x\r\ncache_memlimit 64 noreply\r\nversion\r\n' },
  { name: 'slabs and lru_crawler commands', req: 'slabs automove 1\r\nslabs automove 3\r\nslabs automove x\r\nslabs reassign 1 1\r\nslabs reassign x 1\r\nslabs\r\nlru_crawler sleep 100\r\nlru_crawler sleep 2000000\r\nlru_crawler tocrawl 10\r\nlru_crawler nope\r\n' },
  { name: '-C disables CAS (gets shows 0)', req: 'set a 0 0 1\r\n1\r\ngets a\r\n', args: ['-C'] },
  { name: 'quit closes after earlier replies', req: 'set a 0 0 1\r\n1\r\nget a\r\nquit\r\nget a\r\n' },
  { name: '-R: replies culled by a bad multiget stop at memcached\'s transmit points (21, then every 20)', req: 'set a 0 0 1\r\n1\r\n' + 'touch a 0\r\n'.repeat(45) + `get a ${K251}\r\n` },
  { name: 'bare LF line endings', req: 'set a 0 0 1\n1\r\nget a\nincr a 1\ndelete a\n' },
]

t.test('differential against memcached 1.6.18', { skip: haveMemcached() ? false : 'memcached not installed' }, async (t) => {
  for (const s of scripts) {
    await t.test(s.name, async (t) => {
      const mc = await startMemcached(t, s.args ?? [])
      const mr = await startServer(t, { ...serverSettings(toRaw(s.args ?? [])), port: 0, listen: ['127.0.0.1'] })
      const [a, b] = await Promise.all([exchange(mc.port, s.req), exchange(mr.port, s.req)])
      t.equal(b.toString('latin1'), a.toString('latin1'), 'memring bytes equal memcached bytes')
    })
  }
})

/** The few memcached flags these scripts use, as config options. */
function toRaw (args: string[]): Record<string, unknown> {
  const o: Record<string, unknown> = {}
  for (let i = 0; i < args.length; i++) {
    switch (args[i]) {
      case '-F': o.disableFlushAll = true; break
      case '-A': o.enableShutdown = true; break
      case '-C': o.disableCas = true; break
      case '-I': o.maxItemSize = args[++i]; break
    }
  }
  return o
}
