// memring-proxy's hot-key flags -> ProxyOptions.hotKeys (pure): defaults, off, the cache's
// options, and the refusals, with their messages.
import t from 'tap'
import { proxyOptions, HOT_KEY_CACHE_MAX_BYTES, HOT_KEY_CACHE_TTL_MS, HOT_KEY_THRESHOLD } from '../proxy-options.js'
import { ConfigError } from '../config.js'

const base = { servers: '127.0.0.1:11211' }

t.test('detection is on at 1000/s by default, without the cache', async (t) => {
  t.same(proxyOptions(base).hotKeys, { threshold: HOT_KEY_THRESHOLD })
  t.equal(HOT_KEY_THRESHOLD, 1000)
  t.same(proxyOptions({ ...base, hotKeyThreshold: '250' }).hotKeys, { threshold: 250 })
  t.equal(proxyOptions({ ...base, hotKeyThreshold: '0' }).hotKeys, undefined, '0: off')
})

t.test('--hot-key-cache with its TTL and budget', async (t) => {
  t.same(proxyOptions({ ...base, hotKeyCache: true }).hotKeys, { threshold: 1000, cache: { ttlMs: HOT_KEY_CACHE_TTL_MS, maxBytes: HOT_KEY_CACHE_MAX_BYTES } })
  t.same(proxyOptions({ ...base, hotKeyCache: true, hotKeyCacheTtl: '50', hotKeyCacheMaxBytes: '65536' }).hotKeys?.cache, { ttlMs: 50, maxBytes: 65536 })
})

t.test('refusals', async (t) => {
  t.throws(() => proxyOptions({ ...base, hotKeyThreshold: '-1' }), new ConfigError("--hot-key-threshold: '-1' is not an integer in [0, 100000000]"))
  t.throws(() => proxyOptions({ ...base, hotKeyCache: true, hotKeyThreshold: '0' }), new ConfigError('--hot-key-cache needs hot-key detection: --hot-key-threshold must be > 0'))
  t.throws(() => proxyOptions({ ...base, hotKeyCacheTtl: '50' }), new ConfigError('--hot-key-cache-ttl and --hot-key-cache-max-bytes go with --hot-key-cache'))
  t.throws(() => proxyOptions({ ...base, hotKeyCache: true, hotKeyCacheTtl: '0' }), /--hot-key-cache-ttl: '0' is not an integer in \[1, 60000\]/)
})
