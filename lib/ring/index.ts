/**
 * lib/ring: keys -> shards. Pure: imports nothing of ours outside this folder.
 * See README.md for which placement each export reproduces.
 */
export { md5, md5Word } from './md5.js'
export { KeyHash, keyHashFn, type HashFn } from './key-hash.js'
export { keyBytes, encodeKey, scratchBytes, parseHashTag, hashTagRange, type HashTag } from './key-bytes.js'
export {
  KetamaContinuum, ketamaLabel, ketamaPointCount, exactPointCount, PointRounding, KETAMA_POINTS_PER_SERVER,
  MEMCACHED_DEFAULT_PORT, TWEMPROXY_MAX_LABEL, LIBMEMCACHED_UNWEIGHTED_POINTS, type KetamaServer,
} from './ketama.js'
export {
  KetamaRing, libmemcachedKetama, libmemcachedKetamaUnweighted, twemproxyKetama,
  type Router, type KetamaRingOptions, type HostPort, type TwemproxyServer, type TwemproxyOptions,
} from './ketama-ring.js'
export { jumpHash, JumpRouter } from './jump.js'
export { furcHash, Ch3Router, FURC_MAX_POOL } from './furc.js'
export { BoundedLoads, boundedOwner, DEFAULT_BALANCE_FACTOR } from './bounded-load.js'
export {
  createRouter, createShardRouter, checkRouterOptions, placementKey, placementFromSetting, HashMethod, HASH_METHODS, KEY_HASHES,
  type RouterOptions, type ShardPlace, type PlacementSource,
} from './router.js'
