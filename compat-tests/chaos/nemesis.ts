// compat-tests/chaos/nemesis.ts
/**
 * The faults, one at a time, on shard s1 (see README.md "Faults"). Each returns when the
 * fault has been applied AND lifted (the killed host restarted, the stopped one
 * continued, the frozen link thawed); settling is the caller's. Every fault records what
 * it did (times, the master before, the first higher-epoch master seen in ZooKeeper).
 */
import { now } from '../../lib/testing/cluster-probe.js'
import { FAULTED_SHARD, sleep, statsOf, until, type ChaosCluster, type Host } from './cluster.js'
import type { FaultKind } from './analyze.js'

export interface Applied {
  injected: boolean
  note: string
  injectedAt: number
  liftedAt: number
  contAt: number | null
  /** Hosts the fault touched (their full syncs are not a survivor's). */
  faulted: Host[]
}

/** What the nemesis needs to know about the master it faults. */
export interface Target { host: Host, epoch: number }

/** Waits until the probe has seen a master of s1 with an epoch above `epoch` (bounded). */
async function newMaster (c: ChaosCluster, epoch: number, since: number, timeoutMs: number): Promise<boolean> {
  return await until(() => c.probe.newMasterSeen(FAULTED_SHARD, epoch, since) !== null, timeoutMs, 20)
}

/**
 * How long a stopped / cut-off master stays so: past the session timeout for sure (1.5x),
 * and until a new master has been seen plus half a second (so the old one wakes up into a
 * cluster that has moved on), at most `5 x session`.
 */
async function holdPastSession (c: ChaosCluster, t: Target, since: number): Promise<void> {
  const s = c.o.sessionMs
  await newMaster(c, t.epoch, since, s * 5)
  const seen = c.probe.newMasterSeen(FAULTED_SHARD, t.epoch, since)
  const until = Math.min(since + s * 5, Math.max(since + s * 1.5, (seen?.t ?? 0) + 500))
  const left = until - now()
  if (left > 0) await sleep(left)
}

export async function applyFault (kind: FaultKind, c: ChaosCluster, t: Target): Promise<Applied> {
  const h = t.host
  const s = c.o.sessionMs
  const pid = h.server.pid
  if (pid === null) return { injected: false, note: 'target not running', injectedAt: now(), liftedAt: now(), contAt: null, faulted: [] }
  switch (kind) {
    case 'kill': {
      // kill -9 the master; once a new master is seen (or 5 sessions), restart it empty,
      // as a supervisor would.
      const exited = h.server.exited()
      process.kill(pid, 'SIGKILL')
      const injectedAt = now()
      await exited
      await newMaster(c, t.epoch, injectedAt, s * 5)
      const liftedAt = now()
      await c.restart(h)
      return { injected: true, note: '', injectedAt, liftedAt, contAt: null, faulted: [h] }
    }
    case 'stop': {
      process.kill(pid, 'SIGSTOP')
      const injectedAt = now()
      try { await holdPastSession(c, t, injectedAt) } finally { process.kill(pid, 'SIGCONT') }
      const contAt = now()
      return { injected: true, note: '', injectedAt, liftedAt: contAt, contAt, faulted: [h] }
    }
    case 'zk-freeze': {
      // Only this host's ZooKeeper link goes silent (new connections too); clients and the
      // replication streams still reach it.
      const relay = h.relay!
      relay.blockNew(true)
      relay.freeze()
      const injectedAt = now()
      try { await holdPastSession(c, t, injectedAt) } finally { relay.blockNew(false); relay.cut() }
      return { injected: true, note: '', injectedAt, liftedAt: now(), contAt: null, faulted: [h] }
    }
    case 'expire': {
      // Test hook (MEMRING_TEST_HOOKS=1): the host expires its own session server-side.
      const before = h.server.stderr.length
      process.kill(pid, 'SIGUSR2')
      const injectedAt = now()
      const done = await until(() => /test hook: (ZooKeeper session expired|could not expire)/.test(h.server.stderr.slice(before)), s * 5)
      const ok = done && h.server.stderr.slice(before).includes('test hook: ZooKeeper session expired')
      await newMaster(c, t.epoch, injectedAt, s * 5)
      return {
        injected: ok,
        note: ok ? '' : `the host did not report its session expired (${done ? 'hook failed' : 'no test hook answered SIGUSR2'})`,
        injectedAt, liftedAt: injectedAt, contAt: null, faulted: [h],
      }
    }
    case 'restart-fast': {
      // kill -9 and restart at once at the same address, empty: ZooKeeper still holds the
      // old process's session (and its records) until the session times out. The new
      // process is spawned before the kill with its modules loaded (a cold Node start can
      // take longer than the session on a loaded machine), and started once the old is gone.
      const start = await h.server.prewarm(c.o.waitMs)
      const exited = h.server.exited()
      process.kill(pid, 'SIGKILL')
      const injectedAt = now()
      await exited
      c.keepLog(h)
      // The fault is the restart inside the window: judged when the new process starts, not
      // when it listens (with a fixed port, memring listens only once it has registered,
      // which waits for the old session to go: lib/app/server-app.ts).
      const stillThere = c.probe.hosts.has(h.address)
      await start()
      const liftedAt = now()
      await newMaster(c, t.epoch, injectedAt, s * 5)
      return {
        // Slower than the session (a loaded machine): that is a plain kill + restart, not this fault.
        injected: stillThere,
        note: stillThere ? 'restarted while ZooKeeper still listed the old process' : 'not injected: the old record was already gone when the restarted process started',
        injectedAt, liftedAt, contAt: null, faulted: [h],
      }
    }
    case 'replica-sync-kill': {
      // A replica restarted empty full-syncs; kill -9 it midway, then restart it.
      const r = c.s1.find((x) => x !== h && x.server.running)
      if (r === undefined) return { injected: false, note: 'no replica to kill', injectedAt: now(), liftedAt: now(), contAt: null, faulted: [] }
      const injectedAt = now()
      await r.server.kill('SIGKILL')
      await c.restart(r)
      let items = 0
      const caught = await until(async () => {
        const st = await statsOf(r.server.port, 'replication', 500)
        if (st?.sync_in_progress !== '1') return false
        // midway: a good part has arrived (the fill is 100k+ items), the sync is not over
        items = Number((await statsOf(r.server.port, '', 500))?.curr_items ?? 0)
        return items >= 500
      }, s * 5, 5)
      let note = ''
      if (caught) {
        await r.server.kill('SIGKILL')
        note = `killed mid full sync with ${items} items copied`
      } else note = 'never saw the restarted replica mid full sync (sync too short, or it did not sync): not injected'
      const liftedAt = now()
      if (!r.server.running) await c.restart(r)
      return { injected: caught, note, injectedAt, liftedAt, contAt: null, faulted: [r] }
    }
  }
}
