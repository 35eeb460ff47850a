import { CpuTimeline, epochMs, processCpuMs } from '../src/bench/decode/cpu-time';

describe('CpuTimeline: a process\'s CPU between two times, from samples', () => {
  it('interpolates linearly between the samples around each end', () => {
    // fake clock: samples at t = 0, 10, 30 (CPU 0, 4, 20); the final sample of cpuMsBetween at t = 40 (CPU 30)
    const samples: [number, number][] = [[0, 0], [10, 4], [30, 20], [40, 30]];
    let i = 0;
    const tl = new CpuTimeline(1e9, () => samples[Math.min(i++, samples.length - 1)]);
    tl.start(); // t = 0
    tl.sample(); // t = 10
    tl.sample(); // t = 30
    expect(tl.cpuMsBetween(5, 20)).toBeCloseTo(12 - 2); // CPU(20) = 4 + 16/2, CPU(5) = 2
    tl.stop();
  });

  it('times after the last sample read the last sample; a window before the first one is refused', () => {
    const samples: [number, number][] = [[100, 7], [200, 9], [300, 15]];
    let i = 0;
    const tl = new CpuTimeline(1e9, () => samples[Math.min(i++, samples.length - 1)]);
    tl.start();
    tl.sample();
    expect(tl.cpuMsBetween(150, 1000)).toBeCloseTo(15 - 8);
    expect(() => tl.cpuMsBetween(50, 150)).toThrow(RangeError);
    expect(() => tl.cpuMsBetween(200, 150)).toThrow(RangeError);
    tl.stop();
  });

  it('with the real clocks: agrees with the process CPU read directly at both ends, busy or idle', async () => {
    const tl = new CpuTimeline(5).start();
    const t0 = epochMs(), c0 = processCpuMs();
    // ≥ 60 ms of CPU in slices of ≈ 5 ms with the event loop free between them (as the dealer's requests)
    while (processCpuMs() - c0 < 60) {
      const s = processCpuMs();
      while (processCpuMs() - s < 5);
      await new Promise((r) => setTimeout(r, 0));
    }
    const t1 = epochMs(), c1 = processCpuMs();
    await new Promise((r) => setTimeout(r, 60));
    const t2 = epochMs(), c2 = processCpuMs();
    // each end is interpolated within one sampling gap (≈ 5 ms, a little more on a loaded machine)
    expect(Math.abs(tl.cpuMsBetween(t0, t1) - (c1 - c0))).toBeLessThan(25);
    expect(Math.abs(tl.cpuMsBetween(t1, t2) - (c2 - c1))).toBeLessThan(25);
    tl.stop();
  });
});
