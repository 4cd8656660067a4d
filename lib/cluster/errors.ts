// lib/cluster/errors.ts
/**
 * Errors of the cluster layer: a stable code (MEMRING_ERR_CLUSTER_*), a retriable
 * flag and the library error as `cause`. Same shape as the project's MemringError
 * (STYLE §10), kept local so lib/cluster depends on nothing it does not own.
 */
export const ClusterErrorCode = {
  /** --zk is not a HOST:PORT[,HOST:PORT...][/chroot] list. */
  BadConnectString: 'MEMRING_ERR_CLUSTER_BAD_ZK',
  /** No ZooKeeper server of the list answered in time. */
  Unreachable: 'MEMRING_ERR_CLUSTER_ZK_UNREACHABLE',
  /** A request got no reply in time (the link may be frozen). */
  Timeout: 'MEMRING_ERR_CLUSTER_ZK_TIMEOUT',
  /** ZooKeeper answered with an error (the library's code name is in the message). */
  ZooKeeper: 'MEMRING_ERR_CLUSTER_ZK',
  /** The session wrapper was closed. */
  Closed: 'MEMRING_ERR_CLUSTER_CLOSED',
  /** A cluster or shard name or a host address that cannot be used. */
  BadConfig: 'MEMRING_ERR_CLUSTER_BAD_CONFIG',
} as const
export type ClusterErrorCode = typeof ClusterErrorCode[keyof typeof ClusterErrorCode]

export class ClusterError extends Error {
  readonly code: ClusterErrorCode
  readonly retriable: boolean
  /** ZooKeeper's error name (NO_NODE, NODE_EXISTS, ...) when it answered with one. */
  readonly zkCode: string | null
  constructor (code: ClusterErrorCode, message: string, opts: { cause?: unknown, retriable?: boolean, zkCode?: string | null } = {}) {
    super(message, { cause: opts.cause })
    this.name = 'ClusterError'
    this.code = code
    this.retriable = opts.retriable ?? false
    this.zkCode = opts.zkCode ?? null
  }
}
