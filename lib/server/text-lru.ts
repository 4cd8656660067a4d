/**
 * `lru mode|tune|temp_ttl`: memcached 1.6.18 proto_text.c process_lru_command, with its
 * token rules (token counts are ours: memcached's ntokens minus its terminal token):
 *
 *   lru tune <hot_pct> <warm_pct> <hot_max_factor> <warm_max_factor>   (6+ tokens)
 *     pcts by safe_strtoul (uint32), factors by safe_strtod; a bad number is "ERROR";
 *     hot + warm over 80 (uint32 sum, so it can wrap) is "ERROR hot and warm pcts must not
 *     exceed 80"; a factor <= 0 is "ERROR hot/warm age factors must be greater than 0"
 *     (NaN passes, as in C).
 *   lru mode flat|segmented                                           (3+ tokens)
 *     mode and temp_ttl only while the LRU maintainer runs (not after -o no_lru_maintainer).
 *   lru temp_ttl <n>     safe_strtol; n < 0 turns the temp LRU off, else on with ttl n
 *   anything else, or fewer tokens: "ERROR". A last token "noreply" silences every reply.
 *
 * Applied to the store: segmented/flat and the HOT/WARM shares. Shown in `stats settings`
 * only: the max-age factors and temp_ttl (memring's LRU has no age-based limits and no
 * TEMP list; see README "Documented differences").
 */
import { same, word } from '../../protocol/bytes.js'
import { lastDoubleNegative, parseDouble } from '../../protocol/float.js'
import { parseI32, parseU32 } from '../../protocol/numbers.js'
import type { TextLine } from '../../protocol/text/request-parser.js'
import type { ServerContext } from './context.js'
import { tempLruTtl } from './settings.js'

const W_TUNE = word('tune')
const W_MODE = word('mode')
const W_TEMP_TTL = word('temp_ttl')
const W_FLAT = word('flat')
const W_SEGMENTED = word('segmented')

export const LRU_OK = 'OK'
export const LRU_ERROR = 'ERROR'
const PCTS_TOO_BIG = 'ERROR hot and warm pcts must not exceed 80'
const FACTORS_BAD = 'ERROR hot/warm age factors must be greater than 0'

/** Runs one `lru` line (at least two tokens) and returns memcached's reply line. */
export function lruCommand (line: TextLine, ctx: ServerContext): string {
  const buf = line.buf
  const n = line.ntokens
  const sub = (w: Uint8Array): boolean => same(buf, line.tokS[1], line.tokE[1], w)
  const s = ctx.settings
  if (sub(W_TUNE) && n >= 6) {
    const hot = parseU32(buf, line.tokS[2], line.tokE[2])
    const warm = parseU32(buf, line.tokS[3], line.tokE[3])
    if (hot < 0 || warm < 0) return LRU_ERROR
    const hotFactor = parseDouble(buf, line.tokS[4], line.tokE[4])
    if (hotFactor === null) return LRU_ERROR
    const hotNeg = lastDoubleNegative()
    const warmFactor = parseDouble(buf, line.tokS[5], line.tokE[5])
    if (warmFactor === null) return LRU_ERROR
    const warmNeg = lastDoubleNegative()
    if (((hot + warm) >>> 0) > 80) return PCTS_TOO_BIG
    if (warmFactor <= 0 || hotFactor <= 0) return FACTORS_BAD
    s.hotLruPct = hot
    s.warmLruPct = warm
    s.hotMaxFactor = hotFactor
    s.warmMaxFactor = warmFactor
    s.maxFactorNegNan = [hotNeg && Number.isNaN(hotFactor), warmNeg && Number.isNaN(warmFactor)]
    ctx.store.setLruPolicy(s.lruSegmented, hot, warm)
    return LRU_OK
  }
  if (sub(W_MODE) && n >= 3 && s.lruMaintainer) {
    const arg = (w: Uint8Array): boolean => same(buf, line.tokS[2], line.tokE[2], w)
    if (arg(W_FLAT)) s.lruSegmented = false
    else if (arg(W_SEGMENTED)) s.lruSegmented = true
    else return LRU_ERROR
    ctx.store.setLruPolicy(s.lruSegmented, s.hotLruPct, s.warmLruPct)
    return LRU_OK
  }
  if (sub(W_TEMP_TTL) && n >= 3 && s.lruMaintainer) {
    const ttl = parseI32(buf, line.tokS[2], line.tokE[2])
    if (Number.isNaN(ttl)) return LRU_ERROR
    if (ttl < 0) {
      s.tempLru = false
    } else {
      s.tempLru = true
      s.temporaryTtl = ttl
    }
    ctx.store.setTempLru(tempLruTtl(s))
    return LRU_OK
  }
  return LRU_ERROR
}
