// memcached's human -v/-vv output (README "Verbose output"): real memcached 1.6.18 and the
// memring binary get the same connections and commands; their stderr lines must match once
// the numbers are made comparable. memcached prints file descriptors, which the kernel
// reuses; memring prints its connection ids. Both become c1, c2, ... in order of the line
// that introduces them (a listener or a new connection). Lines only one side has by design
// are left out: memring's JSON log lines, and the slab class table (memring's chunk sizes
// differ: README "Documented differences").
import t from 'tap'
import { haveMemcached, startMemcached } from '../../testing/memcached.js'
import type { RunningMemcached } from '../../testing/memcached.js'
import { startMemringProcess, type ChildServer } from '../../testing/memring-process.js'
import { exchange } from '../../testing/raw-client.js'
import { waitFor } from '../../testing/wait-for.js'

/** One connection each: every classic command family, noreply, a miss, an error, meta, a swallowed value. */
const SCRIPTS = [
  'set foo 0 0 3\r\nbar\r\nget foo nope\r\nbogus\r\nincr foo 1\r\nset n 0 0 1\r\n5\r\nincr n 2\r\n' +
    'decr n 1 noreply\r\ndelete foo\r\ndelete foo\r\ntouch n 10\r\ngets n\r\ngat 0 n\r\n' +
    'set x 0 0 1 noreply\r\nx\r\nadd x 0 0 1\r\ny\r\nversion\r\nmg n v\r\nms m 1\r\nz\r\nmn\r\n' +
    'stats detail dump\r\nappend zz 0 0 1\r\nq\r\ncas n 0 0 1 999\r\n1\r\nset k 0 0 1\r\nab\r\n' +
    'get ' + 'k'.repeat(251) + '\r\nflush_all\r\n',
  'get a b c\r\nset big 0 0 2000000\r\n',
  'version\r\nquit\r\n',
]

/**
 * Human lines (not JSON logs, not the slab table) with their numbers made comparable. The
 * start-up helpers probe the port with connections that send nothing (how many depends on
 * timing): a connection with no line but its opening and its close is left out.
 */
function normalise (stderr: string): string[] {
  const names = new Map<string, string>()
  let next = 1
  const lines: Array<{ who: string | null, text: string }> = []
  for (const line of stderr.split('\n')) {
    if (line === '' || line.startsWith('{') || line.startsWith('slab class ')) continue
    const m = /^([<>]?)(\d+)(:? )(.*)$/.exec(line)
    if (m === null) { lines.push({ who: null, text: line }); continue }
    const [, dir, num, sep, rest] = m
    if (/^(server listening|new .*client connection)/.test(rest!)) names.set(num!, `c${next++}`)
    const who = names.get(num!) ?? `?${num!}`
    lines.push({ who, text: `${dir!}${who}${sep!}${rest!}` })
  }
  const busy = new Set(lines.filter((l) => l.who !== null && !/ (new .*client connection\.?|connection closed\.)$/.test(l.text)).map((l) => l.who))
  const kept = lines.filter((l) => l.who === null || busy.has(l.who))
  // Renumber what is left, so the probes' numbers do not shift the others.
  const again = new Map<string, string>()
  return kept.map((l) => {
    if (l.who === null) return l.text
    if (!again.has(l.who)) again.set(l.who, `c${again.size + 1}`)
    return l.text.replace(l.who, again.get(l.who)!)
  })
}

const closedLines = (lines: string[]): number => lines.filter((l) => l.endsWith(' connection closed.')).length

async function run (port: number, stderr: () => string): Promise<string[]> {
  for (const s of SCRIPTS) await exchange(port, s)
  // Each connection's last line is written when the server sees the close: wait for all of them.
  await waitFor(() => closedLines(normalise(stderr())) >= SCRIPTS.length, { timeoutMs: 20_000, what: 'every connection closed line' })
  return normalise(stderr())
}

t.test('-vv prints what memcached -vv prints', { skip: haveMemcached() ? false : 'memcached not installed' }, async (t) => {
  for (const mode of [[], ['-B', 'ascii']]) {
    const mc: RunningMemcached = await startMemcached(t, ['-vv', ...mode], { stderr: true })
    const mr: ChildServer = await startMemringProcess(t, ['-vv', ...mode])
    const want = await run(mc.port, () => mc.stderr)
    const got = await run(mr.port, () => mr.stderr)
    t.ok(want.some((l) => l.includes('sending key')) && want.some((l) => l.includes('NOREPLY')), 'the script makes memcached print hits and noreply replies')
    t.same(got, want, `memring -vv ${mode.join(' ')} prints memcached's lines`)
  }
})

t.test('without -vv no request lines; -v says how it stops, as memcached -v does', { skip: haveMemcached() ? false : 'memcached not installed' }, async (t) => {
  for (const v of [[], ['-v']]) {
    const mc = await startMemcached(t, v, { stderr: true })
    const mr = await startMemringProcess(t, v)
    for (const s of SCRIPTS) { await exchange(mc.port, s); await exchange(mr.port, s) }
    mc.proc.kill('SIGTERM')
    await new Promise((resolve) => mc.proc.once('exit', resolve))
    await mr.kill('SIGTERM')
    const want = normalise(mc.stderr)
    t.same(normalise(mr.stderr), want, `memring ${v.join('') || '(no -v)'}: the same human lines as memcached (${JSON.stringify(want)})`)
    t.notOk(mr.stderr.split('\n').some((l) => /^[<>]\d/.test(l)), 'no per-connection lines')
  }
})
