/**
 * @mpcache/mpc-core — the ring Z_2^64, fixed point, tensors, WebAssembly kernels, PRG, sharing,
 * channels and the communication ledger. Everything above builds on these.
 *
 * @example
 *   const [c0, c1] = MemoryChannel.pair();
 *   const x = tensor([2], encode([1.5, -2]));
 *   const [x0, x1] = share(x);
 */
export * from './errors';
export * from './limits';
export * from './ring/fixed-point';
export * from './ring/ring-tensor';
export * from './prg/aes-ctr-prg';
export * from './prg/seed-agreement';
export * from './sharing/share';
export * from './channel/channel';
export * from './channel/mailbox';
export * from './channel/memory-channel';
export * from './ledger/ledger';
export * from './ring/matmul';
export * from './channel/frame';
export * from './channel/headroom';
export * from './channel/envelope';
export * from './channel/ws-channel';
export * from './channel/ws-listen';
export * from './ring/matmul-wasm';
export * from './ring/panels';
export * from './channel/outbox';
export * from './channel/message-assembler';
export * from './ring/wasm-module';
export * from './ring/kernel-arena';
export * from './runtime/retain-shape';
