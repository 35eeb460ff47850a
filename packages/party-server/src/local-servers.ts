/**
 * A dealer, P0 and P1 in this process on loopback WebSockets, each with a fresh key pair and the
 * others' public keys configured (pinned). For tests and single-machine runs; a deployment runs the
 * three as separate processes or containers (`mpcache serve`, docker-compose.yml).
 */
import { generateKeyPair, type KeyPair, type PartyId, type TlsServerOptions } from '@mpcache/mpc-core';
import { DealerServer, type DealerServerOptions } from './dealer-server';
import type { PartyJob } from './jobs/party-job';
import { PartyServer, type PartyServerOptions } from './party-server';

export interface LocalServersOptions {
  /** The job of each party (the same kind on both; each party holds its own weight shares). */
  readonly job: (party: PartyId) => PartyJob;
  readonly host?: string;
  /** Extra options for both parties (timeouts, limits, link emulation, log). */
  readonly party?: Partial<Omit<PartyServerOptions, 'role' | 'keys' | 'job' | 'dealerUrl' | 'peerUrl'>>;
  readonly dealer?: Partial<Omit<DealerServerOptions, 'keys'>>;
  /** All three serve wss:// with this certificate and key, and the parties trust `ca` when dialing. */
  readonly tls?: TlsServerOptions & { readonly ca: string | Buffer };
}

export interface LocalServers {
  readonly dealer: DealerServer;
  readonly p0: PartyServer;
  readonly p1: PartyServer;
  /** The three servers' key pairs (local tests and demos only: a deployment's never leave their server). */
  readonly keys: { readonly p0: KeyPair; readonly p1: KeyPair; readonly dealer: KeyPair };
  close(): Promise<void>;
}

export async function startLocalServers(opts: LocalServersOptions): Promise<LocalServers> {
  const host = opts.host ?? '127.0.0.1';
  const keys = [generateKeyPair(), generateKeyPair(), generateKeyPair()] as const; // P0, P1, dealer
  const tls = opts.tls && { tls: { cert: opts.tls.cert, key: opts.tls.key } };
  const dealer = await DealerServer.start({
    host,
    ...tls,
    ...opts.dealer,
    keys: keys[2],
    partyPublicKeys: { p0: keys[0].publicKey, p1: keys[1].publicKey },
  });
  const common = { host, ...tls, ...(opts.tls ? { tlsCa: opts.tls.ca } : {}), ...opts.party, dealerUrl: dealer.url, dealerPublicKey: keys[2].publicKey };
  const p0 = await PartyServer.start({ ...common, role: 0, keys: keys[0], job: opts.job(0), peerPublicKey: keys[1].publicKey });
  const p1 = await PartyServer.start({ ...common, role: 1, keys: keys[1], job: opts.job(1), peerUrl: p0.url, peerPublicKey: keys[0].publicKey });
  return {
    dealer,
    p0,
    p1,
    keys: { p0: keys[0], p1: keys[1], dealer: keys[2] },
    async close() {
      await Promise.all([p0.close(), p1.close()]);
      await dealer.close();
    },
  };
}
