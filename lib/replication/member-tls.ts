/**
 * TLS between cluster members (README "TLS", lib/replication/README.md): a node that runs
 * with -Z dials the node it follows with TLS, presenting its own certificate, and serves
 * its stream only to a peer whose certificate verified against its ssl_ca_cert. node:tls
 * does the cryptography and the checks; this file only decides.
 */
import net from 'node:net'
import tls from 'node:tls'

/** Opens the link to a master: TLS (options read now) when `options` is set, else TCP. */
export function dialMember (route: { host: string, port: number }, host: string, options: (() => tls.ConnectionOptions) | null): net.Socket {
  if (options === null) return net.connect(route)
  const o = options()
  // The certificate must name the address we were told (not where a WAN relay sends us).
  return tls.connect({ ...o, ...route, servername: net.isIP(host) === 0 ? host : undefined, checkServerIdentity: (_n, cert) => tls.checkServerIdentity(host, cert) })
}

/**
 * Why a connection may not take the stream of a TLS host: it did not come through a TLS
 * listener with a client certificate that verified (a notls: port, ssl_verify_mode 0, a
 * certificate from another CA). Null: a verified member.
 */
export function peerWithoutCertificate (socket: net.Socket): string | null {
  const s = socket as tls.TLSSocket
  if (s.encrypted !== true) return 'replication on this host needs TLS with a client certificate'
  if (!s.authorized) return `replication needs a verified client certificate (${String(s.authorizationError ?? 'none sent')})`
  return null
}
