import t from 'tap'
import { ConfigError, parseSize, serverSettings } from '../config.js'

t.test('defaults are memcached\'s', async (t) => {
  const s = serverSettings({})
  t.equal(s.port, 11211)
  t.equal(s.memoryLimitMb, 64)
  t.equal(s.maxConns, 1024)
  t.equal(s.itemSizeMax, 1048576)
  t.equal(s.growthFactor, 1.25)
  t.equal(s.minChunkBytes, 48)
  t.equal(s.useCas, true)
  t.equal(s.evictions, true)
  t.equal(s.idleTimeoutSec, 0)
})

t.test('-I takes bytes or k/m suffixes', async (t) => {
  t.equal(parseSize('2048'), 2048)
  t.equal(parseSize('512k'), 524288)
  t.equal(parseSize('2m'), 2097152)
  t.throws(() => parseSize('1g'), ConfigError)
})

t.test('-o suboptions apply, memcached-only ones are accepted, unknown ones fail', async (t) => {
  const s = serverSettings({ extended: ['idle_timeout=5,hashpower=20', 'no_lru_crawler,slab_automove=2,modern'] })
  t.equal(s.idleTimeoutSec, 5)
  t.equal(s.hashPowerInit, 20)
  t.equal(s.lruCrawler, false)
  t.equal(s.slabAutomove, 2)
  t.throws(() => serverSettings({ extended: ['idle_timeout'] }), /a value is required/)
  t.throws(() => serverSettings({ extended: ['nope'] }), /Illegal suboption "nope"/)
})

t.test('flags map to settings', async (t) => {
  const s = serverSettings({ port: '0', listen: ['127.0.0.1,::1'], memoryLimit: '128', connLimit: '10', disableCas: true, disableEvictions: true, enableShutdown: true, disableFlushAll: true, verbose: 2, maxItemSize: '2m' })
  t.same(s.listen, ['127.0.0.1', '::1'])
  t.equal(s.port, 0)
  t.equal(s.memoryLimitMb, 128)
  t.equal(s.maxConns, 10)
  t.equal(s.useCas, false)
  t.equal(s.evictions, false)
  t.equal(s.shutdownCommand, true)
  t.equal(s.flushEnabled, false)
  t.equal(s.verbosity, 2)
  t.equal(s.itemSizeMax, 2 * 1048576)
})
