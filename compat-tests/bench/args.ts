// compat-tests/bench/args.ts: the benchmark scripts' `--name value` options.

/** The value after `--name` on the command line, or `dflt`. */
export function arg (name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : dflt
}

/** The number after `--name` on the command line, or `dflt`. */
export function numArg (name: string, dflt: number): number {
  const v = arg(name, '')
  return v === '' ? dflt : Number(v)
}
