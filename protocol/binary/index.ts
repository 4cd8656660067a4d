/** The binary protocol codec: framing, header layout, opcodes, statuses, encoders. */
export * from './header.js'
export * from './opcodes.js'
export * from './status.js'
export * from './request-parser.js'
export * from './response-encoder.js'
export * from './request-encoder.js'
export * from './response-parser.js'
