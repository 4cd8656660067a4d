/**
 * `memringctl route` and memring-proxy agree for every --hash over a static list: keys set
 * through the proxy are found on exactly the server memringctl names (`KEY HOST:PORT`),
 * and the methods place keys differently (each flag really reaches the ring).
 */
import t from 'tap'
import path from 'node:path'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { createProxy } from '../../proxy/index.js'
import { startServer } from '../../testing/servers.js'
import { exchange } from '../../testing/raw-client.js'
import { placementOptions } from '../proxy-options.js'

const CTL = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../bin/memringctl.js')

const METHODS: Array<{ hash: string, keyHash?: string, hashTag?: string }> = [
  { hash: 'ketama' }, { hash: 'ketama', hashTag: '{}' }, { hash: 'ketama-twemproxy' }, { hash: 'ketama-twemproxy', keyHash: 'murmur', hashTag: '{}' },
  { hash: 'ketama-unweighted' }, { hash: 'ketama-unweighted', keyHash: 'md5' }, { hash: 'jump' },
]

t.test('memringctl route names the server memring-proxy put each key on, for every --hash', async (t) => {
  const servers = await Promise.all([0, 1, 2, 3].map(async () => await startServer(t)))
  const list = servers.map((s, i) => `127.0.0.1:${s.port}${i === 3 ? '' : ':1'}`).join(',')
  const keys = Array.from({ length: 200 }, (_, i) => i % 5 === 0 ? `{grp${i % 7}}:k${i}` : `key:${i}`)
  const answers: string[] = []
  for (const m of METHODS) {
    const flags = ['--hash', m.hash, ...(m.keyHash === undefined ? [] : ['--key-hash', m.keyHash]), ...(m.hashTag === undefined ? [] : ['--hash-tag', m.hashTag])]
    const name = flags.join(' ')
    const ctl = spawnSync(process.execPath, [CTL, 'route', keys[0]!, '-', '--servers', list, ...flags], { encoding: 'utf8', timeout: 15000, input: keys.slice(1).join('\n') + '\n' })
    t.equal(ctl.status, 0, ctl.stderr)
    const lines = ctl.stdout.trimEnd().split('\n')
    t.equal(lines.length, keys.length, `${name}: one line per key`)
    const where = new Map(lines.map((l) => l.split(' ') as [string, string]))
    answers.push(lines.join('\n'))

    const proxy = createProxy({ port: 0, topology: { kind: 'static', servers: servers.map((s) => ({ host: '127.0.0.1', port: s.port, weight: 1 })) }, placement: placementOptions(m) })
    await proxy.start()
    t.teardown(() => proxy.close())
    for (const s of servers) await exchange(s.port, 'flush_all\r\n')
    const stored = (await exchange(proxy.port, keys.map((k) => `set ${k} 0 0 1\r\n1\r\n`).join(''))).toString()
    t.equal(stored.split('STORED\r\n').length - 1, keys.length, `${name}: every set STORED`)
    let wrong = 0
    for (const s of servers) {
      const got = (await exchange(s.port, `get ${keys.join(' ')}\r\n`)).toString()
      const on = [...got.matchAll(/^VALUE (\S+) /gm)].map((x) => x[1]!)
      for (const k of on) if (where.get(k) !== `127.0.0.1:${s.port}`) wrong++
      if (s === servers[0]) t.ok(on.length > 0, `${name}: server 0 holds keys`)
    }
    t.equal(wrong, 0, `${name}: each key is on the server memringctl names`)
    await proxy.close()
  }
  t.equal(new Set(answers).size, METHODS.length, 'every method places the 200 keys differently')

  const bad = spawnSync(process.execPath, [CTL, 'route', 'k', '--servers', list, '--hash', 'jump', '--hash-tag', '{}'], { encoding: 'utf8', timeout: 15000 })
  t.equal(bad.status, 2, 'a bad placement flag exits 2')
  t.match(bad.stderr, /memringctl: --hash-tag: jump takes no hash tag/)
  const explain = spawnSync(process.execPath, [CTL, 'route', 'user:1', '--explain', '--servers', list, '--hash', 'jump'], { encoding: 'utf8', timeout: 15000 })
  t.match(explain.stdout, /method +jump: md5 of the key \(64 bits\) -> bucket \d of 4 \(list order\)/)
})
