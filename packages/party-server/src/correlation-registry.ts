/**
 * The dealer's registry: every correlation spec exported by @mpcache/protocols and @mpcache/mpcache
 * (the dealer answers only names it knows, and validates params with each spec's own validator).
 * Collected from the packages' exports so a new protocol needs no edit here.
 */
import * as mpcache from '@mpcache/mpcache';
import * as protocols from '@mpcache/protocols';
import { correlationRegistry, type AnyCorrelationSpec, type CorrelationRegistry } from '@mpcache/protocols';

function isSpec(x: unknown): x is AnyCorrelationSpec {
  const s = x as Partial<AnyCorrelationSpec> | null;
  return !!s && typeof s === 'object' && typeof s.name === 'string' && typeof s.deal === 'function' && typeof s.validate === 'function' && typeof s.messageBytes === 'function' && typeof s.generationWork === 'function';
}

export function allCorrelationSpecs(): CorrelationRegistry {
  const specs = [...Object.values(protocols), ...Object.values(mpcache)] as unknown[];
  return correlationRegistry(specs.filter(isSpec));
}
