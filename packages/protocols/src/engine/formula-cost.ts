/**
 * FormulaCost — a protocol's exact cost as its cost formula gives it (online rounds and bytes one
 * party sends, offline bytes to both parties), the sum of a sequence of such costs, and the cost of
 * branches run side by side (fuseRounds).
 */

export interface FormulaCost {
  rounds: number;
  bytesSent: number;
  offlineBytes: number;
}

/** The cost of running `parts` one after the other. */
export function sumCosts(parts: readonly FormulaCost[]): FormulaCost {
  return {
    rounds: parts.reduce((a, p) => a + p.rounds, 0),
    bytesSent: parts.reduce((a, p) => a + p.bytesSent, 0),
    offlineBytes: parts.reduce((a, p) => a + p.offlineBytes, 0),
  };
}

/** The cost of running `parts` side by side with fuseRounds: the most rounds, the sum of bytes. */
export function fusedCosts(parts: readonly FormulaCost[]): FormulaCost {
  return { ...sumCosts(parts), rounds: parts.reduce((a, p) => Math.max(a, p.rounds), 0) };
}
