// lib/crypto: value encryption shared by lib/client and memring-proxy (README.md).
export { KeyRing, KeyRingError, KEY_BYTES } from './key-ring.js'
export { ValueCipher, SEAL_OVERHEAD } from './value-cipher.js'
