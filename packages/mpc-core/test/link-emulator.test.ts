/** LinkEmulator keeps delivery order even when sends are spread over one long synchronous stretch. */
import { LinkEmulator } from '../src/channel/link-emulator';

const busyWait = (ms: number) => {
  const t = performance.now();
  while (performance.now() - t < ms);
};

describe('LinkEmulator', () => {
  it('delivers in send order: a small message sent late does not overtake a large one', async () => {
    const link = new LinkEmulator({ latencyMs: 5, bandwidthMbps: 100 });
    const got: number[] = [];
    link.schedule(1_000_000, () => got.push(1)); // 80 ms on the wire
    busyWait(30); // the event loop's clock stands still meanwhile
    link.schedule(10, () => got.push(2));
    link.schedule(10, () => got.push(3));
    await new Promise((r) => setTimeout(r, 200));
    expect(got).toEqual([1, 2, 3]);
  });

  it('delays by serialisation plus latency', async () => {
    const link = new LinkEmulator({ latencyMs: 20, bandwidthMbps: 100 });
    const t0 = performance.now();
    const at = await new Promise<number>((resolve) => link.schedule(125_000, () => resolve(performance.now() - t0))); // 10 ms + 20 ms
    expect(at).toBeGreaterThanOrEqual(29);
  });
});
