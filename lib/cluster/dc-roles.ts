// lib/cluster/dc-roles.ts
/**
 * Which part a host plays in its shard, given the shard's home DC (pure; no ZooKeeper).
 *
 * A shard has one home DC (/shards/<s> `homeDc`): its master and replicas live there and
 * elect among themselves. Hosts of the shard in any other DC are followers: they stream
 * the shard's writes, serve reads in their DC, and are never elected while their DC is
 * not the home. `memringctl promote --shard S --dc B` moves the home (with an epoch bump);
 * from then on B's hosts elect and A's follow, whatever `--role` they were started with:
 *
 *   --role     home DC                 other DC
 *   auto       candidate (may master)  follower
 *   follower   candidate (after a      follower
 *              promote made it home)
 *   replica    replica, never elected  follower
 *
 * With no home DC recorded (a cluster without --dc, or before the first `auto` host
 * claimed it) `auto` hosts are candidates and `follower` hosts follow.
 *
 * One stream per shard per remote DC crosses the WAN: the DC's head (its lowest node id
 * among the shard's live hosts there) follows the master; every other host of that DC
 * chains from the head (chooseUpstream).
 */
import type { ConfiguredRole } from './layout.js'

/** The host's DC is the shard's home (where its master is elected). */
export function inHomeDc (role: ConfiguredRole, dc: string, homeDc: string | null): boolean {
  if (homeDc === null) return role !== 'follower'
  return dc === homeDc
}

/** The host may be elected master of its shard. */
export function isCandidate (role: ConfiguredRole, dc: string, homeDc: string | null): boolean {
  return role !== 'replica' && inHomeDc(role, dc, homeDc)
}

/** What a host of the shard looks like to chooseUpstream. */
export interface ShardMember { readonly nodeId: string, readonly dc: string }

/**
 * The address a non-master host streams from: the master itself when the host is in
 * the master's DC (or when the master's DC is unknown), else its DC's head, which
 * follows the master (the head itself follows the master directly).
 */
export function chooseUpstream (self: ShardMember, master: string, members: readonly ShardMember[], homeDc: string | null = null): string {
  // the master's DC: its record, else the shard's home (a snapshot may lag the election)
  const masterDc = members.find((h) => h.nodeId === master)?.dc ?? homeDc
  if (masterDc === null || masterDc === self.dc) return master
  // self counts even before its own record is in the snapshot
  let head = self.nodeId
  for (const h of members) {
    if (h.dc === self.dc && h.nodeId !== master && h.nodeId < head) head = h.nodeId
  }
  return head === self.nodeId ? master : head
}
