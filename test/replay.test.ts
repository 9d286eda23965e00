// The replay buffer on real Pacemaker datasets: the spec's case (history 10 + 10 new, buffer 15 ->
// training set 15, history 20), reproducible and idempotent sampling, D-optimal replay checked against
// pyace's own MaxVol selection, and typed failures.
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildTrainingSet, type ReplayInput } from '../activities/ace/replay';
import { potentialSection } from '../activities/ace/fit-input';
import { py, pyJson } from './helpers/python';
import { cuTraining, emtDataset, tempDir } from './fixtures/training/data';

let dir: string;
let old10: string;
let new10: string;

/** The `name` column of each dataset, in one Python start. */
const namesOf = (...files: string[]) => pyJson<string[][]>(`import json, sys, pandas as pd
print(json.dumps([list(pd.read_pickle(f, compression="gzip")["name"]) for f in ${JSON.stringify(files)}]))`);

beforeAll(async () => {
  dir = tempDir('ace-replay');
  [old10, new10] = await Promise.all([emtDataset(dir, 'old', { count: 10, seed: 41, prefix: 'h' }), emtDataset(dir, 'new', { count: 10, seed: 42, prefix: 'n' })]);
});

/** A run directory whose history already holds the 10 old structures (generation 0). */
async function historyOf10(tag: string): Promise<string> {
  const d = path.join(dir, tag);
  mkdirSync(d, { recursive: true });
  const r = await buildTrainingSet({ historyFile: path.join(d, 'history.pckl.gzip'), newDataset: old10, trainingFile: path.join(d, 'gen-0.pckl.gzip'), bufferSize: 15, seed: 42, generation: 0 });
  expect(r.counts).toEqual({ training: 10, history: 10, new: 10, replayed: 0, history_before: 0 });
  return d;
}

describe('buildTrainingSet', () => {
  it('history 10 + 10 new with buffer 15 gives a training set of 15 and a history of 20', async () => {
    const d = await historyOf10('spec');
    const input: ReplayInput = { historyFile: path.join(d, 'history.pckl.gzip'), newDataset: new10, trainingFile: path.join(d, 'gen-1.pckl.gzip'), bufferSize: 15, seed: 42, generation: 1 };
    const r = await buildTrainingSet(input);
    expect(r.counts).toEqual({ training: 15, history: 20, new: 10, replayed: 5, history_before: 10 });
    const first = path.join(d, 'gen-1.first.pckl.gzip');
    copyFileSync(r.trainingFile, first);

    // idempotent: a retry after the history was written gives the same set and does not grow it
    const again = await buildTrainingSet(input);
    expect(again.counts).toEqual(r.counts);
    // reproducible from the seed: another run directory with the same history picks the same five
    const d2 = await historyOf10('spec-copy');
    const copy = await buildTrainingSet({ ...input, historyFile: path.join(d2, 'history.pckl.gzip'), trainingFile: path.join(d2, 'gen-1.pckl.gzip') });

    const [training = [], history, retried, retriedHistory, copied] = await namesOf(first, r.historyFile, again.trainingFile, again.historyFile, copy.trainingFile);
    expect(training).toHaveLength(15);
    expect(training.filter((n) => n.startsWith('n')).sort()).toEqual([...Array(10).keys()].map((i) => `n${i}`).sort()); // every new one
    expect(training.filter((n) => n.startsWith('h'))).toHaveLength(5);
    expect(history).toEqual([...[...Array(10).keys()].map((i) => `h${i}`), ...[...Array(10).keys()].map((i) => `n${i}`)]);
    const manifest = JSON.parse(readFileSync(r.manifest, 'utf8'));
    expect(manifest).toMatchObject({ generation: 1, strategy: 'uniform', buffer_size: 15 });
    expect(manifest.replayed).toEqual(training.filter((n) => n.startsWith('h')));
    expect(retried).toEqual(training);
    expect(retriedHistory).toHaveLength(20);
    expect(copied).toEqual(training);
  });

  it('keeps all new structures when they alone fill the buffer', async () => {
    const d = await historyOf10('small-buffer');
    const r = await buildTrainingSet({ historyFile: path.join(d, 'history.pckl.gzip'), newDataset: new10, trainingFile: path.join(d, 'gen-1.pckl.gzip'), bufferSize: 6, seed: 42, generation: 1 });
    expect(r.counts).toEqual({ training: 10, history: 20, new: 10, replayed: 0, history_before: 10 });
  });

  it('replays D-optimally: the structures pyace\'s MaxVol selection ranks first', async () => {
    const d = await historyOf10('dopt');
    const basis = path.join(d, 'basis.yaml'); // the campaign's basis stands in for the previous potential
    await py(`from pyace.basisextension import construct_bbasisconfiguration
construct_bbasisconfiguration(${JSON.stringify(potentialSection(cuTraining(), ['Cu']))}).save(${JSON.stringify(basis)})`);
    const r = await buildTrainingSet({ historyFile: path.join(d, 'history.pckl.gzip'), newDataset: new10, trainingFile: path.join(d, 'gen-1.pckl.gzip'), bufferSize: 15, seed: 42, generation: 1, strategy: 'd-optimal', potential: basis });
    expect(r.counts.replayed).toBe(5);
    const manifest = JSON.parse(readFileSync(r.manifest, 'utf8'));
    expect(manifest.strategy).toBe('d-optimal');
    const expected = await pyJson<string[]>(`import json, pandas as pd
from pyace import BBasisConfiguration
from pyace.aceselect import select_structures_maxvol
old = pd.read_pickle(${JSON.stringify(old10)}, compression="gzip")
sel = select_structures_maxvol(old, BBasisConfiguration(${JSON.stringify(basis)}), max_structures=5)
print(json.dumps(list(sel["name"])))`);
    expect(expected).toHaveLength(5);
    expect([...manifest.replayed].sort()).toEqual([...expected].sort());
  });

  it('gives structures from generations without weights the default weights when others carry them', async () => {
    const d = await historyOf10('weights');
    const weighted = path.join(d, 'weighted.pckl.gzip');
    await py(`import numpy as np, pandas as pd
df = pd.read_pickle(${JSON.stringify(new10)}, compression="gzip")
df["w_energy"] = 0.3; df["w_forces"] = [np.full(len(a), 0.3) for a in df.ase_atoms]
df.to_pickle(${JSON.stringify(weighted)}, compression="gzip")`);
    const r = await buildTrainingSet({ historyFile: path.join(d, 'history.pckl.gzip'), newDataset: weighted, trainingFile: path.join(d, 'gen-1.pckl.gzip'), bufferSize: 15, seed: 42, generation: 1 });
    const w = await pyJson<{ name: string; we: number; wf: number[] }[]>(`import json, pandas as pd
df = pd.read_pickle(${JSON.stringify(r.trainingFile)}, compression="gzip")
print(json.dumps([{"name": n, "we": float(e), "wf": sorted(set(map(float, f)))} for n, e, f in zip(df.name, df.w_energy, df.w_forces)]))`);
    expect(w).toHaveLength(15);
    for (const row of w) expect([row.we, row.wf]).toEqual(row.name.startsWith('n') ? [0.3, [0.3]] : [1, [1]]);
  });

  it('fails clearly on bad input', async () => {
    const d = await historyOf10('bad');
    const base = { historyFile: path.join(d, 'history.pckl.gzip'), newDataset: new10, trainingFile: path.join(d, 'gen-1.pckl.gzip'), bufferSize: 15, seed: 42, generation: 1 };
    await expect(buildTrainingSet({ ...base, strategy: 'd-optimal' })).rejects.toMatchObject({
      type: 'InvalidInput',
      nonRetryable: true,
      message: expect.stringMatching(/^training\.replay_selection 'd-optimal' needs the previous generation's potential/),
    });
    await expect(buildTrainingSet({ ...base, trainingFile: base.historyFile })).rejects.toMatchObject({ type: 'InvalidInput', message: expect.stringMatching(/must differ/) });
    await expect(buildTrainingSet({ ...base, bufferSize: 0 })).rejects.toMatchObject({ type: 'InvalidConfig', message: 'buildTrainingSet input: bufferSize: Too small: expected number to be >0' });
    const unnamed = path.join(d, 'unnamed.pckl.gzip');
    copyFileSync(new10, unnamed);
    await py(`import pandas as pd
df = pd.read_pickle(${JSON.stringify(unnamed)}, compression="gzip").drop(columns=["name"])
df.to_pickle(${JSON.stringify(unnamed)}, compression="gzip")`);
    await expect(buildTrainingSet({ ...base, newDataset: unnamed })).rejects.toMatchObject({ type: 'InvalidInput', message: expect.stringMatching(/needs a unique 'name' per structure/) });
  });
});
