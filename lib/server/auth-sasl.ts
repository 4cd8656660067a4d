/**
 * SASL for the binary protocol (`-S`), mechanism PLAIN (RFC 4616), behaving as memcached
 * 1.6.18 with Cyrus SASL does on the wire:
 *  - SASL_LIST_MECHS answers "PLAIN";
 *  - SASL_AUTH with an empty body answers AUTH_CONTINUE with an empty challenge and the
 *    credentials come in SASL_STEP; with a body the credentials are checked at once;
 *  - credentials are `authzid NUL authcid NUL password`; the authzid must be empty or
 *    equal to authcid; anything missing or extra fails;
 *  - success answers "Authenticated"; any failure answers AUTH_ERROR ("Auth failure.");
 *  - every LIST_MECHS, AUTH and STEP first drops the connection's authentication (memcached
 *    re-initialises its SASL connection), so a failed re-auth leaves it unauthenticated;
 *  - STEP without a started exchange, or after one that completed, fails.
 * The mechanism name is matched case-insensitively, as Cyrus does.
 */

export const SASL_MECHS = Buffer.from('PLAIN', 'latin1')
export const AUTHENTICATED = Buffer.from('Authenticated', 'latin1')
/** memcached's MAX_SASL_MECH_LEN: a longer mechanism name gets EINVAL. */
export const MAX_SASL_MECH_LEN = 32

export type PasswordCheck = (user: Uint8Array, pass: Uint8Array) => boolean

export const SaslResult = { Ok: 0, Continue: 1, Fail: 2 } as const
export type SaslResult = (typeof SaslResult)[keyof typeof SaslResult]

/** Per-connection SASL state. */
export class SaslConversation {
  authenticated = false
  /** memcached's sasl_started: an AUTH that answered OK or CONTINUE. */
  private started = false
  /** The exchange completed (Cyrus refuses further steps). */
  private done = false

  constructor (private readonly check: PasswordCheck) {}

  /** SASL_LIST_MECHS: re-initialises (drops authentication). */
  listMechs (): void {
    this.authenticated = false
  }

  auth (mech: Uint8Array, ms: number, me: number, data: Uint8Array, ds: number, de: number): SaslResult {
    this.authenticated = false
    this.done = false
    if (!isPlain(mech, ms, me)) {
      this.started = false
      return SaslResult.Fail
    }
    if (ds === de) {
      this.started = true
      return SaslResult.Continue
    }
    const ok = this.verify(data, ds, de)
    this.started = ok
    this.done = ok
    this.authenticated = ok
    return ok ? SaslResult.Ok : SaslResult.Fail
  }

  step (data: Uint8Array, ds: number, de: number): SaslResult {
    this.authenticated = false
    if (!this.started || this.done) return SaslResult.Fail
    const ok = ds !== de && this.verify(data, ds, de)
    this.done = ok
    this.authenticated = ok
    return ok ? SaslResult.Ok : SaslResult.Fail
  }

  private verify (data: Uint8Array, s: number, e: number): boolean {
    const a = indexOfNul(data, s, e)
    if (a < 0) return false
    const b = indexOfNul(data, a + 1, e)
    if (b < 0) return false
    if (indexOfNul(data, b + 1, e) >= 0) return false // more data than PLAIN carries
    const authzid = data.subarray(s, a)
    const user = data.subarray(a + 1, b)
    const pass = data.subarray(b + 1, e)
    if (user.length === 0 || pass.length === 0) return false
    if (authzid.length > 0 && Buffer.compare(authzid, user) !== 0) return false
    return this.check(user, pass)
  }
}

function indexOfNul (b: Uint8Array, s: number, e: number): number {
  for (let i = s; i < e; i++) if (b[i] === 0) return i
  return -1
}

const PLAIN = [0x50, 0x4c, 0x41, 0x49, 0x4e] // "PLAIN"
function isPlain (b: Uint8Array, s: number, e: number): boolean {
  if (e - s !== PLAIN.length) return false
  for (let i = 0; i < PLAIN.length; i++) if ((b[s + i] & 0xdf) !== PLAIN[i]) return false
  return true
}
