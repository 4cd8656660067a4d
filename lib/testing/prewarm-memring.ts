// lib/testing/prewarm-memring.ts
/**
 * `node prewarm-memring.js <memring flags>`: loads memring's modules (what bin/memring.js
 * imports), says `prewarmed` on stderr, then waits; SIGUSR2 runs bin/memring.js's main with
 * the same argv, so the process listens within a few ms instead of a cold Node start.
 * For restarts that must beat a ZooKeeper session (ChildServer.prewarm; the failover
 * checker's restart inside the detection window). Test-only code: unstable API.
 */
import 'commander'
import '../app/config.js'
import '../app/server-app.js'
import '../app/cluster-options.js'
import '../app/replication-app.js'
import '../app/test-hooks.js'
import '../log.js'
import '../server/settings.js'

const keepAlive = setInterval(() => {}, 1 << 30)
process.once('SIGUSR2', () => {
  clearInterval(keepAlive)
  import('../../bin/memring.js').catch((err: unknown) => {
    process.stderr.write(`prewarm: ${(err as Error).stack ?? String(err)}\n`)
    process.exit(1)
  })
})
process.stderr.write('prewarmed\n')
