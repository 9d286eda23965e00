// How an ACE fit fails: a config or dataset Pacemaker would reject is caught before it starts
// (non-retryable, naming the field and the fix, no pacemaker.log written); a fit that crashes fails with
// Pacemaker's own log tail; cancellation kills the fit, and heartbeats come once per iteration.
import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { execa } from 'execa';
import { existsSync, readdirSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { fitAce, type FitInput } from '../activities/ace/fit';
import { potentialSection } from '../activities/ace/fit-input';
import type { FitProgress } from '../activities/ace/fit-progress';
import { pythonExe } from '../host/paths';
import { py } from './helpers/python';
import { concatDatasets, cuTraining, emtDataset, tempDir } from './fixtures/training/data';

let dir: string;
let cu: string;
let base: FitInput;

beforeAll(async () => {
  dir = tempDir('pace-fail');
  cu = await emtDataset(dir, 'cu', { count: 20, seed: 11 });
  base = { outDir: '', datasetFile: cu, elements: ['Cu'], training: cuTraining(), seed: 1 };
});

let n = 0;
async function failure(overrides: Partial<FitInput>): Promise<{ err: ApplicationFailure; outDir: string }> {
  const outDir = path.join(dir, `fit-${n++}`);
  const err = await fitAce({ ...base, outDir, ...overrides }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  return { err: err as ApplicationFailure, outDir };
}

function expectNoPacemaker(outDir: string) {
  expect(existsSync(path.join(outDir, 'pacemaker.log'))).toBe(false);
}

describe('fitAce pre-flight: bad configs fail before Pacemaker starts', () => {
  it('rejects out-of-range settings with the field path', async () => {
    const { err, outDir } = await failure({ training: { ...cuTraining(), kappa: 2 } });
    expect(err).toMatchObject({ type: 'InvalidConfig', nonRetryable: true });
    expect(err.message).toBe('fitAce input: training.kappa: must be <= 1');
    expectNoPacemaker(outDir);
  });

  it('rejects a ZBL inner cutoff beyond the cutoff and references missing an element', async () => {
    const { err, outDir } = await failure({ training: cuTraining({ zbl_inner_cutoff: 6, reference_energies: { Al: 0 } }) });
    expect(err).toMatchObject({ type: 'InvalidConfig', nonRetryable: true });
    expect(err.message).toContain('training.zbl_inner_cutoff: 6 Å must be below training.cutoff (5 Å)');
    expect(err.message).toContain('training.reference_energies: no value for Cu');
    expectNoPacemaker(outDir);
  });

  it('rejects a fixed ZBL inner cutoff above the closest pairs in the data (ACE would fit none of them)', async () => {
    const { err, outDir } = await failure({ training: cuTraining({ zbl_inner_cutoff: 2.9 }) });
    expect(err).toMatchObject({ type: 'InvalidConfig', nonRetryable: true });
    expect(err.message).toMatch(/^training\.zbl_inner_cutoff 2\.9 Å is not below the closest pairs in the training data \(Cu-Cu 2\.\d\d Å\).*Lower it below 2\.\d\d Å, or drop the key/);
    expectNoPacemaker(outDir);
  });

  it('rejects a missing dataset', async () => {
    const { err, outDir } = await failure({ datasetFile: path.join(dir, 'nope.pckl.gzip') });
    expect(err).toMatchObject({ type: 'InvalidInput', nonRetryable: true });
    expect(err.message).toMatch(/^dataset not found: .*nope\.pckl\.gzip \(write it first/);
    expectNoPacemaker(outDir);
  });

  it('rejects a dataset with elements the potential does not list', async () => {
    const mixed = path.join(dir, 'mixed.pckl.gzip');
    await execa(pythonExe, ['-c', `import pandas as pd
df = pd.read_pickle(${JSON.stringify(cu)}, compression="gzip")
a = df["ase_atoms"][0].copy(); a[0].symbol = "Al"; df.at[0, "ase_atoms"] = a
df.to_pickle(${JSON.stringify(mixed)}, compression="gzip")`]);
    const { err, outDir } = await failure({ datasetFile: mixed });
    expect(err).toMatchObject({ type: 'InvalidConfig', nonRetryable: true });
    expect(err.message).toMatch(/^the dataset contains Al, which system.elements \(Cu\) does not list: add them or remove those structures/);
    expectNoPacemaker(outDir);
  });

  it('rejects a basis the data cannot pin down: fewer atoms than ACE functions for the active set', async () => {
    const small = await emtDataset(dir, 'small', { count: 2, seed: 12 });
    const { err, outDir } = await failure({ datasetFile: small, training: cuTraining({ test_size: 0 }) });
    expect(err).toMatchObject({ type: 'InvalidConfig', nonRetryable: true });
    expect(err.message).toMatch(/^the active set of Cu needs at least 20 atomic environments \(one per ACE function\), but the training part of the dataset has about 16 Cu atoms/);
    expect(err.message).toContain('lower training.number_of_functions_per_element');
    expectNoPacemaker(outDir);
  });

  it('rejects a test_size that leaves no test structure', async () => {
    const small = await emtDataset(dir, 'five', { count: 5, seed: 13 });
    const { err, outDir } = await failure({ datasetFile: small, training: cuTraining({ test_size: 0.1 }) });
    expect(err.message).toBe('training.test_size 0.1 of 5 structures leaves 0 test structures: set test_size to 0 or add structures (helper "ace-fit-check", log: ' + path.join(outDir, 'check', 'ace-fit-check.log') + ')');
    expect(err).toMatchObject({ type: 'InvalidConfig', nonRetryable: true });
    expectNoPacemaker(outDir);
  });

  it('rejects a previous potential that cannot seed the fit (grow without growth, changed cutoff)', async () => {
    // An unfitted potential of the campaign's basis stands in for the previous generation.
    const prev = path.join(dir, 'prev.yaml');
    await py(`from pyace.basisextension import construct_bbasisconfiguration
construct_bbasisconfiguration(${JSON.stringify(potentialSection(cuTraining(), ['Cu']))}).save(${JSON.stringify(prev)})`);
    const same = await failure({ initialPotential: prev, incremental: 'grow' });
    expect(same.err).toMatchObject({ type: 'InvalidConfig', nonRetryable: true });
    expect(same.err.message).toMatch(/^incremental 'grow' needs a larger basis than .*prev\.yaml \(Pacemaker would add no function and fit nothing\)/);
    expectNoPacemaker(same.outDir);
    const moved = await failure({ initialPotential: prev, training: cuTraining({ cutoff: 6 }) });
    expect(moved.err.message).toMatch(/cannot seed this fit: block Cu: cutoff, radial basis, embedding or ZBL inner cutoff changed \(previous rcut 5, SBessel; now rcut 6, SBessel\)/);
    expectNoPacemaker(moved.outDir);
  });
});

describe('fitAce when Pacemaker itself fails', () => {
  it('a crashed fit fails non-retryably with the log tail', async () => {
    // A row the dataset writer would never produce (forces for 7 of 8 atoms): Pacemaker asserts and exits 1.
    const broken = path.join(dir, 'broken.pckl.gzip');
    await execa(pythonExe, ['-c', `import pandas as pd
df = pd.read_pickle(${JSON.stringify(cu)}, compression="gzip")
df.at[3, "forces"] = df.at[3, "forces"][:7]
df.to_pickle(${JSON.stringify(broken)}, compression="gzip")`]);
    // pyace's own backend: the same data loading, without TensorFlow's start-up cost
    const { err, outDir } = await failure({ datasetFile: broken, training: cuTraining({ backend: 'pyace' }) });
    expect(err).toMatchObject({ type: 'TrainingFailed', nonRetryable: true });
    expect(err.message).toMatch(/^pacemaker failed: pacemaker exited with code 1; log: .*pacemaker\.log\n/);
    expect(err.message).toContain('AssertionError: forces has wrong shape');
    expect(existsSync(path.join(outDir, 'pacemaker.log'))).toBe(true);
  });

  it('heartbeats once per iteration and is killed, whole process group, on cancellation', async () => {
    const outDir = path.join(dir, 'cancel');
    const env = new MockActivityEnvironment();
    const beats: FitProgress[] = [];
    env.on('heartbeat', (d: unknown) => {
      if (d && typeof d === 'object' && 'iteration' in d) {
        beats.push(d as FitProgress);
        if ((d as FitProgress).iteration >= 2) env.cancel();
      }
    });
    const started = Date.now();
    // pyace's backend starts iterating within seconds (no TensorFlow graph to build; ~10 s per iteration)
    const err = await env.run(fitAce, { ...base, training: cuTraining({ backend: 'pyace' }), outDir, maxiter: 500, displayStep: 50 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CancelledFailure);
    const iterations = [...new Set(beats.map((b) => b.iteration))];
    expect(iterations.slice(0, 3)).toEqual([0, 1, 2]);
    expect(beats[1]).toMatchObject({ maxiter: 500, loss: expect.any(Number), rmse_energy_mev_atom: expect.any(Number), rmse_forces_mev_a: expect.any(Number) });
    // no process is left working in the fit directory
    const work = path.join(outDir, 'fit');
    await new Promise((r) => setTimeout(r, 1000));
    const left = readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
      try {
        return readlinkSync(`/proc/${p}/cwd`) === work;
      } catch {
        return false;
      }
    });
    expect(left).toEqual([]);
    expect(Date.now() - started).toBeLessThan(120_000);
    expect(existsSync(path.join(outDir, 'potential.yaml'))).toBe(false);
  });
});
