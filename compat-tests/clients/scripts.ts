// Real clients that run as their own programs: Debian's python3-pymemcache,
// python3-memcache and ruby-dalli scenarios, and libmemcached-tools
// (memccapable ascii and binary, memccp, memccat, memcstat).

import fs from 'node:fs'
import path from 'node:path'
import { spawnSync } from 'node:child_process'
import { eq, fail, ok } from '../harness/check.js'
import { repoRoot } from '../harness/targets.js'
import { suite, test, type Ctx } from '../harness/suite.js'
import type { RunningServer } from '../harness/targets.js'

const here = path.join(repoRoot, 'compat-tests', 'clients')
const PY = '/usr/bin/python3'

const has = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0
const pyHas = (mod: string): boolean => fs.existsSync(PY) && spawnSync(PY, ['-c', `import ${mod}`], { stdio: 'ignore' }).status === 0
const rbHas = (lib: string): boolean => has('ruby') && spawnSync('ruby', ['-e', `require "${lib}"`], { stdio: 'ignore' }).status === 0

/** Runs a scenario script; it prints "ok N checks" on success. */
async function scenario (ctx: Ctx, cmd: string, args: string[], s: RunningServer = ctx.server): Promise<void> {
  const r = await ctx.exec(cmd, [...args, s.host, String(s.port)], { timeoutMs: 60000 })
  const out = (r.stdout + r.stderr).trim()
  if (r.code !== 0 || !/^ok \d+ checks$/m.test(r.stdout)) fail(`${path.basename(args[0])} exited ${r.code ?? r.signal}${r.timedOut ? ' (timed out)' : ''}: ${out.slice(-1500)}`)
  ctx.note(out.split('\n').pop() ?? '')
}

async function memccapable (ctx: Ctx, mode: '-a' | '-b'): Promise<void> {
  if (!has('memccapable')) ctx.skip('memccapable is not installed (Debian package libmemcached-tools)')
  const r = await ctx.exec('memccapable', ['-h', ctx.server.host, '-p', String(ctx.server.port), mode, '-t', '10'], { timeoutMs: 60000 })
  const lines = r.stdout.split('\n').filter((l) => /\[(pass|fail|skip)\]/.test(l))
  const failed = lines.filter((l) => !l.includes('[pass]'))
  if (r.code !== 0 || failed.length > 0 || !r.stdout.includes('All tests passed')) {
    fail(`memccapable ${mode}: ${failed.length} of ${lines.length} checks failed:\n      ${failed.join('\n      ')}${r.stderr ? '\n      ' + r.stderr.trim() : ''}`)
  }
  ctx.note(`${lines.length} checks passed`)
}

async function libmemcachedTools (ctx: Ctx, binary: boolean): Promise<void> {
  if (!has('memccp')) ctx.skip('memccp is not installed (Debian package libmemcached-tools)')
  const servers = `--servers=${ctx.server.host}:${ctx.server.port}`
  const extra = binary ? ['--binary'] : []
  const dir = ctx.tmpDir()
  const file = path.join(dir, binary ? 'payload.bin' : 'payload.txt')
  const data = Buffer.alloc(300000)
  for (let i = 0; i < data.length; i++) data[i] = (i * 31) & 0xff
  fs.writeFileSync(file, data)
  const cp = await ctx.exec('memccp', [servers, ...extra, file], { timeoutMs: 20000 })
  eq(cp.code, 0, `memccp exit code (${cp.stderr.trim()})`)
  // memccat prints the value and a newline
  const out = path.join(dir, 'out')
  const cat = await ctx.exec('sh', ['-c', `memccat ${servers} ${extra.join(' ')} ${path.basename(file)} > ${out}`], { timeoutMs: 20000 })
  eq(cat.code, 0, `memccat exit code (${cat.stderr.trim()})`)
  ok(fs.readFileSync(out).equals(Buffer.concat([data, Buffer.from('\n')])), 'memccat returns the bytes memccp stored')
  const missing = await ctx.exec('memccat', [servers, ...extra, 'no-such-key'], { timeoutMs: 20000 })
  ok(missing.code !== 0 || missing.stdout === '', 'memccat of a missing key prints nothing or fails')
  const st = await ctx.exec('memcstat', [servers, ...extra], { timeoutMs: 20000 })
  eq(st.code, 0, `memcstat exit code (${st.stderr.trim()})`)
  for (const k of ['pid', 'uptime', 'curr_items', 'version']) ok(new RegExp(`\\b${k}: `).test(st.stdout), `memcstat shows ${k}`)
}

export const pymemcache = suite('client/pymemcache (Debian, text)', 'client', [
  test('scenario', async (ctx) => {
    if (!pyHas('pymemcache')) ctx.skip('python3-pymemcache is not installed')
    await scenario(ctx, PY, [path.join(here, 'pymemcache_scenario.py')])
  }, 60000),
])

export const pythonMemcache = suite('client/python-memcache (Debian, text)', 'client', [
  test('scenario', async (ctx) => {
    if (!pyHas('memcache')) ctx.skip('python3-memcache is not installed')
    await scenario(ctx, PY, [path.join(here, 'python_memcache_scenario.py')])
  }, 60000),
])

export const dalli = suite('client/dalli (Debian ruby, binary)', 'client', [
  test('scenario', async (ctx) => {
    if (!rbHas('dalli')) ctx.skip('ruby-dalli is not installed')
    await scenario(ctx, 'ruby', [path.join(here, 'dalli_scenario.rb')])
  }, 60000),
  test('scenario over SASL PLAIN (-S)', async (ctx) => {
    if (!rbHas('dalli')) ctx.skip('ruby-dalli is not installed')
    const s = await ctx.spawn({ sasl: [{ user: 'alice', password: 'secret' }] })
    const r = await ctx.exec('ruby', [path.join(here, 'dalli_scenario.rb'), s.host, String(s.port), 'alice', 'secret'], { timeoutMs: 60000 })
    if (r.code !== 0) fail(`dalli over SASL exited ${r.code}: ${(r.stdout + r.stderr).trim().slice(-1500)}`)
    const bad = await ctx.exec('ruby', ['-e', `require "dalli"; Dalli.logger.level = Logger::FATAL; c = Dalli::Client.new("${s.host}:${s.port}", username: "alice", password: "wrong", socket_max_failures: 1); begin; c.get("x"); puts "no error"; rescue => e; puts "refused"; end`], { timeoutMs: 30000 })
    eq(bad.stdout.trim(), 'refused', 'a wrong password is refused')
  }, 60000),
])

export const libmemcached = suite('client/libmemcached-tools', 'client', [
  test('memccapable -a (ascii)', (ctx) => memccapable(ctx, '-a'), 60000),
  test('memccapable -b (binary)', (ctx) => memccapable(ctx, '-b'), 60000),
  test('memccp, memccat, memcstat (text)', (ctx) => libmemcachedTools(ctx, false), 30000),
  test('memccp, memccat, memcstat (--binary)', (ctx) => libmemcachedTools(ctx, true), 30000),
])
