/**
 * Request service time, sampled: the server asks `due()` once per text/meta request (a
 * countdown in the implementation) and times only the requests it says yes to, so an
 * unobserved server pays one call and a decrement per request. What is timed is the
 * server's own work on the request (parse to reply queued), not the network: for storage
 * commands, the handling of the data block. The implementation (lib/metrics) keeps the
 * histograms; the server knows only this interface.
 */
export interface RequestTimer {
  /** True when this request is to be timed. */
  due (): boolean
  /** A timed request of command `op` (protocol Op) took `seconds`. */
  record (op: number, seconds: number): void
}
