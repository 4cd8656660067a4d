// Client `encryption` (issue 17 part 5): the Node client seals values with the same
// lib/crypto module as memring-proxy --encrypt-values, so either reads what the other
// wrote; a value altered on a real memring host is a miss (null) and counted.
import t from 'tap'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import { Client, ClientErrorCode, KeyRing } from '../index.js'
import { createProxy } from '../../proxy/index.js'
import { startServer } from '../../testing/servers.js'
import { rawClient } from '../../testing/raw-client.js'

const hex = randomBytes(32).toString('hex')

t.test('client sealing against a real host and through the proxy', async (t) => {
  const host = await startServer(t)
  const ring = KeyRing.parse(`7 ${hex}\n`)
  const c = new Client({ servers: `127.0.0.1:${host.port}`, encryption: ring })
  t.teardown(() => c.close())

  t.ok(await c.set('k', 'clear text', { flags: 9 }))
  t.same(await c.getItem('k'), { value: Buffer.from('clear text'), flags: 9, cas: null }, 'round trip with flags')
  const plain = new Client({ servers: `127.0.0.1:${host.port}` })
  t.teardown(() => plain.close())
  const raw = (await plain.getItem('k'))!
  t.equal(raw.flags, 9, 'flags in clear on the host')
  t.equal(raw.value.length, 10 + 31)
  t.equal(raw.value.readUInt16BE(1), 7, 'key id in the header')
  t.equal(raw.value.indexOf('clear'), -1, 'no plaintext on the host')

  const it = (await c.gets('k'))!
  t.equal(await c.cas('k', 'swapped', it.cas!, { flags: 9 }), 'STORED', 'cas with a sealed value')
  t.equal((await c.get('k'))?.toString(), 'swapped')

  // tamper directly on the host
  const sealed = (await plain.getItem('k'))!
  const bad = Buffer.from(sealed.value)
  bad[20]! ^= 0x04
  t.ok(await plain.set('k', bad, { flags: 9 }))
  t.equal(await c.get('k'), null, 'a tampered value is a miss')
  t.equal(c.counters.decryptFailures, 1, 'and counted')
  t.same(await c.getMulti(['k', 'nope']), [null, null])
  t.equal(c.counters.decryptFailures, 2)

  await t.rejects(c.incr('n', 1), { code: ClientErrorCode.NotWithEncryption })
  await t.rejects(c.append('k', 'x'), { code: ClientErrorCode.NotWithEncryption })
  await t.rejects(c.meta('ms', 'k', [], 'v'), { code: ClientErrorCode.NotWithEncryption })
  await t.rejects(c.meta('mg', 'k', ['v']), { code: ClientErrorCode.NotWithEncryption })

  // the proxy with the same ring reads what the client sealed, and the client what the proxy sealed
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ring-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  fs.writeFileSync(path.join(dir, 'ring'), `7 ${hex}\n`)
  const proxy = createProxy({ port: 0, encryptValues: path.join(dir, 'ring'), topology: { kind: 'static', servers: [{ host: '127.0.0.1', port: host.port }] } })
  await proxy.start()
  t.teardown(() => proxy.close())
  t.ok(await c.set('shared', 'from the client', { flags: 1 }))
  const pc = await rawClient(t, proxy.port)
  pc.write('get shared\r\nset back 2 0 14\r\nfrom the proxy\r\n')
  t.same(await pc.lines(4), ['VALUE shared 1 15', 'from the client', 'END', 'STORED'])
  t.same(await c.getItem('back'), { value: Buffer.from('from the proxy'), flags: 2, cas: null })
})

t.test('key ring file format', async (t) => {
  t.throws(() => KeyRing.parse(''), { code: 'MEMRING_ERR_KEYRING_EMPTY' })
  t.throws(() => KeyRing.parse('1 abcd\n'), { code: 'MEMRING_ERR_KEYRING_MALFORMED' }, 'short key')
  t.throws(() => KeyRing.parse(`0 ${hex}\n`), { code: 'MEMRING_ERR_KEYRING_MALFORMED' }, 'id 0')
  t.throws(() => KeyRing.parse(`1 ${hex}\n1 ${hex}\n`), { code: 'MEMRING_ERR_KEYRING_MALFORMED' }, 'id twice')
  const r = KeyRing.parse(`# c\n\n3 ${hex}\n2 ${Buffer.from(hex, 'hex').toString('base64')}\n`)
  t.equal(r.writeId, 2, 'the last key writes')
  t.equal(r.size, 2)
  t.throws(() => KeyRing.load('/nonexistent/ring'), { code: 'MEMRING_ERR_KEYRING_OPEN' })
})
