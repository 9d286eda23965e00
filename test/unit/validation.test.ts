// The validation split and the teacher gate: deterministic, bounded, and the gate follows the numbers.
import { describe, expect, it } from 'vitest';
import { bestGeneration, capSamples, handOverLines, pairedDifference, poolSamples, stratifiedSamples, teacherVerdict, unitHash, validationRoom, validationShare } from '../../common/validation';
import type { PerStructureErrors } from '../../common/evaluation';

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

describe('MD draws by start kind', () => {
  // The Si example's starts: 6 bulk, 4 sheared, 2 vacancy trajectories per temperature, 30 frames each.
  const kind = (id: string) => id.split(':')[1]!;
  const temps = [300, 600, 900, 1200, 1500];
  const pools = Object.fromEntries(
    temps.map((t) => [`md_${t}K`, [...ids(180, `${t}:bulk:`), ...ids(120, `${t}:shear:`), ...ids(60, `${t}:vacancy:`)]]),
  );
  it('gives each temperature a start kind that turns with the generation, each kind at every temperature over three generations', () => {
    const seen = new Map<string, Set<string>>();
    let vacancies = 0;
    for (let g = 0; g < 3; g++) {
      const s = stratifiedSamples(pools, kind, 1, 42 + g, g);
      const picked = Object.entries(s).map(([t, xs]) => [t, kind(xs[0]!)] as const);
      expect(picked).toHaveLength(5);
      // within a generation, the five temperatures spread over the three kinds
      expect(new Set(picked.map(([, k]) => k)).size).toBe(3);
      for (const [t, k] of picked) (seen.get(t) ?? seen.set(t, new Set()).get(t)!).add(k);
      vacancies += picked.filter(([, k]) => k === 'vacancy').length;
    }
    for (const t of temps) expect([...seen.get(`md_${t}K`)!].sort()).toEqual(['bulk', 'shear', 'vacancy']);
    expect(vacancies).toBe(5); // a third of 15 draws; by hash order alone about one in six
  });
  it('alternates kinds within a pool for more than one per pool, and falls back to what a pool has', () => {
    const s = stratifiedSamples(pools, kind, 4, 1, 0);
    expect(s.md_300K!.map(kind)).toEqual(['bulk', 'shear', 'vacancy', 'bulk']);
    expect(stratifiedSamples({ only: ids(5, 'x:bulk:') }, kind, 2, 1, 7).only!.map(kind)).toEqual(['bulk', 'bulk']);
    expect(stratifiedSamples({ empty: [] }, kind, 2, 1, 0)).toEqual({ empty: [] });
  });
  it('draws the same on a replay, whatever the order of the ids', () => {
    const reversed = Object.fromEntries(Object.entries(pools).map(([k, v]) => [k, [...v].reverse()]));
    expect(stratifiedSamples(reversed, kind, 2, 9, 4)).toEqual(stratifiedSamples(pools, kind, 2, 9, 4));
  });
});

describe('validation budget', () => {
  it('caps the set at max_fraction of the DFT budget', () => {
    expect(validationRoom(0.2, 150, 0)).toBe(30);
    expect(validationRoom(0.2, 150, 28)).toBe(2);
    expect(validationRoom(0.2, 150, 31)).toBe(0);
    expect(validationRoom(0, 150, 0)).toBe(0);
  });
  it('covers every pool once before any twice', () => {
    const s = { a: ['a1', 'a2'], b: ['b1', 'b2'], c: ['c1'] };
    expect(capSamples(s, 3)).toEqual({ a: ['a1'], b: ['b1'], c: ['c1'] });
    expect(capSamples(s, 4)).toEqual({ a: ['a1', 'a2'], b: ['b1'], c: ['c1'] });
    expect(capSamples(s, 10)).toEqual({ a: ['a1', 'a2'], b: ['b1', 'b2'], c: ['c1'] });
    expect(capSamples(s, 0)).toEqual({ a: [], b: [], c: [] });
  });
});

describe('teacher verdict', () => {
  const m = (f: number, e: number) => ({ forces_rmse_mev_a: f, energy_rmse_mev_atom_offset: e });
  it('keeps the teacher only when the fit with its labels is better in forces and energy', () => {
    expect(teacherVerdict(m(80, 4), m(120, 6), 10).helps).toBe(true);
    const worseE = teacherVerdict(m(80, 9), m(120, 6), 10);
    expect(worseE.helps).toBe(false);
    expect(worseE.reason).toContain('left out');
    expect(teacherVerdict(m(130, 4), m(120, 6), 10).helps).toBe(false);
    expect(teacherVerdict(m(120, 6), m(120, 6), 10).helps).toBe(false); // a tie does not pay for the teacher
  });
  it('says what it compared', () => {
    expect(teacherVerdict(m(80.04, 4), m(120, 6), 12).reason).toContain('12 validation structures: with the teacher\'s labels 80.0 meV/Å');
  });
});

describe('the potential the campaign goes on from', () => {
  const p = (generation: number, f: number, e: number) => ({ generation, overall: { forces_rmse_mev_a: f, energy_rmse_mev_atom_offset: e } });
  it('keeps the latest generation while it is the best or within the noise', () => {
    expect(bestGeneration([p(0, 120, 10), p(1, 90, 8)], 1).generation).toBe(1);
    // 4 % worse in forces, equal in energy: noise, the latest stays
    expect(bestGeneration([p(0, 100, 10), p(1, 104, 10)], 1).generation).toBe(1);
    // 0.4 meV/atom better in energy: below the 0.5 meV/atom floor
    expect(bestGeneration([p(0, 100, 2.0), p(1, 100, 2.4)], 1).generation).toBe(1);
    expect(bestGeneration([p(0, 100, 10)], 0).generation).toBe(0);
  });
  it('keeps the latest on a trade: better forces, worse energy (the Al example, generation 1 against 0)', () => {
    expect(bestGeneration([p(0, 32.9, 1.68), p(1, 24.6, 2.7)], 1).generation).toBe(1);
    expect(bestGeneration([p(0, 125, 5), p(1, 100, 15)], 1).generation).toBe(1);
  });
  it('goes back to an earlier generation that is clearly better: no worse in either, better in one', () => {
    expect(bestGeneration([p(0, 120, 10), p(1, 86, 8), p(2, 145, 9)], 2).generation).toBe(1);
    // forces equal, energy twice as bad: the earlier one
    expect(bestGeneration([p(0, 100, 5), p(1, 100, 10)], 1).generation).toBe(0);
    // two better ones: the lower sum of relative errors (0: 1.05 + 1, 1: 1 + 1.2)
    const r = bestGeneration([p(0, 84, 5), p(1, 80, 6), p(2, 140, 9)], 2);
    expect(r.generation).toBe(0);
    expect(r.score[0]).toBeCloseTo(2.05);
    expect(r.score[1]).toBeCloseTo(2.2);
  });
  it('ignores a point that could not be scored', () => {
    expect(bestGeneration([p(0, Number.NaN, 1), p(1, 100, 10)], 1).generation).toBe(1);
    expect(bestGeneration([p(0, 50, 5)], 1).generation).toBe(1);
  });
});

describe('the potential the campaign goes on from, compared pair by pair', () => {
  // 30 validation structures of 8 atoms; forces and energies per structure, as metrics.py's rows.
  const rows = (forces: number[], energy: number[], order?: number[]): PerStructureErrors => {
    const k = order ?? forces.map((_, i) => i);
    return { ids: k.map((i) => `s${i}`), natoms: k.map(() => 8), forces_rmse_mev_a: k.map((i) => forces[i]!), energy_error_mev_atom_offset: k.map((i) => energy[i]!) };
  };
  const rmse = (xs: number[]) => Math.sqrt(xs.reduce((a, x) => a + x * x, 0) / xs.length);
  const centred = (xs: number[]) => xs.map((x) => x - xs.reduce((a, y) => a + y, 0) / xs.length);
  const point = (generation: number, forces: number[], energy: number[]) => ({
    generation,
    overall: { forces_rmse_mev_a: rmse(forces), energy_rmse_mev_atom_offset: rmse(centred(energy)) },
    per_structure: rows(forces, energy),
  });
  const wave = (n: number, scale: number, phase = 0) => Array.from({ length: n }, (_, i) => scale * (1 + 0.5 * Math.sin(i * 1.7 + phase)));
  const energies = Array.from({ length: 30 }, (_, i) => 3 * Math.cos(i * 2.3));

  it('finds no difference between a potential and itself', () => {
    const a = rows(wave(30, 40), energies);
    const d = pairedDifference(a, a)!;
    expect(d.n).toBe(30);
    expect([d.forces.diff, d.forces.lo, d.forces.hi, d.energy.diff, d.energy.lo, d.energy.hi]).toEqual([0, 0, 0, 0, 0, 0]);
  });
  it('pairs structures by id, not by position, and draws the same resamples every time', () => {
    const a = rows(wave(30, 40), energies);
    const b = rows(wave(30, 50, 1), energies.map((e) => e * 1.5));
    const shuffled = rows(wave(30, 50, 1), energies.map((e) => e * 1.5), Array.from({ length: 30 }, (_, i) => (i * 7) % 30));
    expect(pairedDifference(a, shuffled, 3)).toEqual(pairedDifference(a, b, 3));
  });
  it('goes back when the earlier generation is better on the structures themselves, not by the margin alone', () => {
    // 20 % lower force errors on every structure: the interval lies below zero
    const latest = point(6, wave(30, 50), energies);
    const earlier = point(4, wave(30, 40), energies);
    const r = bestGeneration([earlier, latest], 6, { paired: true });
    expect(r.generation).toBe(4);
    expect(r.paired[4]!.forces.hi).toBeLessThan(0);
  });
  it('keeps the latest when an earlier score is lower because of a few structures (noise the margin rule takes for a gain)', () => {
    // the earlier potential: better on 3 structures by a lot, worse on the other 27 by a little
    const base = wave(30, 40);
    const latestF = base.map((f, i) => (i < 3 ? f + 90 : f));
    const earlierF = base.map((f, i) => (i < 3 ? f : f + 3));
    const earlier = point(4, earlierF, energies);
    const latest = point(6, latestF, energies);
    expect(earlier.overall.forces_rmse_mev_a).toBeLessThan(0.9 * latest.overall.forces_rmse_mev_a);
    expect(bestGeneration([earlier, latest], 6).generation).toBe(4); // the fixed margin
    const r = bestGeneration([earlier, latest], 6, { paired: true });
    expect(r.generation).toBe(6);
    expect(r.paired[4]!.forces.lo).toBeLessThan(0);
    expect(r.paired[4]!.forces.hi).toBeGreaterThan(0);
  });
  it('does not go back to a generation worse in one beyond the interval for a gain in the other (a trade)', () => {
    const latest = point(6, wave(30, 50), energies);
    const earlier = point(4, wave(30, 40), energies.map((e) => e * 2));
    expect(bestGeneration([earlier, latest], 6, { paired: true }).generation).toBe(6);
  });
  it('falls back to the margin with fewer than ten shared structures, or without per-structure errors', () => {
    const few = (g: number, f: number) => point(g, wave(8, f), energies.slice(0, 8));
    expect(pairedDifference(few(4, 40).per_structure, few(6, 50).per_structure)).toBeUndefined();
    expect(bestGeneration([few(4, 40), few(6, 50)], 6, { paired: true }).generation).toBe(4);
    const bare = (g: number, f: number, e: number) => ({ generation: g, overall: { forces_rmse_mev_a: f, energy_rmse_mev_atom_offset: e } });
    const latest = point(6, wave(30, 50), energies);
    expect(bestGeneration([bare(4, 40, latest.overall.energy_rmse_mev_atom_offset), latest], 6, { paired: true }).generation).toBe(4);
  });
});

describe('the report names what its figures measure', () => {
  const curve = { structures: 30, points: [4, 7].map((g) => ({ generation: g, overall: { forces_rmse_mev_a: 16 + g / 10, energy_rmse_mev_atom_offset: 1 + g / 100 } })) };
  it('scores the potential handed over on the validation set, and calls Pacemaker\'s split no accuracy figure', () => {
    const lines = handOverLines(curve, 4, { test_rmse_energy_mev_atom: 1.68, test_rmse_forces_mev_a: 27.8 });
    expect(lines[0]).toBe('Its accuracy on the validation set (30 DFT labels never trained on): 16.4 meV/Å, 1.04 meV/atom after the mean offset.');
    expect(lines[1]).toBe("Pacemaker's split of its own training pool (not an accuracy figure): 1.68 meV/atom, 27.8 meV/Å.");
  });
  it('says when nothing measured it', () => {
    expect(handOverLines(undefined, 2)).toEqual(['Its accuracy was not measured here (no validation set): `autopipe evaluate` scores it on any labelled file.']);
  });
});
