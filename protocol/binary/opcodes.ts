/**
 * Command opcodes (protocol-binary.txt "Command Opcodes"; memcached's protocol_binary.h)
 * and the quiet -> normal folding memcached's dispatch_bin_command does, so one handler
 * serves GET and GETQ alike with a `quiet` bit.
 *
 * VERBOSITY (0x1b) is listed by the spec but memcached 1.6.18 does not implement it: it
 * answers UNKNOWN_COMMAND, and so do we. The range ops (0x30..0x3c) are the same.
 */

export const Opcode = {
  Get: 0x00,
  Set: 0x01,
  Add: 0x02,
  Replace: 0x03,
  Delete: 0x04,
  Increment: 0x05,
  Decrement: 0x06,
  Quit: 0x07,
  Flush: 0x08,
  GetQ: 0x09,
  Noop: 0x0a,
  Version: 0x0b,
  GetK: 0x0c,
  GetKQ: 0x0d,
  Append: 0x0e,
  Prepend: 0x0f,
  Stat: 0x10,
  SetQ: 0x11,
  AddQ: 0x12,
  ReplaceQ: 0x13,
  DeleteQ: 0x14,
  IncrementQ: 0x15,
  DecrementQ: 0x16,
  QuitQ: 0x17,
  FlushQ: 0x18,
  AppendQ: 0x19,
  PrependQ: 0x1a,
  Verbosity: 0x1b,
  Touch: 0x1c,
  Gat: 0x1d,
  GatQ: 0x1e,
  SaslListMechs: 0x20,
  SaslAuth: 0x21,
  SaslStep: 0x22,
  GatK: 0x23,
  GatKQ: 0x24,
} as const
export type Opcode = (typeof Opcode)[keyof typeof Opcode]

/** Marks an opcode memcached 1.6.18 does not serve (answered with UNKNOWN_COMMAND). */
export const UNKNOWN = -1

const base = new Int16Array(256).fill(UNKNOWN)
const quiet = new Uint8Array(256)
function def (op: number, normal: number, isQuiet: boolean): void {
  base[op] = normal
  quiet[op] = isQuiet ? 1 : 0
}
for (const op of [Opcode.Get, Opcode.Set, Opcode.Add, Opcode.Replace, Opcode.Delete,
  Opcode.Increment, Opcode.Decrement, Opcode.Quit, Opcode.Flush, Opcode.Noop,
  Opcode.Version, Opcode.GetK, Opcode.Append, Opcode.Prepend, Opcode.Stat, Opcode.Touch,
  Opcode.Gat, Opcode.GatK, Opcode.SaslListMechs, Opcode.SaslAuth, Opcode.SaslStep]) {
  def(op, op, false)
}
def(Opcode.GetQ, Opcode.Get, true)
def(Opcode.GetKQ, Opcode.GetK, true)
def(Opcode.SetQ, Opcode.Set, true)
def(Opcode.AddQ, Opcode.Add, true)
def(Opcode.ReplaceQ, Opcode.Replace, true)
def(Opcode.DeleteQ, Opcode.Delete, true)
def(Opcode.IncrementQ, Opcode.Increment, true)
def(Opcode.DecrementQ, Opcode.Decrement, true)
def(Opcode.QuitQ, Opcode.Quit, true)
def(Opcode.FlushQ, Opcode.Flush, true)
def(Opcode.AppendQ, Opcode.Append, true)
def(Opcode.PrependQ, Opcode.Prepend, true)
def(Opcode.GatQ, Opcode.Gat, true)
def(Opcode.GatKQ, Opcode.GatK, true)

/** The normal (non-quiet) opcode for op, or UNKNOWN when memcached 1.6.18 has no such command. */
export function baseOpcode (op: number): number {
  return base[op & 0xff]
}

/** Whether op is a quiet variant (memcached sets noreply for it). */
export function isQuiet (op: number): boolean {
  return quiet[op & 0xff] === 1
}

/** Whether the request carries a value after its key (memcached reads it with conn_nread). */
export function carriesValue (normalOp: number): boolean {
  switch (normalOp) {
    case Opcode.Set: case Opcode.Add: case Opcode.Replace:
    case Opcode.Append: case Opcode.Prepend:
    case Opcode.SaslAuth: case Opcode.SaslStep:
      return true
  }
  return false
}
