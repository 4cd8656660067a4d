// lib/app/test-hooks.ts
/**
 * TEST-ONLY hooks, off unless the environment says MEMRING_TEST_HOOKS=1. They let a
 * fault-injection checker (compat-tests/chaos) cause faults that no signal or socket
 * trick can cause from outside the process. Never enable them in production.
 *
 *   SIGUSR2   expire this host's ZooKeeper session(s) SERVER-side, as a long network
 *             partition would: the hook joins each session with its id and password from
 *             a second client and closes it (lib/cluster expireSession), so ZooKeeper
 *             deletes the session's ephemerals (node record, and the master's lease once
 *             election lands) and the host sees `expired` on its next contact. Logged
 *             at warn before and after.
 */
import type { Logger } from '../log.js'
import { expireSession, type ZkSession } from '../cluster/index.js'

export const TEST_HOOKS_ENV = 'MEMRING_TEST_HOOKS'

export function testHooksEnabled (env: NodeJS.ProcessEnv = process.env): boolean {
  return env[TEST_HOOKS_ENV] === '1'
}

/**
 * Installs the hooks when enabled. `sessions` names the ZooKeeper sessions this host
 * holds when the signal arrives (the registry's; an election session too, if it has its own).
 * Returns whether anything was installed.
 */
export function installTestHooks (sessions: () => readonly ZkSession[], log: Logger, env: NodeJS.ProcessEnv = process.env): boolean {
  if (!testHooksEnabled(env)) return false
  log.warn({ env: TEST_HOOKS_ENV }, 'test hooks enabled: SIGUSR2 expires this host\'s ZooKeeper session (test-only)')
  process.on('SIGUSR2', () => {
    for (const s of sessions()) {
      const creds = s.credentials
      if (creds === null) { log.warn('test hook: SIGUSR2 but no ZooKeeper session to expire'); continue }
      const id = s.sessionId
      log.warn({ sessionId: id }, 'test hook: expiring our ZooKeeper session server-side (SIGUSR2)')
      expireSession(s.connectString, creds).then(
        () => log.warn({ sessionId: id }, 'test hook: ZooKeeper session expired'),
        (err: unknown) => log.error({ err, sessionId: id }, 'test hook: could not expire the ZooKeeper session'))
    }
  })
  return true
}
