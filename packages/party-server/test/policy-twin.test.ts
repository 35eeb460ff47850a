/**
 * The plaintext twin the CLI compares with (`--reference`) is the policy the parties run: the same
 * options, including what the secure factory lays over the plaintext defaults (D2O with uniform
 * budgets and no merge, CAKE with uniform budgets: secureDefaults).
 */
import { CakePolicy, D2oPolicy, SecureCakePolicy, SecureD2oPolicy, STORIES15M } from '@mpcache/mpcache';
import { defaultSecurePolicies, plaintextPolicyTwin } from '@mpcache/party-server';

describe('plaintextPolicyTwin', () => {
  const config = STORIES15M;
  it.each([['d2o', D2oPolicy, SecureD2oPolicy], ['cake', CakePolicy, SecureCakePolicy]] as const)('%s: the options the parties run', (name, Plain, Secure) => {
    const twin = plaintextPolicyTwin(name, config), secure = defaultSecurePolicies(config)[name]();
    expect(twin).toBeInstanceOf(Plain);
    expect(secure).toBeInstanceOf(Secure);
    expect((twin as InstanceType<typeof Plain>).opts).toEqual((secure as InstanceType<typeof Secure>).opts);
    expect((twin as InstanceType<typeof Plain>).opts).toMatchObject({ layerBudgets: 'uniform' });
  });
});
