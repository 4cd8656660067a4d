/**
 * Opens a backend connection: plain TCP, or TLS when the host has a TLS profile
 * (--backend-tls, or the host advertises TLS in ZooKeeper). `onReady` runs once requests
 * can flow: after the TCP connect, or after a TLS handshake that verified the host.
 * Shared by the text and binary backend connections.
 */
import { connect, type Socket } from 'node:net'
import tls from 'node:tls'
import { wanRoute } from '../wan-map.js'

/** What a TLS backend connection presents and checks (files already read). */
export interface BackendTlsProfile {
  /** CA certificates the host's certificate must chain to (absent: Node's default CAs). */
  ca?: Buffer
  /** The proxy's client certificate and key (for hosts with ssl_verify_mode >= 1). */
  cert?: Buffer
  key?: Buffer
  /** Name checked against the host's certificate (absent: the host name we connect to). */
  servername?: string
}

export function dialBackend (host: string, port: number, profile: BackendTlsProfile | null, onReady: () => void): Socket {
  const route = wanRoute(host, port)
  if (profile === null) {
    const sock = connect(route)
    sock.once('connect', onReady)
    return sock
  }
  // An IP address is no SNI name; the certificate is still checked against it (its SANs).
  const servername = profile.servername ?? (/^[\d.]+$|:/.test(host) ? undefined : host)
  const sock = tls.connect({ ...route, ca: profile.ca, cert: profile.cert, key: profile.key, servername, checkServerIdentity: (_name, cert) => tls.checkServerIdentity(profile.servername ?? host, cert) })
  sock.once('secureConnect', onReady)
  return sock
}
