/**
 * Text command names -> Op. Length first, then bytes (memcached's process_command_ascii
 * dispatch); no strings are made.
 */
import { Op } from '../request.js'
import { word } from '../bytes.js'

const W = {
  get: word('get'), set: word('set'), add: word('add'), cas: word('cas'), gat: word('gat'),
  gets: word('gets'), gats: word('gats'), incr: word('incr'), decr: word('decr'), quit: word('quit'),
  bget: word('bget'),
  touch: word('touch'), stats: word('stats'), slabs: word('slabs'), watch: word('watch'),
  delete: word('delete'), append: word('append'), config: word('config'),
  replace: word('replace'), prepend: word('prepend'), version: word('version'),
  shutdown: word('shutdown'), flush_all: word('flush_all'), verbosity: word('verbosity'),
  lru: word('lru'), lru_crawler: word('lru_crawler'), cache_memlimit: word('cache_memlimit'),
  refresh_certs: word('refresh_certs'),
}

function eq (buf: Uint8Array, s: number, w: Uint8Array): boolean {
  for (let i = 0; i < w.length; i++) if (buf[s + i] !== w[i]) return false
  return true
}

/** Names the command in buf[s, e). */
export function commandOf (buf: Uint8Array, s: number, e: number): Op {
  switch (e - s) {
    case 2:
      if (buf[s] !== 109 /* m */) return Op.Unknown
      switch (buf[s + 1]) {
        case 103: return Op.MetaGet // mg
        case 115: return Op.MetaSet // ms
        case 100: return Op.MetaDelete // md
        case 97: return Op.MetaArithmetic // ma
        case 110: return Op.MetaNoop // mn
        case 101: return Op.MetaDebug // me
        default: return Op.MetaUnknown
      }
    case 3:
      if (eq(buf, s, W.get)) return Op.Get
      if (eq(buf, s, W.set)) return Op.Set
      if (eq(buf, s, W.add)) return Op.Add
      if (eq(buf, s, W.cas)) return Op.Cas
      if (eq(buf, s, W.gat)) return Op.Gat
      if (eq(buf, s, W.lru)) return Op.Lru
      return Op.Unknown
    case 4:
      if (eq(buf, s, W.gets)) return Op.Gets
      if (eq(buf, s, W.gats)) return Op.Gats
      if (eq(buf, s, W.incr)) return Op.Incr
      if (eq(buf, s, W.decr)) return Op.Decr
      if (eq(buf, s, W.quit)) return Op.Quit
      if (eq(buf, s, W.bget)) return Op.Bget
      return Op.Unknown
    case 5:
      if (eq(buf, s, W.touch)) return Op.Touch
      if (eq(buf, s, W.stats)) return Op.Stats
      if (eq(buf, s, W.slabs)) return Op.Slabs
      if (eq(buf, s, W.watch)) return Op.Watch
      return Op.Unknown
    case 6:
      if (eq(buf, s, W.delete)) return Op.Delete
      if (eq(buf, s, W.append)) return Op.Append
      if (eq(buf, s, W.config)) return Op.Config
      return Op.Unknown
    case 7:
      if (eq(buf, s, W.replace)) return Op.Replace
      if (eq(buf, s, W.prepend)) return Op.Prepend
      if (eq(buf, s, W.version)) return Op.Version
      return Op.Unknown
    case 8:
      return eq(buf, s, W.shutdown) ? Op.Shutdown : Op.Unknown
    case 9:
      if (eq(buf, s, W.flush_all)) return Op.FlushAll
      if (eq(buf, s, W.verbosity)) return Op.Verbosity
      return Op.Unknown
    case 11:
      return eq(buf, s, W.lru_crawler) ? Op.LruCrawler : Op.Unknown
    case 13:
      return eq(buf, s, W.refresh_certs) ? Op.RefreshCerts : Op.Unknown
    case 14:
      return eq(buf, s, W.cache_memlimit) ? Op.CacheMemlimit : Op.Unknown
    default:
      return Op.Unknown
  }
}
