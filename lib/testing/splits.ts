/**
 * Feed a fixture three ways (STYLE §3.3): whole, one byte at a time, and cut in two at
 * every position. Every way must give the same result.
 */
export function * splits (input: Buffer): Generator<{ name: string, chunks: Buffer[] }> {
  yield { name: 'whole', chunks: [input] }
  const bytes: Buffer[] = []
  for (let i = 0; i < input.length; i++) bytes.push(input.subarray(i, i + 1))
  yield { name: 'byte by byte', chunks: bytes }
  for (let i = 1; i < input.length; i++) {
    yield { name: `split at ${i}`, chunks: [input.subarray(0, i), input.subarray(i)] }
  }
}
