/**
 * @mpcache/client — the client SDK and the `mpcache` CLI. The client secret-shares a prompt between
 * the two parties, streams back shares of each generated token and reconstructs them locally.
 *
 * @example
 *   const client = await MpcacheClient.connect({ p0: 'ws://localhost:9000', p1: 'ws://localhost:9001' });
 *   const session = await client.openSession({ model: 'stories15m', maxNewTokens: 24 });
 *   for await (const t of generateText(session, tokenizer, 'Once upon a time')) process.stdout.write(t.text);
 */
export * from './sdk/async-queue';
export * from './sdk/client-session';
export * from './sdk/session-seals';
export * from './sdk/mpcache-client';
export * from './sdk/generate-text';
export * from './deploy/local-deployment';
