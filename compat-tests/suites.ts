// Every compat suite, in the order they are started (slow ones first so the pool
// packs well). Each is one row of the runner's table.

import type { SuiteDef } from './harness/suite.js'
import { selfCheck } from './self-check.js'
import { dalli, libmemcached, pymemcache, pythonMemcache } from './clients/scripts.js'
import memjs from './clients/memjs.js'
import npmMemcached from './clients/npm-memcached.js'
import binaryCommands from './binary/commands.js'
import binaryOpcodes from './binary/opcodes.js'
import binaryErrors from './binary/malformed.js'
import binaryQuiet from './binary/quiet.js'
import binarySasl from './binary/sasl.js'
import metaDeleteArith from './meta/delete-arith.js'
import metaGet from './meta/get.js'
import metaLetters from './meta/letters.js'
import metaMisc from './meta/misc.js'
import metaSet from './meta/set.js'
import metaSwr from './meta/swr.js'
import textArgCounts from './text/argument-counts.js'
import textCasRace from './text/cas-race.js'
import textCommands from './text/commands.js'
import textDivergences from './text/divergences.js'
import textIncrDecr from './text/incr-decr.js'
import textKeys from './text/keys.js'
import textLimits from './text/limits.js'
import textNoreply from './text/noreply-pipeline.js'
import textServerFlags from './text/server-flags.js'
import textStats from './text/stats.js'
import textStorage from './text/storage.js'
import textTtl from './text/ttl.js'

export const suites: SuiteDef[] = [
  libmemcached,
  dalli,
  pymemcache,
  pythonMemcache,
  memjs,
  npmMemcached,
  textTtl,
  textServerFlags,
  textStorage,
  textKeys,
  textIncrDecr,
  textCasRace,
  textNoreply,
  textLimits,
  textCommands,
  textStats,
  textArgCounts,
  textDivergences,
  metaGet,
  metaSet,
  metaDeleteArith,
  metaMisc,
  metaSwr,
  metaLetters,
  binaryCommands,
  binaryQuiet,
  binaryErrors,
  binarySasl,
  binaryOpcodes,
  selfCheck(() => suites),
]
