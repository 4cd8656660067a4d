/**
 * A bad command line. Most are memring's own messages: bin/memring.ts prints them as
 * `memring: <message>` with a hint and exits 2. `verbatim` ones reproduce memcached 1.6.18
 * exactly (its message alone on stderr, its exit code: 1 from inside its option loop,
 * EX_USAGE 64 from the checks after it), so scripts that wrap memcached see the same.
 */
export class ConfigError extends Error {
  readonly code = 'MEMRING_ERR_CONFIG_INVALID'
  constructor (message: string, readonly exitCode = 2, readonly verbatim = false) {
    super(message)
    this.name = 'ConfigError'
  }
}

/** sysexits.h EX_USAGE, memcached's exit code for its post-parse option checks. */
export const EX_USAGE = 64

/** memcached's own failure: message printed as is, exit code 1 (or EX_USAGE). */
export function memcachedError (message: string, exitCode = 1): ConfigError {
  return new ConfigError(message, exitCode, true)
}
