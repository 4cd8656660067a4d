// A few literal memcached text-protocol exchanges against a running server, used by
// scripts/docker/test.sh on the container. They show the image serves, and that the
// memcached-style flags given to `docker run IMAGE ...` reached the server (through
// `stats`). The full protocol is the compat suite's and memccapable's job.
//
// usage: node protocol-check.mjs HOST PORT MAXBYTES MAXCONNS
// Prints one "ok"/"not ok" line per check; the exit code is the number of failures.
import net from 'node:net'

const [host, portArg, maxbytes, maxconns] = process.argv.slice(2)
const port = Number(portArg)
const TIMEOUT_MS = 5000

/** Sends `request` and resolves with the reply once it ends with `terminator`. */
function exchange (request, terminator) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host, port })
    let got = ''
    const timer = setTimeout(() => { sock.destroy(); reject(new Error(`timeout; got ${JSON.stringify(got)}`)) }, TIMEOUT_MS)
    sock.setEncoding('latin1')
    sock.on('connect', () => sock.write(request))
    sock.on('data', (d) => {
      got += d
      if (got.endsWith(terminator)) { clearTimeout(timer); sock.end(); resolve(got) }
    })
    sock.on('error', (err) => { clearTimeout(timer); reject(err) })
  })
}

/** The `STAT name ...` line of a stats reply, or a note that there is none. */
function statLine (reply, name) {
  return reply.split('\r\n').find((l) => l.startsWith(`STAT ${name} `)) ?? `(no STAT ${name} among ${reply.split('\r\n').length - 2} lines)`
}

const key = `docker-check-${process.pid}`
const checks = [
  ['version answers', 'version\r\n', '\r\n', (r) => /^VERSION \S+\r\n$/.test(r)],
  ['set stores', `set ${key} 42 0 5\r\nhello\r\n`, '\r\n', (r) => r === 'STORED\r\n'],
  ['get returns the value and flags', `get ${key}\r\n`, 'END\r\n', (r) => r === `VALUE ${key} 42 5\r\nhello\r\nEND\r\n`],
  ['delete removes', `delete ${key}\r\n`, '\r\n', (r) => r === 'DELETED\r\n'],
  ['get after delete misses', `get ${key}\r\n`, 'END\r\n', (r) => r === 'END\r\n'],
  [`-m reached the server (stats limit_maxbytes ${maxbytes})`, 'stats\r\n', 'END\r\n', (r) => statLine(r, 'limit_maxbytes') === `STAT limit_maxbytes ${maxbytes}`, 'limit_maxbytes'],
  [`-c reached the server (stats max_connections ${maxconns})`, 'stats\r\n', 'END\r\n', (r) => statLine(r, 'max_connections') === `STAT max_connections ${maxconns}`, 'max_connections'],
]

let failed = 0
for (const [name, request, terminator, ok, stat] of checks) {
  let reply
  try {
    reply = await exchange(request, terminator)
  } catch (err) {
    reply = `(${err.message})`
  }
  if (ok(reply)) {
    console.log(`ok - ${name}`)
  } else {
    failed++
    const shown = stat !== undefined && reply.startsWith('STAT') ? statLine(reply, stat) : reply
    console.log(`not ok - ${name}: got ${JSON.stringify(shown.length > 300 ? shown.slice(0, 300) + '...' : shown)}`)
  }
}
process.exit(failed)
