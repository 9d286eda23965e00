// The validation split and the teacher gate: deterministic, bounded, and the gate follows the numbers.
import { describe, expect, it } from 'vitest';
import { poolSamples, teacherGate, unitHash, validationShare } from '../../common/validation';

const ids = (n: number, p = 's') => Array.from({ length: n }, (_, i) => `${p}${i.toString(16).padStart(6, '0')}`);

describe('validation split', () => {
  it('hashes to [0, 1), the same string always to the same number', () => {
    const xs = ids(2000).map(unitHash);
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    expect(unitHash('abc')).toBe(unitHash('abc'));
    // roughly uniform: each decile holds 10 % +- 3 % of 2000 draws
    for (let d = 0; d < 10; d++) expect(Math.abs(xs.filter((x) => x >= d / 10 && x < (d + 1) / 10).length - 200)).toBeLessThan(60);
  });

  it('takes round(share x n) of a generation, at least one of four, never all, the same ones on a replay', () => {
    expect(validationShare(ids(20), 0.15, 42)).toHaveLength(3);
    expect(validationShare(ids(4), 0.1, 42)).toHaveLength(1);
    expect(validationShare(ids(3), 0.1, 42)).toHaveLength(0);
    expect(validationShare(ids(2), 0.9, 42)).toHaveLength(1);
    expect(validationShare(ids(20), 0, 42)).toEqual([]);
    expect(validationShare(ids(20), 0.15, 42)).toEqual(validationShare([...ids(20)].reverse(), 0.15, 42));
    expect(validationShare(ids(20), 0.15, 42)).not.toEqual(validationShare(ids(20), 0.15, 43));
  });

  it('samples each pool without the excluded ids', () => {
    const pools = { generated: ids(10, 'g'), 'md-900K': ids(10, 'm') };
    const first = poolSamples(pools, 2, 1);
    expect(first.generated).toHaveLength(2);
    expect(first['md-900K']).toHaveLength(2);
    const again = poolSamples(pools, 2, 1, new Set(first.generated));
    expect(again.generated!.some((x) => first.generated!.includes(x))).toBe(false);
    expect(poolSamples({ tiny: ['a'] }, 3, 1).tiny).toEqual(['a']);
  });
});

describe('teacher gate', () => {
  const m = (f: number) => ({ forces_rmse_mev_a: f, energy_rmse_mev_atom_offset: 5 });
  it('keeps the teacher while it is more accurate than the student, drops it once it is not', () => {
    expect(teacherGate(m(80), m(120), 0.3).weight).toBe(0.3);
    const g = teacherGate(m(150), m(90), 0.3);
    expect(g.weight).toBe(0);
    expect(g.reason).toContain('left out');
  });
  it('applies the configured weight before there are scores', () => {
    expect(teacherGate(undefined, m(90), 0.2).weight).toBe(0.2);
    expect(teacherGate(m(90), undefined, 0.2).weight).toBe(0.2);
  });
});
