/**
 * EpochFence: per shard, the highest master epoch this client has seen. A master record
 * with a lower epoch is a deposed master whose ephemeral node has not gone yet (a frozen
 * or partitioned host keeps its ZooKeeper session for a while): it must get no writes,
 * and no reads either, since the new master may have overwritten what it holds.
 * Epochs only grow, so the fence is kept for the client's life, across snapshots.
 */
export class EpochFence {
  readonly #highest = new Map<string, number>()

  /** Records `epoch` for `shard`; true when it is the highest seen (the master is current). */
  admit (shard: string, epoch: number): boolean {
    const seen = this.#highest.get(shard)
    if (seen === undefined || epoch > seen) {
      this.#highest.set(shard, epoch)
      return true
    }
    return epoch === seen
  }

  highest (shard: string): number {
    return this.#highest.get(shard) ?? 0
  }
}
