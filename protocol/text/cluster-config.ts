/**
 * The reply to ElastiCache's `config get cluster` (its Memcached auto-discovery command,
 * documented by AWS under "Adding Auto Discovery to your client library"):
 *
 *   CONFIG cluster 0 <bytes>\r\n
 *   <version>\n
 *   <hostname>|<ip>|<port> <hostname>|<ip>|<port> ...\n
 *   \r\n
 *   END\r\n
 *
 * The data block is framed like a VALUE: `<bytes>` counts the version line and the node
 * line with their bare LFs, and the block is followed by CRLF. The version line ends in LF
 * only; nodes are separated by one space; the ip field may be empty (clients then use the
 * hostname). Not a per-request path: built once per list change by the owner.
 */
import { same, word } from '../bytes.js'
import type { TextLine } from './request-parser.js'

export interface DiscoveryNode {
  readonly hostname: string
  readonly ip: string
  readonly port: number
}

export function encodeClusterConfig (version: number, nodes: readonly DiscoveryNode[]): Buffer {
  const body = `${version}\n${nodes.map((n) => `${n.hostname}|${n.ip}|${n.port}`).join(' ')}\n`
  return Buffer.from(`CONFIG cluster 0 ${Buffer.byteLength(body, 'latin1')}\r\n${body}\r\nEND\r\n`, 'latin1')
}

const GET = word('get')
const CLUSTER = word('cluster')

/** True for exactly `config get cluster` (the only `config` form ElastiCache clients send). */
export function isConfigGetCluster (line: TextLine): boolean {
  return line.ntokens === 3 &&
    same(line.buf, line.tokS[1], line.tokE[1], GET) &&
    same(line.buf, line.tokS[2], line.tokE[2], CLUSTER)
}
