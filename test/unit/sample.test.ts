// The seeded sampler the DFT pick uses for exploration.random_share: distinct, from the population,
// the same for the same seed (a workflow replay must draw the same picks), different for another.
import { describe, expect, it } from 'vitest';
import { sampleWithoutReplacement } from '../../common/sample';

describe('sampleWithoutReplacement', () => {
  it('draws k distinct members, reproducibly per seed, uniformly over many seeds', () => {
    const pop = Array.from({ length: 50 }, (_, i) => i * 3);
    const a = sampleWithoutReplacement(pop, 10, 7);
    expect(a).toHaveLength(10);
    expect(new Set(a).size).toBe(10);
    for (const x of a) expect(pop).toContain(x);
    expect(sampleWithoutReplacement(pop, 10, 7)).toEqual(a);
    expect(sampleWithoutReplacement(pop, 10, 8)).not.toEqual(a);
    expect(sampleWithoutReplacement(pop, 80, 1).sort((x, y) => x - y)).toEqual(pop);
    expect(sampleWithoutReplacement(pop, 0, 1)).toEqual([]);
    // every member is drawn about equally often (first draw over 5000 seeds: ~100 each of 50)
    const counts = new Map<number, number>();
    for (let s = 0; s < 5000; s++) {
      const [x] = sampleWithoutReplacement(pop, 1, s);
      counts.set(x!, (counts.get(x!) ?? 0) + 1);
    }
    expect(counts.size).toBe(50);
    for (const c of counts.values()) expect(c).toBeGreaterThan(55);
  });
});
