/**
 * A bad command line: bin/memring.ts exits 2 for every one (memring's contract for a bad
 * flag or value). Most carry memring's own message, printed as `memring: <message>` with a
 * hint. `verbatim` ones carry memcached 1.6.18's exact message, printed alone, so a log
 * reads the same; `memcachedExitCode` records what memcached itself exits with there (1
 * from inside its option loop, EX_USAGE 64 from the checks after it), which the tests
 * check against the real binary. README "Documented differences" lists the exit codes.
 */
export class ConfigError extends Error {
  readonly code = 'MEMRING_ERR_CONFIG_INVALID'
  readonly exitCode = 2
  constructor (message: string, readonly memcachedExitCode: number | null = null, readonly verbatim = false) {
    super(message)
    this.name = 'ConfigError'
  }
}

/** sysexits.h EX_USAGE, memcached's exit code for its post-parse option checks. */
export const EX_USAGE = 64

/** memcached's own failure: its message printed as is; memcached exits 1 (or EX_USAGE). */
export function memcachedError (message: string, memcachedExitCode = 1): ConfigError {
  return new ConfigError(message, memcachedExitCode, true)
}
