// lib/cluster/index.ts — what other areas may import from lib/cluster.
export { ClusterError, ClusterErrorCode } from './errors.js'
export { ZkSession, parseConnectString, type ZkSessionOptions, type ZkSessionState, type ZkStat, type ZkEvent, type ZkOp } from './zk.js'
export {
  Role, checkName, clusterRoot, nodesPath, shardsPath, configPath, encodeClusterConfig, decodeClusterConfig, type ClusterConfig, nodePath, shardPath, nodeIdOf, masterPath, leaderPath, switchoverPath,
  decodeHostRecord, decodeShardRecord, decodeMasterRecord, decodeLeaderRecord, decodeSwitchoverRecord, encodeRecord,
  proxiesPath, decodeProxyRecord, type ProxyRecord, type ProxyBackendRecord,
  type HostRecord, type ShardRecord, type LoadFigures, type ReplRecord, type MasterRecord, type LeaderRecord, type SwitchoverRecord, type ConfiguredRole,
} from './layout.js'
export { ShardElection, rankCandidates, type ElectionOptions, type Ranked } from './election.js'
export { Registry, type RegistryOptions, type RegistryState } from './registry.js'
export { Topology, isReadableFollower, isReadableReplica, type HostEntry, type ShardEntry } from './membership/topology.js'
export { TopologyWatcher, type TopologyWatcherOptions } from './membership/watcher.js'
export { DiscoveryList, discoveryNodes } from './membership/discovery.js'
// Test-only (lib/app/test-hooks.ts, MEMRING_TEST_HOOKS=1): expire a session server-side.
export { expireSession } from './zk.js'
export { Presence } from './presence.js'
