/**
 * Raft quorum arithmetic for Swarm managers. Swarm keeps working while a
 * majority of managers, floor(N/2)+1, is reachable; so N managers tolerate
 * N - (floor(N/2)+1) = floor((N-1)/2) failures. An even N tolerates no more
 * than N-1 would, and fewer than 3 tolerate none: both are refused.
 */

export function quorumOf(managers: number): { majority: number; tolerates: number } {
  const majority = Math.floor(managers / 2) + 1;
  return { majority, tolerates: managers - majority };
}

/** Why this manager set is refused, with the arithmetic, or undefined when it is sound. */
export function quorumProblem(managers: string[]): string | undefined {
  const n = managers.length;
  if (n >= 3 && n % 2 === 1) return undefined;
  const { majority, tolerates } = quorumOf(n);
  const list = n === 0 ? "none" : managers.join(", ");
  const why = n % 2 === 0 && n > 0
    ? `; ${n - 1} manager${n - 1 === 1 ? "" : "s"} would tolerate as many: the extra one only adds a way to lose quorum`
    : "";
  return `${n} manager${n === 1 ? "" : "s"} (${list}): quorum is floor(${n}/2)+1 = ${majority} of ${n}, ` +
    `so the cluster survives ${tolerates} manager failure${tolerates === 1 ? "" : "s"}${why}; ` +
    "use an odd number of managers, at least 3 (3 tolerate 1 failure, 5 tolerate 2)";
}
