// lib/proxy/index.ts — what lib/app may import from lib/proxy.
export { createProxy, type MemringProxy, type ProxyOptions, type TopologySource } from './proxy.js'
export { BackendPool, BackendHost, FailReason, type BackendOptions } from './backend.js'
export { WarmUp, WARMUP_HIT_RATIO, WARMUP_WINDOW_MS, type WarmUpOptions } from './warm-up.js'
export { Router, ShardRoute, shardRing, staticRing, staticLabel, staticShardId, orderedShards, ringOf, type ReadFrom, type StaticServer } from './router.js'
export { routeServers, describeRoute, type RouteSpec } from './route-tree.js'
