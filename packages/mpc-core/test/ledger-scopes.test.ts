/**
 * Ledger scopes: costs count in the current scope and its parents, names sum across paths, and
 * rootScope runs outside the current scope (the dealer's unused speculative material).
 */
import { Ledger } from '@mpcache/mpc-core';

describe('Ledger scopes', () => {
  it('nested scopes count in every enclosing scope; a name sums over its paths', async () => {
    const L = new Ledger();
    await L.scope('layer', async () => {
      L.recordSend(10);
      await L.scope('exp', async () => L.recordOffline(7));
    });
    await L.scope('exp', async () => L.recordOffline(5));
    expect(L.get('layer')).toMatchObject({ bytesSent: 10, messages: 1, offlineBytes: 7 });
    expect(L.get('exp').offlineBytes).toBe(12);
    expect(L.get('layer/exp').offlineBytes).toBe(7);
    expect(L.snapshot()).toMatchObject({ bytesSent: 10, offlineBytes: 12 });
  });

  it('rootScope: recorded at the top level, not in the scope that is running', async () => {
    const L = new Ledger();
    await L.scope('layer', async () => {
      L.rootScope('unused', () => L.recordOffline(9));
      L.recordOffline(1);
    });
    expect(L.get('layer').offlineBytes).toBe(1);
    expect(L.get('unused').offlineBytes).toBe(9);
    expect([...L.paths().keys()].sort()).toEqual(['layer', 'unused']);
    expect(L.snapshot().offlineBytes).toBe(10);
  });
});
