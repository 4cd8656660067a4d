// Container HEALTHCHECK: healthy when the server answers the memcached text command
// `version` with a VERSION line within the timeout. It speaks the protocol rather
// than only opening the port, so a server that accepts connections but no longer
// serves requests reports unhealthy.
//
// Where to knock: MEMRING_HEALTHCHECK_HOST / MEMRING_HEALTHCHECK_PORT when set;
// otherwise the -l/--listen and -p/--port flags PID 1 (memring) was started with,
// as memcached spells them (-p 11211, -p11211, --port 11211, --port=11211);
// otherwise MEMRING_LISTEN / MEMRING_PORT (MEMRING_PROXY_LISTEN / MEMRING_PROXY_PORT
// when PID 1 is memring-proxy), which the program reads when a flag is absent (the
// HEALTHCHECK runs with the container's environment); otherwise 127.0.0.1:11211,
// memcached's, memring's and memring-proxy's default.
// Exit code 0 = healthy, 1 = unhealthy (the codes HEALTHCHECK expects).
import fs from 'node:fs'
import net from 'node:net'

const TIMEOUT_MS = Number(process.env.MEMRING_HEALTHCHECK_TIMEOUT_MS ?? 2000)

function pid1Args () {
  try {
    return fs.readFileSync('/proc/1/cmdline', 'latin1').split('\0').filter(Boolean)
  } catch {
    return [] // not in a container, or /proc not mounted: fall back to defaults
  }
}

/** The value of a memcached-style option in argv (short or long, split or joined). */
function flagValue (argv, short, long) {
  let value
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === short || a === long) value = argv[i + 1]
    else if (a.startsWith(long + '=')) value = a.slice(long.length + 1)
    else if (a.startsWith(short) && a.length > short.length && !a.startsWith('--')) value = a.slice(short.length)
  }
  return value // the last one wins, as with commander and getopt
}

function target () {
  const argv = pid1Args()
  const env = (name) => process.env[(argv.some((a) => a.endsWith('memring-proxy')) ? 'MEMRING_PROXY_' : 'MEMRING_') + name]
  let host = process.env.MEMRING_HEALTHCHECK_HOST
  let port = process.env.MEMRING_HEALTHCHECK_PORT
  if (!host) {
    // -l may list several addresses (comma-separated); the first is enough.
    const listen = (flagValue(argv, '-l', '--listen') ?? env('LISTEN') ?? '').split(',')[0].trim()
    const m = /^(\d+\.\d+\.\d+\.\d+):(\d+)$/.exec(listen)
    host = m ? m[1] : listen.replace(/^\[(.*)\]$/, '$1')
    if (m && !port) port = m[2]
    // a wildcard address is reached through loopback
    if (host === '' || host === '0.0.0.0' || host === '::' || host === '*') host = '127.0.0.1'
  }
  if (!port) port = flagValue(argv, '-p', '--port') ?? env('PORT') ?? '11211'
  return { host, port: Number(port) }
}

const { host, port } = target()
const sock = net.connect({ host, port })
let got = ''
const fail = (why) => {
  console.error(`unhealthy: ${host}:${port}: ${why}`)
  sock.destroy()
  process.exit(1)
}
const timer = setTimeout(() => fail(`no VERSION reply within ${TIMEOUT_MS} ms`), TIMEOUT_MS)
sock.setEncoding('latin1')
sock.on('connect', () => sock.write('version\r\n'))
sock.on('data', (chunk) => {
  got += chunk
  const eol = got.indexOf('\r\n')
  if (eol === -1) return
  const line = got.slice(0, eol)
  if (!line.startsWith('VERSION ')) fail(`unexpected reply ${JSON.stringify(line)}`)
  clearTimeout(timer)
  console.log(`healthy: ${host}:${port}: ${line}`)
  sock.end()
  process.exit(0)
})
sock.on('error', (err) => fail(err.message))
sock.on('close', () => fail('connection closed before a reply'))
