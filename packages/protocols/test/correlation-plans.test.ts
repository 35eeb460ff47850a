/**
 * CorrelationPlans: exact replays, and variants of a block family (`family@variant`) predicted from
 * the family's last recorded variants.
 */
import { CorrelationPlans, defineCorrelation, NO_DEALER_BYTES, type CorrelationRequest } from '@mpcache/protocols';

const spec = (name: string) => defineCorrelation(name, (q) => q as { n: number }, () => NO_DEALER_BYTES, () => 0, () => null) as unknown as CorrelationRequest['spec'];
const [grow, tree, fixed] = [spec('grow'), spec('tree'), spec('fixed')];
const req = (s: CorrelationRequest['spec'], params: unknown): CorrelationRequest => ({ spec: s, params });

/** A layer at cache length L: a growing product, a pairwise tree (⌊L/2⌋), a fixed-size request. */
const layer = (L: number, extra = false) => [
  req(grow, { rows: L + 1, key: 'w' }), req(tree, { n: 12 * Math.floor(L / 2) }),
  ...(extra ? [req(spec('pass'), { n: 7 })] : []), req(fixed, { n: 768, shape: [1, 768] }),
];

describe('CorrelationPlans', () => {
  it('replays a recorded key exactly (operand keys renamed)', () => {
    const plans = new CorrelationPlans();
    plans.set('layer', layer(10), ['w'], 0);
    expect(plans.replay('layer', 0, ['w'])).toEqual(layer(10));
    expect(plans.replay('layer', 0, ['v'])![0].params).toEqual({ rows: 11, key: 'v' });
    expect(plans.replay('other', 0, [])).toBeUndefined();
  });

  it('a new variant: nothing from one variant; from two, sizes continue linearly; from three, alternation repeats', () => {
    const plans = new CorrelationPlans();
    plans.set('layer@kv=10', layer(10), [], 0);
    expect(plans.replay('layer@kv=11', 0, [])).toBeUndefined();
    plans.set('layer@kv=11', layer(11), [], 0);
    const p12 = plans.replay('layer@kv=12', 0, [])!;
    expect(p12[0].params).toEqual({ rows: 13, key: 'w' }); // 2·12 − 11
    expect(p12[2].params).toEqual({ n: 768, shape: [1, 768] });
    plans.set('layer@kv=12', layer(12), [], 0);
    // tree: 60, 60, 72 → 84 (continues); at 13 the real one is 72: a miss, not an error
    expect(plans.replay('layer@kv=13', 0, [])![1].params).toEqual({ n: 84 });
    // alternating 60, 72, 60 → 72
    const alt = new CorrelationPlans();
    for (const [v, n] of [[1, 60], [2, 72], [3, 60]]) alt.set(`t@${v}`, [req(tree, { n })], [], 0);
    expect(alt.replay('t@4', 0, [])![0].params).toEqual({ n: 72 });
    // the exact key wins over a prediction
    expect(plans.replay('layer@kv=11', 0, [])).toEqual(layer(11));
  });

  it('a variant further on: sizes continue by the variant number (a skipped variant), alternations by its parity', () => {
    const plans = new CorrelationPlans();
    plans.set('layer@kv=10', layer(10), [], 0);
    plans.set('layer@kv=11', layer(11), [], 0);
    expect(plans.replay('layer@kv=13', 0, [])![0].params).toEqual({ rows: 14, key: 'w' }); // 12 was another family's step
    expect(plans.replay('layer@kv=9', 0, [])![0].params).toEqual({ rows: 10, key: 'w' });
    const alt = new CorrelationPlans();
    for (const [v, n] of [[1, 60], [2, 72], [3, 60]]) alt.set(`t@${v}`, [req(tree, { n })], [], 0);
    expect(alt.replay('t@5', 0, [])![0].params).toEqual({ n: 60 }); // even distance: as at 3
    expect(alt.replay('t@6', 0, [])![0].params).toEqual({ n: 72 }); // odd distance: as at 2
    // variants without one number: one step on
    const named = new CorrelationPlans();
    named.set('x@a', [req(grow, { rows: 4 })], [], 0);
    named.set('x@b', [req(grow, { rows: 5 })], [], 0);
    expect(named.replay('x@c', 0, [])![0].params).toEqual({ rows: 6 });
  });

  it("an extended family ('base +x') replays its base family's plan for the same variant until it has two variants of its own", () => {
    const plans = new CorrelationPlans();
    plans.set('layer@kv=10', layer(10), [], 0);
    plans.set('layer@kv=11', layer(11), [], 0);
    expect(plans.replay('layer +c1@kv=11', 0, [])).toEqual(layer(11));                      // recorded base
    expect(plans.replay('layer +c1 +a2@kv=12', 0, [])![0].params).toEqual({ rows: 13, key: 'w' });   // predicted base
    plans.set('layer +c1@kv=12', layer(12, true), [], 0);
    plans.set('layer@kv=13', layer(13), [], 0);
    expect(plans.replay('layer +c1@kv=14', 0, [])!.map((r) => r.spec.name)).toEqual(['grow', 'tree', 'fixed']); // one variant: still the base
    plans.set('layer +c1@kv=14', layer(14, true), [], 0);
    const own = plans.replay('layer +c1@kv=16', 0, [])!;                                      // two variants: its own prediction
    expect(own.map((r) => r.spec.name)).toEqual(['grow', 'tree', 'pass', 'fixed']);
    expect(own[0].params).toEqual({ rows: 17, key: 'w' });
    expect(plans.replay('other +c1@kv=3', 0, [])).toBeUndefined();                          // no base either
    expect(plans.replay('layer +c1', 0, [])).toBeUndefined();                                // no variant: no base
  });

  it('requests are aligned by spec name: an extra request in one variant does not shift the others; no negative sizes', () => {
    const plans = new CorrelationPlans();
    plans.set('l@1', layer(20), [], 0);
    plans.set('l@2', layer(21, true), [], 0);
    const p = plans.replay('l@3', 0, [])!;
    expect(p.map((r) => r.spec.name)).toEqual(['grow', 'tree', 'pass', 'fixed']);
    expect(p[0].params).toEqual({ rows: 23, key: 'w' });
    expect(p[2].params).toEqual({ n: 7 }); // no partner in the older variant: as last recorded
    const down = new CorrelationPlans();
    down.set('d@1', [req(grow, { rows: 5 })], [], 0);
    down.set('d@2', [req(grow, { rows: 1 })], [], 0);
    expect(down.replay('d@3', 0, [])![0].params).toEqual({ rows: 1 });
  });
});
