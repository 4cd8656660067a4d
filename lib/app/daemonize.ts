/**
 * memcached -d: run in the background. Node cannot fork, so the process starts a copy of
 * itself (same script, same arguments) in a new session (setsid) with its standard
 * streams closed (kept with -v, as memcached's noclose), and exits 0 at once, as
 * memcached's parent does before any socket is bound. The copy knows it is the daemon by
 * MEMRING_DAEMONIZED=1 and ignores -d; it writes the -P pid file once it listens, so the
 * file names the process that serves. Unlike memcached, the daemon keeps the working
 * directory (no chdir to /), so relative -s and -P paths mean what they meant.
 */
import { spawn } from 'node:child_process'

export const DAEMON_ENV = 'MEMRING_DAEMONIZED'

/** True in the background copy. */
export function isDaemonChild (): boolean { return process.env[DAEMON_ENV] === '1' }

/** Start the background copy and exit this process with status 0. */
export function daemonize (keepStdio: boolean): never {
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    detached: true,
    stdio: keepStdio ? 'inherit' : 'ignore',
    env: { ...process.env, [DAEMON_ENV]: '1' }
  })
  child.unref()
  process.exit(0)
}
