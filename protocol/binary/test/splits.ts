/**
 * Feeds one input three ways (whole, one byte at a time, cut at every position into two
 * chunks) so a parser test can assert the same outcome for each. Test-only helper.
 */
export interface Feeding { name: string, chunks: Buffer[] }

export function* feedings (input: Buffer): Generator<Feeding> {
  yield { name: 'whole', chunks: [Buffer.from(input)] }
  const bytes: Buffer[] = []
  for (let i = 0; i < input.length; i++) bytes.push(Buffer.from(input.subarray(i, i + 1)))
  yield { name: 'byte by byte', chunks: bytes }
  for (let cut = 1; cut < input.length; cut++) {
    yield { name: `split at ${cut}`, chunks: [Buffer.from(input.subarray(0, cut)), Buffer.from(input.subarray(cut))] }
  }
}
