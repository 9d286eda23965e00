// D-optimal selection with pace_select: without a potential (generation 0) the pick from the campaign's
// unfitted basis carries more information (log-determinant of the B-projection Gram matrix) than random
// picks; MaxVol shortfalls are topped up by extrapolation grade; typed failures; the CLI. The same
// comparison with a fitted potential and its active set is in training.test.ts.
import { execa } from 'execa';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { extrapolationGrade, readGammaRows } from '../activities/ace/gamma';
import { potentialSection } from '../activities/ace/fit-input';
import { runTool } from '../activities/runtime/process';
import { selectDOptimal } from '../activities/ace/selection';
import { projectRoot } from '../host/paths';
import { py, pyJson } from './helpers/python';
import { cuTraining, emtDataset, logDets, tempDir } from './fixtures/training/data';

let dir: string;
let pool: string;
let near: string;
let potential: string; // the campaign's basis, unfitted, with an active set over training data

beforeAll(async () => {
  dir = tempDir('ace-select');
  const [train] = await Promise.all([
    emtDataset(dir, 'train', { count: 40, seed: 31 }),
    emtDataset(dir, 'pool', { count: 60, seed: 32, kind: 'wide', extxyz: true }),
    emtDataset(dir, 'near', { count: 20, seed: 33, extxyz: true }),
  ]);
  pool = path.join(dir, 'pool.extxyz');
  near = path.join(dir, 'near.extxyz');
  // Selection needs a B-basis potential and its active set over the training data, not an accurate
  // fit (test/training.test.ts covers fitted ones): the campaign's basis as Pacemaker builds it, with
  // pace_activeset run on the training structures exactly as after a fit.
  const potentialYaml = path.join(dir, 'potential.yaml');
  await py(`from pyace.basisextension import construct_bbasisconfiguration
construct_bbasisconfiguration(${JSON.stringify(potentialSection(cuTraining(), ['Cu']))}).save(${JSON.stringify(potentialYaml)})`);
  await runTool({ command: 'pace_activeset', args: ['-a', '-d', train, potentialYaml], cwd: dir, logFile: path.join(dir, 'activeset.log') });
  potential = potentialYaml;
});

describe('selectDOptimal', () => {
  it('without a potential (generation 0) falls back to MaxVol on the campaign\'s unfitted basis', async () => {
    const work = path.join(dir, 'sel-unfitted');
    const r = await selectDOptimal({ candidates: pool, n: 8, training: cuTraining(), elements: ['Cu'], workDir: work });
    expect(r.method).toBe('maxvol-unfitted-basis');
    expect(r.indices).toHaveLength(8);
    const ld = await logDets(pool, path.join(work, 'unfitted-basis.yaml'), r.indices);
    console.log(`log det, unfitted basis: D-optimal ${ld.picked.toFixed(1)}, random ${ld.random.map((x) => x.toFixed(1)).join(' ')}`);
    expect(ld.picked).toBeGreaterThan(Math.max(...ld.random));
  });

  it('tops up a MaxVol shortfall by extrapolation grade, highest first', async () => {
    // candidates like the training data: few atoms extend the active set
    const work = path.join(dir, 'sel-near');
    const r = await selectDOptimal({ candidates: near, n: 10, potential: potential, workDir: work });
    expect(r.indices).toHaveLength(10);
    expect(r.maxvol).toBeLessThan(10);
    expect(r.filled).toBe(10 - r.maxvol);
    const report = JSON.parse(readFileSync(r.report, 'utf8')) as { index: number; selected_by: string; gamma: number | null }[];
    const filled = report.filter((x) => x.selected_by === 'gamma');
    expect(filled).toHaveLength(r.filled);
    const g = filled.map((x) => x.gamma!);
    expect(g).toEqual([...g].sort((a, b) => b - a));
    // every unselected candidate has a grade no higher than the lowest topped-up one
    const rows = readGammaRows((await extrapolationGrade({ structures: near, potential: potential, results: path.join(work, 'all.gamma.json') })).results);
    const chosen = new Set(r.indices);
    const rest = rows.filter((x) => !chosen.has(x.index)).map((x) => x.maxGamma);
    if (g.length) expect(Math.max(...rest)).toBeLessThanOrEqual(Math.min(...g) + 1e-9);
  });

  it('rejects candidates with elements the potential does not know', async () => {
    const alien = path.join(dir, 'alien.extxyz');
    await pyJson(`
import json
from ase.build import bulk
from ase.io import write
write(${JSON.stringify(alien)}, [bulk("Al", "fcc", a=4.05, cubic=True)])
print(json.dumps(1))`);
    const err = await selectDOptimal({ candidates: alien, n: 1, potential: potential, workDir: path.join(dir, 'sel-alien') }).catch((e: Error) => e);
    expect(err).toMatchObject({ type: 'InvalidInput', nonRetryable: true });
    expect((err as Error).message).toMatch(/^candidates contain Al, which the potential does not know \(Cu\)/);
  });
});

describe('autopipe select', () => {
  it('prints the picks and writes the structures', async () => {
    const out = path.join(dir, 'cli-picked.extxyz');
    const r = await execa(process.execPath, [path.join(projectRoot, 'bin', 'autopipe.mjs'), 'select', pool, '-n', '5', '--potential', potential, '--out', out], { cwd: projectRoot, reject: false });
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(r.stdout.split('\n')[0]).toMatch(/^selected 5 \(5 by MaxVol, 0 topped up\): \d+ \d+ \d+ \d+ \d+$/);
    const usage = await execa(process.execPath, [path.join(projectRoot, 'bin', 'autopipe.mjs'), 'select', pool], { cwd: projectRoot, reject: false });
    expect(usage.exitCode).toBe(2);
    expect(usage.stderr).toContain('select: -n N (how many structures to pick) is required');
  });
});
