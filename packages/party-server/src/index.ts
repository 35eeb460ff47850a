/**
 * @mpcache/party-server — the deployable servers: party P0/P1 (`PartyServer`) and the dealer
 * (`DealerServer`), WebSocket services with sessions, seed agreement, limits and per-session error
 * handling; plus the client ↔ party wire format the client SDK speaks.
 *
 * @example
 *   const dealer = await DealerServer.start({ keys: generateKeyPair() });
 *   const p0 = await PartyServer.start({ role: 0, keys: generateKeyPair(), job, dealerUrl: dealer.url });
 *   const p1 = await PartyServer.start({ role: 1, keys: generateKeyPair(), job, dealerUrl: dealer.url, peerUrl: p0.url });
 */
export * from './wire/message-frame';
export * from './wire/wire-error';
export * from './wire/client-messages';
export * from './wire/session-options';
export * from './wire/server-hello';
export * from './server-keys';
export * from './hello-auth';
export * from './rendezvous';
export * from './jobs/party-job';
export * from './jobs/ring-recurrence-job';
export * from './correlation-registry';
export * from './party-session';
export * from './client-connection';
export * from './party-server';
export * from './dealer-server';
export * from './local-servers';
export * from './jobs/secure-generate-job';
export * from './jobs/local-weight-shares';
export * from './session-links';
export * from './hello-handshake';
export * from './jobs/local-gate-shares';
export * from './wire/client-seal';
export * from './server-drain';
export * from './server-metrics';
