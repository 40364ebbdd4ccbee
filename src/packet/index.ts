/**
 * Packet layers: encode, decode, checksums and packetdrill-style text.
 */

export * from './address.js';
export * from './checksum.js';
export * from './fields.js';
export * from './format.js';
export * from './icmpv4.js';
export * from './icmpv6.js';
export * from './in-place.js';
export * from './ipv4.js';
export * from './ipv6.js';
export * from './packet.js';
export * from './tcp.js';
export * from './tcp-options.js';
export * from './udp.js';
