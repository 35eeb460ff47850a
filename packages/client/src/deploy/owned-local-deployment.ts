/**
 * The whole system on this machine for `mpcache demo` and `mpcache chat --local`: as the model
 * owner, split stories15M into two share files in a temporary directory (`writeModelShareFiles`,
 * as `mpcache share-model`), then start the dealer, P0 and P1 as three processes on loopback
 * WebSockets, each party loading only its own file. The directory holds both shares, so it is
 * removed when the deployment closes and also on SIGINT / SIGTERM before that.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findShippedAttentionGate, STORIES15M, writeModelShareFiles, type LoadedModel } from '@mpcache/mpcache';
import { DEFAULT_MODEL_FRAC_BITS } from '@mpcache/party-server';
import type { MpcacheClientOptions } from '../sdk/mpcache-client';
import { LocalDeployment } from './local-deployment';

export interface OwnedLocalDeployment {
  readonly servers: LocalDeployment;
  /** How a client reaches the servers, their keys pinned. */
  readonly connect: MpcacheClientOptions;
  /** Stop the servers and remove the owner's files. */
  close(): Promise<void>;
}

export async function startOwnedLocalDeployment(opts: {
  /** stories15M as the caller already loaded it (its weights are what the owner shares). */
  model: Pick<LoadedModel, 'config' | 'weights'>;
  net?: 'none' | 'lan' | 'wan';
  verbose?: boolean;
  note: (line: string) => void;
}): Promise<OwnedLocalDeployment> {
  const { config, weights } = opts.model;
  const ownerDir = mkdtempSync(join(tmpdir(), 'mpcache-demo-'));
  const removeOwnerDir = () => rmSync(ownerDir, { recursive: true, force: true });
  const onSignal = (sig: NodeJS.Signals) => {
    removeOwnerDir();
    process.exit(sig === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const cleanup = () => {
    removeOwnerDir();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
  try {
    const t0 = performance.now();
    opts.note('the model owner splits stories15M into two share files, one per party…');
    const { paths } = writeModelShareFiles(ownerDir, { weights, config, fracBits: DEFAULT_MODEL_FRAC_BITS, gate: findShippedAttentionGate(config) });
    opts.note('starting the dealer, P0 and P1 (three processes on loopback WebSockets; each party loads only its own share file)…');
    const servers = await LocalDeployment.start({ model: STORIES15M.name, net: opts.net, verbose: opts.verbose, shares: { p0: paths[0], p1: paths[1] } });
    opts.note(`  dealer ${servers.dealerUrl}   P0 ${servers.p0Url}   P1 ${servers.p1Url}   (up in ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
    return {
      servers,
      connect: { p0: servers.p0Url, p1: servers.p1Url, p0PublicKey: servers.p0PublicKey, p1PublicKey: servers.p1PublicKey },
      async close() {
        try {
          await servers.close();
        } finally {
          cleanup();
        }
      },
    };
  } catch (e) {
    cleanup();
    throw e;
  }
}
