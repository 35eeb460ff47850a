import { GPT2_SMALL, SecureFullCache, type SecureAttentionView } from '@mpcache/mpcache';
import { AttendedRowsMeter } from '../src/bench/decode/attended-rows-meter';
import { benchPolicy } from '../src/bench/decode/bench-policies';

describe('AttendedRowsMeter', () => {
  it('forwards the optional members that change what the decoder does (wide logits, needsProbs, plan keys, background work)', () => {
    const full = new AttendedRowsMeter(new SecureFullCache(), 2), view = {} as SecureAttentionView;
    expect(full.acceptsWideLogits).toBe(true);
    expect(full.needsProbs?.(view)).toBe(false);
    expect(new AttendedRowsMeter(benchPolicy('h2o', GPT2_SMALL, 256), 12).needsProbs).toBeUndefined();
    expect(full.planKey).toBeUndefined();
    expect(full.takeBackground).toBeUndefined();
    const inner = benchPolicy('mpcache', GPT2_SMALL, 256);
    const meter = new AttendedRowsMeter(inner, GPT2_SMALL.nLayers);
    expect(meter.acceptsWideLogits).toBe(inner.acceptsWideLogits);
    expect(meter.needsProbs?.(view)).toBe(false); // after the prompt
    expect(meter.planKey).toBeDefined();
    expect(meter.takeBackground?.(0)).toBeNull(); // nothing deferred before a step
    const keys = new Set<string>();
    for (let l = 0; l < GPT2_SMALL.nLayers; l++) {
      expect(meter.planKey!(l)).toBe(inner.planKey!(l));
      expect(meter.planOperandKeys!(l, 7)).toEqual(inner.planOperandKeys!(l, 7));
      keys.add(meter.planKey!(l));
    }
    expect(keys).toEqual(new Set(['mpcache lead', 'mpcache follow'])); // cross-layer sharing
  });
});
