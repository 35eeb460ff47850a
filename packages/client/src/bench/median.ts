/** The median of a non-empty list (the mean of the middle two for an even length): bench timings. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b), h = s.length >> 1;
  return s.length % 2 === 1 ? s[h] : (s[h - 1] + s[h]) / 2;
}
