import t from 'tap'
import {
  Code, MetaError, Reply, flagErrorLine, metaLineMax, u64Length, writeCode, writeCrlf, writeFlagChar,
  writeFlagUint, writeInt, writeKeyFlag, writeToken, writeU64, writeUint, writeVa,
} from '../response-encoder.js'
import { FlagError } from '../flags.js'

const s = (b: Buffer, end: number): string => b.subarray(0, end).toString('latin1')

t.test('constant replies end in CRLF and say what memcached says', async (t) => {
  t.equal(Reply.HD.toString(), 'HD\r\n')
  t.equal(Reply.EN.toString(), 'EN\r\n')
  t.equal(Reply.MN.toString(), 'MN\r\n')
  t.equal(MetaError.mgTooManyFlags.toString(), 'CLIENT_ERROR options flags are too long\r\n')
  t.equal(MetaError.tooManyFlags.toString(), 'CLIENT_ERROR options flags too long\r\n')
  t.equal(flagErrorLine(FlagError.Default), MetaError.badFormat)
  t.equal(flagErrorLine(FlagError.Invalid).toString(), 'CLIENT_ERROR invalid flag\r\n')
})

t.test('a full mg hit line: VA, numeric flags, opaque, key, markers', async (t) => {
  const b = Buffer.alloc(metaLineMax(3))
  let o = writeVa(b, 0, 1234)
  o = writeFlagUint(b, o, 0x63, 9007199254740991)
  o = writeFlagChar(b, o, 0x74); o = writeInt(b, o, -1)
  o = writeToken(b, o, Buffer.from('Oabc'), 0, 4)
  o = writeKeyFlag(b, o, Buffer.from('foo'), 0, 3, false)
  o = writeKeyFlag(b, o, Uint8Array.from([0, 255]), 0, 2, true)
  o = writeFlagChar(b, o, 0x57)
  o = writeCrlf(b, o)
  t.equal(s(b, o), 'VA 1234 c9007199254740991 t-1 Oabc kfoo kAP8= b W\r\n')
  o = writeCode(b, 0, Code.NS)
  t.equal(s(b, o), 'NS')
})

t.test('integers: every power of ten boundary, and uint64 extremes', async (t) => {
  const b = Buffer.alloc(32)
  for (let n = 1; n < 1e15; n *= 10) {
    for (const v of [n - 1, n, n + 1]) t.equal(s(b, writeUint(b, 0, v)), String(v))
  }
  for (const v of [0n, 9n, 9007199254740991n, 9007199254740992n, 10000000000000000000n, 18446744073709551615n, 18446744070000000001n]) {
    t.equal(s(b, writeU64(b, 0, v)), v.toString())
    t.equal(u64Length(v), v.toString().length)
  }
})
