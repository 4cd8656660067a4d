/**
 * Response status codes (protocol-binary.txt "Response Status") and the error bodies
 * memcached 1.6.18 sends with them (proto_bin.c write_bin_error with no explicit text).
 * The bodies are wire words; they are built once at load.
 */

export const Status = {
  SUCCESS: 0x0000,
  KEY_ENOENT: 0x0001,
  KEY_EEXISTS: 0x0002,
  E2BIG: 0x0003,
  EINVAL: 0x0004,
  NOT_STORED: 0x0005,
  DELTA_BADVAL: 0x0006,
  /** "Not my vbucket": memring uses it for a write sent to a read-only replica. */
  NOT_MY_VBUCKET: 0x0007,
  AUTH_ERROR: 0x0020,
  AUTH_CONTINUE: 0x0021,
  UNKNOWN_COMMAND: 0x0081,
  ENOMEM: 0x0082,
  /** "Internal error": memring's --min-replicas-to-ack timeout (applied here, acks missing). */
  EINTERNAL: 0x0084,
  /** "Temporary failure": memring's --min-replicas-to-ack refusal (too few replicas; not applied). */
  ETMPFAIL: 0x0086,
} as const
export type Status = (typeof Status)[keyof typeof Status]

const text = (s: string): Buffer => Buffer.from(s, 'latin1')

/** The default error body for each error status. */
export const ErrorBody: Readonly<Record<number, Buffer>> = {
  [Status.KEY_ENOENT]: text('Not found'),
  [Status.KEY_EEXISTS]: text('Data exists for key.'),
  [Status.E2BIG]: text('Too large.'),
  [Status.EINVAL]: text('Invalid arguments'),
  [Status.NOT_STORED]: text('Not stored.'),
  [Status.DELTA_BADVAL]: text('Non-numeric server-side value for incr or decr'),
  [Status.AUTH_ERROR]: text('Auth failure.'),
  [Status.UNKNOWN_COMMAND]: text('Unknown command'),
  [Status.ENOMEM]: text('Out of memory'),
}

/** ENOMEM bodies memcached words per situation (out_of_memory() minus "SERVER_ERROR "). */
export const NoMemoryBody = {
  allocatingItem: text('Out of memory allocating item'),
  allocatingNewItem: text('Out of memory allocating new item'),
  incrementing: text('Out of memory incrementing value'),
} as const
