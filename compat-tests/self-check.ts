// Checks the suite itself: the divergence list in README.md and divergences.ts name
// the same entries, and each is pinned by a test that exists. Runs once per target
// (it is cheap) so the table shows it; it needs no server.

import fs from 'node:fs'
import path from 'node:path'
import { deepEq, ok } from './harness/check.js'
import { repoRoot } from './harness/targets.js'
import { divergences } from './divergences.js'
import type { SuiteDef } from './harness/suite.js'

export function selfCheck (all: () => SuiteDef[]): SuiteDef {
  return {
    name: 'compat/self-check',
    layer: 'text',
    noServer: true,
    tests: [{
      name: 'README divergence list matches divergences.ts and every entry is pinned',
      async run () {
        const readme = fs.readFileSync(path.join(repoRoot, 'compat-tests', 'README.md'), 'utf8')
        const start = readme.indexOf('## Documented divergences')
        ok(start >= 0, 'README.md has a "## Documented divergences" section')
        const end = readme.indexOf('\n## ', start + 5)
        const section = readme.slice(start, end < 0 ? undefined : end)
        const listed = [...section.matchAll(/^\s*[-*] \*\*([DP]\d+)\*\*/gm)].map((m) => m[1]).sort()
        deepEq(listed, divergences.map((d) => d.id).sort(), 'divergence ids in README.md vs divergences.ts')
        const names = new Set(all().flatMap((s) => s.tests.map((t) => `${s.name}: ${t.name}`)))
        for (const d of divergences) ok(names.has(d.pinnedBy), `${d.id} is pinned by an existing test ("${d.pinnedBy}")`)
      },
    }],
  }
}
