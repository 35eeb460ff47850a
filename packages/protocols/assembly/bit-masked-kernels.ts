/**
 * Step 3 of bitMaskedMatmul (src/beaver/bit-masked-product.ts, which lays the regions out), mod 2^64:
 * for every entry i = (h·k + l)·C + c of the opened bit matrix Ô (one byte per entry in `hat`),
 *   Ô_i = 1:  y[yr + j] += X̃[xr + j] − [B]_i·E[xr + j] − [M][i·m + j]
 *   Ô_i = 0:  y[yr + j] += [B]_i·E[xr + j] + [M][i·m + j]          for j < m,
 * with xr = (h·nIn + (transpose ? l : c))·m and yr = (h·nOut + (transpose ? c : l))·m
 * (nIn, nOut = C, k for a gather; k, C for a scatter).
 */
export function bitMaskedCombine(
  lanes: i32, k: i32, C: i32, m: i32, transpose: i32,
  hat: usize, bb: usize, mm: usize, xt: usize, E: usize, y: usize,
): void {
  const nIn = transpose ? k : C, nOut = transpose ? C : k, M = <usize>m;
  for (let h = 0; h < lanes; h++) {
    for (let l = 0; l < k; l++) {
      for (let c = 0; c < C; c++) {
        const i = <usize>((h * k + l) * C + c);
        const xr = <usize>(h * nIn + (transpose ? l : c)) * M, yr = <usize>(h * nOut + (transpose ? c : l)) * M;
        const b = load<u64>(bb + (i << 3));
        let mp = mm + ((i * M) << 3), xp = xt + (xr << 3), ep = E + (xr << 3), yp = y + (yr << 3);
        const end = yp + (M << 3);
        if (load<u8>(hat + i)) {
          const g = 0 - b;
          for (; yp < end; yp += 8, mp += 8, xp += 8, ep += 8) store<u64>(yp, load<u64>(yp) + load<u64>(xp) + g * load<u64>(ep) - load<u64>(mp));
        } else {
          for (; yp < end; yp += 8, mp += 8, ep += 8) store<u64>(yp, load<u64>(yp) + b * load<u64>(ep) + load<u64>(mp));
        }
      }
    }
  }
}
