// The teacher's life cycle on real tools: the bootstrap CLI (its committee is the shared fixture), its
// usage errors, fine-tuning from a local foundation file on new pw.x labels (naive, through Temporal, with
// the error drop measured and asserted, surrogates labelled by the fine-tuned committee and weighted), and
// multihead replay fine-tuning.
import { ApplicationFailure } from '@temporalio/common';
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { fineTuneMace, MaceInspect } from '../activities/mace/finetune';
import { maceLabelBatch } from '../activities/mace/label';
import { maceServer } from '../activities/runtime/helper-server';
import { generateStructures } from '../activities/structures/generate';
import { exportDataset } from '../activities/store/datasets';
import { DftSchema, GenerationSchema } from '../common/campaign-schema';
import { projectRoot } from '../host/paths';
import { TaskQueues } from '../common/queues';
import { labellingWorkflow } from '../workflows/labelling';
import { teacherFinetuneWorkflow, type TeacherFinetuneResult } from '../workflows/teacher';
import { pyJson } from './helpers/python';
import { storedLabels } from './helpers/store';
import { startTestWorkers, testClient } from './helpers/temporal';
import { fixtureCampaign, sharedCommittee, type CommitteeFixture } from './mace-fixture';

const cli = (args: string[]) => execa(process.execPath, [path.join(projectRoot, 'bin', 'autopipe.mjs'), ...args], { cwd: projectRoot, reject: false });
const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');

async function rejection(p: Promise<unknown>): Promise<ApplicationFailure> {
  try {
    await p;
  } catch (err) {
    let e: unknown = err;
    while (e && !(e instanceof ApplicationFailure)) e = (e as { cause?: unknown }).cause;
    if (e instanceof ApplicationFailure) return e;
    throw err;
  }
  throw new Error('expected a failure');
}

let stop: () => Promise<void>;
let fx: CommitteeFixture;
beforeAll(async () => {
  stop = await startTestWorkers(['control', 'dft', 'ml'], { ml: 2 });
  fx = await sharedCommittee();
});
afterAll(async () => stop?.());

describe('autopipe teacher bootstrap', () => {
  it('printed the committee as JSON: members with their own seeds, pw.x labels, a training score', () => {
    const out = JSON.parse(fx.cliStdout);
    expect(out.models).toEqual(fx.models);
    expect(out.seeds).toEqual([fixtureCampaign.seed + 1, fixtureCampaign.seed + 1001]);
    expect(out).toMatchObject({ structures: 6, labelled: 6, failed: 0 });
    const rec = JSON.parse(readFileSync(out.record, 'utf8'));
    expect(rec).toMatchObject({ name: 'bootstrap', kind: 'bootstrap', generation: 0, committee: true, dftLabels: 6 });
    expect(sha(fx.models[0]!)).not.toBe(sha(fx.models[1]!));
    // the seed labels really came from pw.x
    const dataset = readFileSync(out.dataset, 'utf8');
    expect(dataset).toMatch(/oracle="dft"/);
  });

  it('usage errors: no --config, an invalid campaign file', async () => {
    const noConfig = await cli(['teacher', 'bootstrap']);
    expect(noConfig.exitCode).toBe(2);
    expect(noConfig.stderr).toMatch(/teacher bootstrap: --config CAMPAIGN\.yaml is required/);
    const bad = path.join(mkdtempSync(path.join(os.tmpdir(), 'autopipe-teacher-cli-')), 'bad.yaml');
    writeFileSync(bad, 'system: {name: Si, elements: [Si], prototype: {kind: diamond, a: 5.43}}\nteacher:\n  bootstrap: {members: 1}\n  accept_threshold: 0.5\n');
    const invalid = await cli(['teacher', 'bootstrap', '--config', bad]);
    expect(invalid.exitCode).toBe(1);
    expect(invalid.stderr.trim().split('\n')).toEqual([
      `${bad}: teacher.bootstrap.members: must be >= 2 (a committee)`,
      `${bad}: teacher.accept_threshold: must be <= teacher.dft_threshold (0.2)`,
    ]);
  });
});

describe('fine-tuning on new DFT structures', () => {
  let r: TeacherFinetuneResult;
  const runDir = mkdtempSync(path.join(os.tmpdir(), 'autopipe-finetune-'));
  const teacher = () => ({
    models: fx.models,
    accept_threshold: 0.3,
    dft_threshold: 1.0,
    finetune: { max_epochs: 15 },
    surrogates: { per_structure: 2, rattle_sigma: 0.03, strain_max: 0.02, weight: 0.25 },
    batch_size: 16,
  });

  beforeAll(async () => {
    // A region the committee never saw: compressed cells, rattled harder; 4 to fine-tune on, 2 held out.
    const made = await generateStructures({
      runDir,
      name: 'compressed',
      system: { ...fixtureCampaign.system, supercell: [1, 1, 1] } as never,
      generation: GenerationSchema.parse({ count: 6, rattle_sigma: 0.07, volume_range: [0.92, 0.95], shear_fraction: 0, vacancy_fraction: 0 }),
      seed: 99,
    });
    const client = await testClient();
    const labels = await client.workflow.execute(labellingWorkflow, {
      taskQueue: TaskQueues.control,
      workflowId: `finetune-dft-${Date.now()}`,
      args: [{ runDir, dft: DftSchema.parse(fixtureCampaign.dft), structureFile: made.output, ids: made.ids }],
    });
    // Compressed Si with fixed occupations can defeat the SCF; the oracle records such a structure as failed.
    expect(labels.labelled).toBeGreaterThanOrEqual(5);
    const refs = labels.labels.map((l) => ({ structureId: l.structureId, labelKey: l.labelKey }));
    r = await client.workflow.execute(teacherFinetuneWorkflow, {
      taskQueue: TaskQueues.control,
      workflowId: `finetune-${Date.now()}`,
      args: [{ runDir, generation: 1, teacher: teacher(), dftLabels: refs.slice(0, 4), structureFile: made.output, indices: labels.labels.slice(0, 4).map((l) => l.index), holdout: refs.slice(4), seed: 5 }],
    });
  });

  it('writes a new model per member for the generation, started from the local foundation files', () => {
    expect(r.mode).toBe('naive');
    expect(r.tuned).toEqual([0, 1].map((k) => path.join(runDir, 'teacher', 'gen-1', `member-${k}.model`)));
    // Nothing earlier in this run's store to replay: the four new labels alone, the held-out two never trained on.
    expect(r.trainedOn).toEqual({ new: 4, replayed: 0 });
    expect(r.adopted).toBe(true); // it fits every DFT label of the run better (the adoption rule)
    expect(r.models).toEqual(r.tuned);
    for (const [k, m] of r.models.entries()) {
      expect(existsSync(m)).toBe(true);
      expect(sha(m)).not.toBe(sha(fx.models[k]!));
    }
    const rec = JSON.parse(readFileSync(r.record, 'utf8'));
    expect(rec).toMatchObject({ kind: 'finetune', generation: 1, foundations: fx.models, mode: 'naive', adopted: true });
    const log = readFileSync(path.join(runDir, 'teacher', 'gen-1', 'member-0.log'), 'utf8');
    expect(log).toMatch(/--foundation_model \S+member-0\.\S*model --multiheads_finetuning False/);
  });

  it('lowers the error on the new DFT structures (measured, asserted)', () => {
    console.log(
      `fine-tuning on ${r.before!.n} new DFT structures: forces ${r.before!.rmse_forces_mev_a.toFixed(1)} -> ${r.after!.rmse_forces_mev_a.toFixed(1)} meV/Å, ` +
        `energy ${r.before!.rmse_energy_mev_atom.toFixed(1)} -> ${r.after!.rmse_energy_mev_atom.toFixed(1)} meV/atom; held out (${r.holdoutBefore!.n}): ` +
        `forces ${r.holdoutBefore!.rmse_forces_mev_a.toFixed(1)} -> ${r.holdoutAfter!.rmse_forces_mev_a.toFixed(1)} meV/Å, ` +
        `energy ${r.holdoutBefore!.rmse_energy_mev_atom.toFixed(1)} -> ${r.holdoutAfter!.rmse_energy_mev_atom.toFixed(1)} meV/atom`,
    );
    expect(r.before!.n).toBe(4);
    expect(r.after!.rmse_forces_mev_a).toBeLessThan(0.8 * r.before!.rmse_forces_mev_a);
    expect(r.after!.rmse_energy_mev_atom).toBeLessThan(r.before!.rmse_energy_mev_atom);
    expect(r.holdoutAfter!.rmse_forces_mev_a).toBeLessThan(r.holdoutBefore!.rmse_forces_mev_a);
  });

  it('labels surrogates of the new structures with the fine-tuned committee and weights them in the training set', async () => {
    expect(r.surrogates.made).toBe(8);
    expect(r.surrogates.kept + r.surrogates.dropped).toBe(8);
    expect(r.surrogates.kept).toBeGreaterThan(0);
    const dft = r.members.filter((m) => m.config_type === 'dft');
    expect(dft).toHaveLength(4);
    expect(dft.every((m) => m.weight === 1 && m.oracle === 'dft')).toBe(true);
    const sur = r.members.filter((m) => m.config_type === 'surrogate');
    expect(sur).toHaveLength(r.surrogates.kept);
    expect(sur.every((m) => m.weight === 0.25 && m.oracle === 'mace')).toBe(true);
    const label = (await storedLabels(runDir, [sur[0]!.id], 'mace'))[sur[0]!.id]!.find((l) => l.settings_hash === sur[0]!.settings_hash)!;
    expect((label.provenance.models as { sha256: string }[]).map((m) => m.sha256)).toEqual(r.models.map(sha));
    // The training set is an export of exactly these labels, weights included.
    const ts = await exportDataset({ runDir, name: 'teacher-training', sets: ['teacher-training'], define: { set: 'teacher-training', generation: 1, members: r.members } });
    expect(ts.count).toBe(4 + r.surrogates.kept);
    expect(readFileSync(ts.extxyz!, 'utf8')).toMatch(/config_type="surrogate"/);
    expect(readFileSync(ts.extxyz!, 'utf8')).toMatch(/config_weight=0\.25/);
    expect(existsSync(ts.pckl!)).toBe(true);
  });
});

describe('multihead replay fine-tuning', () => {
  it('keeps a pretraining head trained on the replay file; the fine-tuned head labels structures', async () => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'autopipe-multihead-'));
    const ft = await fineTuneMace({ outDir: out, name: 'mh', foundationModel: fx.models[0]!, trainFile: fx.dataset, replayFile: fx.dataset, seed: 3, maxEpochs: 2, lr: 0.005 });
    expect(ft.mode).toBe('multihead');
    // A single-element foundation needs the E0-table fix before mace_run_train can read it (see mace_models.py).
    expect(ft.foundation).toEqual({ file: fx.models[0], sha256: sha(fx.models[0]!), patched: true });
    const info = await maceServer().request(MaceInspect, { model: ft.model }, { workDir: out });
    expect(info.heads).toEqual(['pt_head', 'Default']);
    const empty = await rejection(maceLabelBatch({ runDir: out, structureFile: fx.structuresFile, ids: [], oracle: { models: [ft.model] } }));
    expect(empty.type).toBe('InvalidInput');
    expect(empty.message).toMatch(/ids: a batch needs at least one structure id/);
    const seedIds = await pyJson<string[]>(`
import json
from ase.io import read
print(json.dumps([a.info['structure_id'] for a in read(${JSON.stringify(fx.structuresFile)}, ':2')]))`);
    const labelled = await maceLabelBatch({ runDir: out, structureFile: fx.structuresFile, ids: seedIds, oracle: { models: [ft.model] } });
    expect(labelled.computed).toBe(2);
    expect(labelled.oracle.committee).toBe(false);
    expect(labelled.items.every((i) => i.fStd === undefined && !i.flag)).toBe(true);
  });

  it('typed errors: missing foundation model, missing replay file', async () => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'autopipe-ft-errors-'));
    const noFoundation = await rejection(fineTuneMace({ outDir: out, name: 'x', foundationModel: '/nowhere/mp0.model', trainFile: fx.dataset, seed: 1, maxEpochs: 1 }));
    expect(noFoundation.type).toBe('InvalidInput');
    expect(noFoundation.message).toBe('foundation model not found: /nowhere/mp0.model (teacher.models must be local files; see docs/mace.md)');
    const noReplay = await rejection(fineTuneMace({ outDir: out, name: 'x', foundationModel: fx.models[0]!, trainFile: fx.dataset, replayFile: '/nowhere/replay.extxyz', seed: 1, maxEpochs: 1 }));
    expect(noReplay.type).toBe('InvalidInput');
    expect(noReplay.message).toMatch(/^teacher\.finetune\.replay_file not found: \/nowhere\/replay\.extxyz/);
  });
});
