// Seeded sampling without replacement, deterministic across replays (workflows may import it): the
// same seed and population give the same picks on any machine.

/** mulberry32: a small 32-bit PRNG, uniform in [0, 1). */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `k` distinct items of `population` drawn uniformly at random (partial Fisher-Yates), in draw order. */
export function sampleWithoutReplacement<T>(population: readonly T[], k: number, seed: number): T[] {
  const rest = [...population];
  const rand = mulberry32(seed);
  const n = Math.min(k, rest.length);
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(rand() * (rest.length - i));
    [rest[i], rest[j]] = [rest[j]!, rest[i]!];
  }
  return rest.slice(0, n);
}
