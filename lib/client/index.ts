/**
 * lib/client: pipelined memcached-protocol connections and a routing client.
 * See README.md.
 */
export { Client, type ClientOptions, type StoreOptions, type Value, type ReadFrom, type RouteInfo } from './client.js'
export { HashMethod } from '../ring/index.js'
export { KeyRing, KeyRingError } from '../crypto/index.js'
export { Connection, ConnState, type ConnectionOptions } from './connection.js'
export {
  Command, Reply, RetrievalCommand, StoreCommand, YesNoCommand, ArithCommand, OkCommand, VersionCommand, StatsCommand,
  MetaCommand, type Item, type StoreStatus, type Callback, type PendingCommand, type MetaReply,
} from './command.js'
export { ClientError, ClientErrorCode, isHostFailure } from './errors.js'
export { exponentialBackoff, noRetry, type RetryStrategy, type BackoffOptions } from './retry.js'
export { Fifo } from './fifo.js'
export { serverId, type ServerAddress, type ServerSource, type ServerListener } from './discovery/server-source.js'
export { StaticServers, parseServerList } from './discovery/static-servers.js'
export { isShardSource, type ShardInfo, type ShardSource, type ShardListener } from './discovery/shard-source.js'
export { ZooKeeperShards, shardsOf, type ZooKeeperShardsOptions } from './discovery/zookeeper-shards.js'
