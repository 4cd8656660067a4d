/**
 * memring-proxy's TLS flags: -Z and `-o ssl_*` exactly as memring/memcached take them (for
 * the clients' side), and --backend-tls, --backend-tls-ca/-cert/-key (for the backends' side).
 */
import { readFileSync } from 'node:fs'
import { defaultSettings } from '../server/settings.js'
import type { TlsSettings } from '../server/tls.js'
import type { BackendOptions } from '../proxy/index.js'
import { ConfigError } from './config-error.js'
import { applySuboptions } from './suboptions.js'

export interface RawTlsOptions {
  enableSsl?: boolean
  extended?: string[]
  backendTls?: boolean
  backendTlsCa?: string
  backendTlsCert?: string
  backendTlsKey?: string
}

/** -Z and -o: the proxy takes only the ssl_* suboptions, with memcached's checks and messages. */
export function frontendTls (o: RawTlsOptions): TlsSettings {
  const groups = o.extended ?? []
  for (const g of groups) {
    for (const item of g.split(',')) {
      const key = item.trim().split('=')[0]
      if (key !== '' && !key.startsWith('ssl_')) throw new ConfigError(`-o: memring-proxy takes only the ssl_* suboptions, not '${key}'`)
    }
  }
  const s = defaultSettings()
  applySuboptions(s, groups)
  s.tls.enabled = o.enableSsl === true
  return s.tls
}

function file (flag: string, path: string): Buffer {
  try { return readFileSync(path) } catch (err) { throw new ConfigError(`${flag}: cannot read ${path}: ${(err as Error).message}`) }
}

/**
 * --backend-tls (TLS to every backend) and the files the proxy trusts and presents. Without
 * --backend-tls the files still serve hosts that advertise TLS in ZooKeeper.
 */
export function backendTls (o: RawTlsOptions): BackendOptions['tls'] {
  if ((o.backendTlsCert === undefined) !== (o.backendTlsKey === undefined)) throw new ConfigError('--backend-tls-cert and --backend-tls-key go together')
  const any = o.backendTls === true || o.backendTlsCa !== undefined || o.backendTlsCert !== undefined
  if (!any) return null
  return {
    all: o.backendTls === true,
    profile: {
      ...(o.backendTlsCa !== undefined ? { ca: file('--backend-tls-ca', o.backendTlsCa) } : {}),
      ...(o.backendTlsCert !== undefined ? { cert: file('--backend-tls-cert', o.backendTlsCert), key: file('--backend-tls-key', o.backendTlsKey!) } : {}),
    },
  }
}
