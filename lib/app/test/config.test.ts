import t from 'tap'
import { ConfigError, parseSize, serverSettings } from '../config.js'
import { atoi } from '../suboptions.js'

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

t.test('--conn-output-limit takes bytes or k/m suffixes, 1 KiB to 64 MiB', async (t) => {
  t.equal(serverSettings({}).connOutputLimit, 64 * 1024, 'default 64 KiB')
  t.equal(serverSettings({ connOutputLimit: '256k' }).connOutputLimit, 256 * 1024)
  t.equal(serverSettings({ connOutputLimit: '4096' }).connOutputLimit, 4096)
  t.throws(() => serverSettings({ connOutputLimit: '100' }), /--conn-output-limit: 100 is out of range/)
  t.throws(() => serverSettings({ connOutputLimit: '1g' }), /--conn-output-limit: '1g' is not a size/)
})

t.test('-o suboptions apply, memcached-only ones are accepted, unknown ones fail', async (t) => {
  const s = serverSettings({ extended: ['idle_timeout=5,hashpower=20', 'no_lru_crawler,slab_automove=2,modern'] })
  t.equal(s.idleTimeoutSec, 5)
  t.equal(s.hashPowerInit, 20)
  t.equal(s.lruCrawler, false)
  t.equal(s.slabAutomove, 2)
  t.throws(() => serverSettings({ extended: ['idle_timeout'] }), new ConfigError('Missing numeric argument for idle_timeout', 1, true))
  t.throws(() => serverSettings({ extended: ['nope'] }), new ConfigError('Illegal suboption "nope"', 1, true))
  t.throws(() => serverSettings({ extended: ['lru_segmented'] }), /Illegal suboption "lru_segmented"/, 'not a memcached suboption')
})

t.test('-o meta_e (memring only) turns on meta E and md x; off by default, no_meta_e turns it off', async (t) => {
  t.equal(serverSettings({}).metaE, false, 'memcached 1.6.18 stays the reference by default')
  t.equal(serverSettings({ extended: ['idle_timeout=1,meta_e'] }).metaE, true)
  t.equal(serverSettings({ extended: ['meta_e', 'no_meta_e'] }).metaE, false, 'the last one wins, as for every -o pair')
})

t.test('-o LRU suboptions set what lru mode|tune|temp_ttl set', async (t) => {
  const s = serverSettings({ extended: ['hot_lru_pct=30,warm_lru_pct=35x,hot_max_factor=0.5,warm_max_factor=-nan,temporary_ttl=-1'] })
  t.same([s.hotLruPct, s.warmLruPct, s.hotMaxFactor, s.maxFactorNegNan, s.tempLru, s.temporaryTtl], [30, 35, 0.5, [false, true], true, 4294967295])
  t.ok(Number.isNaN(s.warmMaxFactor))
  const flat = serverSettings({ extended: ['no_lru_maintainer'] })
  t.same([flat.lruMaintainer, flat.lruSegmented], [false, false])
  const back = serverSettings({ extended: ['no_lru_maintainer', 'lru_maintainer'] })
  t.same([back.lruMaintainer, back.lruSegmented], [true, true], 'later groups win, as getopt reads them in order')
  t.throws(() => serverSettings({ extended: ['hot_lru_pct=50,warm_lru_pct=40'] }), new ConfigError('hot_lru_pct + warm_lru_pct cannot be more than 80% combined', 64, true))
  t.throws(() => serverSettings({ extended: ['hot_lru_pct=80'], maxItemSize: '100' }), new ConfigError('hot_lru_pct must be > 1 and < 80', 1, true), 'reported before -I, as memcached')
})

t.test('C atoi as memcached reads -o numbers', async (t) => {
  t.same(['30', ' 30x', '+7', '-5', '', 'x1', '4294967326', '9223372036854775808', '-9223372036854775809'].map(atoi),
    [30, 30, 7, -5, 0, 0, 30, -1, 0])
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

t.test('-U without -p is also the TCP port, as in memcached; -p -1 and -U -1 are accepted', async (t) => {
  t.equal(serverSettings({ udpPort: '11222' }).port, 11222, '-U alone')
  t.equal(serverSettings({ port: '11211', portGiven: false, udpPort: '11222' }).port, 11222, '-U with the command line\'s default -p')
  t.equal(serverSettings({ port: '11300', portGiven: true, udpPort: '11222' }).port, 11300, '-U with -p given')
  t.equal(serverSettings({ udpPort: '0' }).port, 11211, '-U 0 leaves the TCP port')
  t.equal(serverSettings({ udpPort: '-1' }).port, 0, '-U -1 alone: any free TCP port')
  t.equal(serverSettings({ udpPort: '-1' }).udpPort, -1)
  t.equal(serverSettings({ port: '-1' }).port, 0, '-p -1: any free port')
  t.throws(() => serverSettings({ port: '-2' }), ConfigError)
})
