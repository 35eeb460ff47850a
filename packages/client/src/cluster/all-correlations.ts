/**
 * Every correlation spec the protocols package exports, for the dealer service's registry (the
 * dealer answers only names it knows, and validates params with each spec's own validator).
 */
import * as protocols from '@mpcache/protocols';
import { correlationRegistry, type AnyCorrelationSpec, type CorrelationRegistry } from '@mpcache/protocols';

function isSpec(x: unknown): x is AnyCorrelationSpec {
  const s = x as Partial<AnyCorrelationSpec> | null;
  return !!s && typeof s === 'object' && typeof s.name === 'string' && typeof s.deal === 'function' && typeof s.validate === 'function';
}

export function allCorrelations(): CorrelationRegistry {
  return correlationRegistry((Object.values(protocols) as unknown[]).filter(isSpec));
}
