// lib/app/dc-invalidate-command.ts
/**
 * `dc_invalidate <key> <hold_ms>`: a memring extension (not in memcached's protocol) that a
 * READ-ONLY copy (replica or follower) accepts from memring-proxy --dc-writes
 * local-invalidate. It drops this copy of the key and holds the key's incoming stream
 * records for hold_ms (lib/replication/holds.ts), so a reader in this DC sees a miss, never
 * a value older than the write the proxy is about to send to the master.
 *
 *   OK                                   dropped (or was not there) and held
 *   ERROR                                this node is a master (its copy is the truth; and
 *                                        a standalone memring answers as memcached does)
 *   SERVER_ERROR too many held keys      MAX_HELD_KEYS are held already
 *   CLIENT_ERROR bad command line format key over 250 bytes, hold_ms not in [1, 60000]
 *   ERROR                                not 3 tokens (as memcached for a bad line)
 *
 * Only a replica (a cluster replica or follower, or --replica-of) runs it: a master, and so
 * every plain memring, answers ERROR as memcached does for an unknown command. Never logged,
 * never replicated.
 */
import type { LocalCommand } from '../server/context.js'
import type { Replication } from '../replication/replication.js'
import { KEY_MAX_LENGTH } from '../../protocol/bytes.js'
import { parseU32 } from '../../protocol/numbers.js'

export const DC_INVALIDATE = 'dc_invalidate'
export const MAX_HOLD_MS = 60_000

const OK = Buffer.from('OK\r\n')
const FULL = Buffer.from('SERVER_ERROR too many held keys\r\n')
const BAD = Buffer.from('CLIENT_ERROR bad command line format\r\n')
const ERROR = Buffer.from('ERROR\r\n')

export function dcInvalidateCommand (repl: Replication): LocalCommand {
  return {
    word: DC_INVALIDATE,
    run (buf, tokS, tokE, ntokens) {
      if (repl.role !== 'replica' || ntokens !== 3) return ERROR
      const ks = tokS[1]!
      const ke = tokE[1]!
      if (ke - ks > KEY_MAX_LENGTH) return BAD
      const ms = parseU32(buf, tokS[2]!, tokE[2]!)
      if (ms < 1 || ms > MAX_HOLD_MS) return BAD
      return repl.invalidate(buf, ks, ke, ms) ? OK : FULL
    },
  }
}
