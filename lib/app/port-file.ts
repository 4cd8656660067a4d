/**
 * memcached's MEMCACHED_PORT_FILENAME: when the variable names a file, the TCP ports the
 * server listens on are written there once it listens, one line each, `TCP INET: <port>`
 * or `TCP INET6: <port>` (test harnesses start a server on an ephemeral port and read
 * it back; memcached's own t/issue_67.t does). As memcached does, the lines go to
 * `<file>.lck` (appended) and that is renamed to `<file>`, so a reader never sees half.
 * Nothing is written for a unix socket (-s), as in memcached. memring has no UDP listener,
 * so no `UDP` line is ever written.
 *
 * memcached binds 0.0.0.0 and :: as two sockets when no -l is given; memring listens on
 * one dual-stack :: socket, which serves both, so both lines are written for it.
 */
import fs from 'node:fs'
import type { AddressInfo } from 'node:net'

export function portFileLines (addrs: readonly AddressInfo[], anyAddress: boolean): string {
  let out = ''
  for (const a of addrs) {
    if (a.family === 'IPv6' && anyAddress && a.address === '::') out += `TCP INET: ${a.port}\n`
    out += `TCP ${a.family === 'IPv6' ? 'INET6' : 'INET'}: ${a.port}\n`
  }
  return out
}

/** Writes the lines for these listeners if MEMCACHED_PORT_FILENAME is set; failures go to stderr, as memcached's. */
export function writePortFile (file: string | undefined, addrs: readonly AddressInfo[], anyAddress: boolean): void {
  if (file === undefined || file === '') return
  const tmp = `${file}.lck`
  try {
    fs.appendFileSync(tmp, portFileLines(addrs, anyAddress))
    fs.renameSync(tmp, file)
  } catch (err) {
    process.stderr.write(`Failed to open "${tmp}": ${(err as Error).message}\n`)
  }
}
