// lib/proxy/put.ts
import { LARGE_PIECE, type Output } from '../server/output.js'

/**
 * Queue a reply piece we own. Small pieces are copied into the Output's staging so a
 * reply made of several (VALUE block + END) leaves in one write() rather than a
 * writev of tiny buffers (measured: writev dominated the proxy's CPU profile); large
 * ones are handed over as they are.
 */
export function put (out: Output, p: Buffer): void {
  if (p.length < LARGE_PIECE) out.bytes(p)
  else out.owned(p)
}
