// --log-format: JSON lines by default (for log pipelines), or one readable line per event.
import t from 'tap'
import { spawn, spawnSync } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { prettyLine } from '../log-pretty.js'

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/memring.js')

t.test('prettyLine: time, level, module, message, then the other fields', async (t) => {
  const line = JSON.stringify({ level: 40, time: '2026-12-05T17:25:20.717Z', pid: 7, mod: 'election', shard: 's1', msg: 'shard has no master: electing', last: '127.0.0.1:1', epoch: 3, ranked: [{ node: 'a' }] })
  t.equal(prettyLine(line), '17:25:20.717 WARN  [election] shard has no master: electing shard=s1 last=127.0.0.1:1 epoch=3 ranked=[{"node":"a"}]\n')
  t.equal(prettyLine(JSON.stringify({ level: 30, time: '2026-12-05T00:00:00.000Z', msg: 'x', why: 'two words' })), '00:00:00.000 INFO  x why="two words"\n', 'values with spaces are quoted')
  const err = prettyLine(JSON.stringify({ level: 50, time: '2026-12-05T00:00:00.000Z', msg: 'boom', err: { message: 'bad', stack: 'Error: bad\n    at f' } }))
  t.match(err, /^00:00:00\.000 ERROR boom err=bad \n {4}Error: bad\n {8}at f\n$/, 'an error shows its message, then its stack indented')
  t.equal(prettyLine('not json'), 'not json\n', 'a line that is not JSON passes as it is')
})

/** memring's stderr until it says it listens, then stopped. */
async function firstLines (args: string[]): Promise<string> {
  const p = spawn(process.execPath, [BIN, '-p', '0', '-l', '127.0.0.1', '-v', ...args], { stdio: ['ignore', 'ignore', 'pipe'] })
  let out = ''
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 10_000)
    p.stderr.on('data', (d: Buffer) => { out += d.toString(); if (out.includes('listening')) { clearTimeout(timer); resolve() } })
  })
  p.kill('SIGKILL')
  return out
}

t.test('memring --log-format pretty writes readable lines; json (default) writes JSON', async (t) => {
  const pretty = (await firstLines(['--log-format', 'pretty'])).split('\n').find((l) => l.includes('listening')) ?? ''
  t.match(pretty, /^\d\d:\d\d:\d\d\.\d{3} INFO {2}memring listening addresses=\["127\.0\.0\.1:\d+"\] memoryLimitMb=64 maxConns=1024$/)
  const json = (await firstLines([])).split('\n').find((l) => l.includes('listening')) ?? ''
  const o = JSON.parse(json) as Record<string, unknown>
  t.equal(o.msg, 'memring listening', 'the default is one JSON object per line')
  t.equal(o.level, 30)
  const bad = spawnSync(process.execPath, [BIN, '--log-format', 'xml'], { encoding: 'utf8', timeout: 10_000 })
  t.equal(bad.status, 2, 'an unknown format exits 2')
  t.match(bad.stderr, /'xml' is invalid\. Allowed choices are json, pretty/)
})
