// CHGNet fine-tuning on real pw.x labels (the Si test set's LDA labels, made by ASE's Espresso calculator):
// the activity the teacher fine-tune runs for teacher.kind chgnet. Two epochs on 8 structures: the
// per-element reference moves onto Quantum ESPRESSO's zero, the file is written, reused on a retry, and is
// what labelling and scoring load afterwards (a new oracle key, absolute energies). Then the campaign's
// teacher fine-tune workflow on a real server, from labels in a run's store: scored, adopted, recorded.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fineTuneChgnet } from '../activities/mace/foundation-finetune';
import { maceLabelBatch, maceScore } from '../activities/mace/label';
import { importDataset } from '../activities/store/datasets';
import { TaskQueues } from '../common/queues';
import { runLayout } from '../common/run-layout';
import { projectRoot } from '../host/paths';
import { teacherBootstrapWorkflow, teacherFinetuneWorkflow } from '../workflows/teacher';
import { labelledFrames } from './helpers/python';
import { startTestWorkers, testClient } from './helpers/temporal';

const testset = path.join(projectRoot, 'bench', 'testsets', 'si-mv.extxyz');

const refFile = (file: string, from: number, to: number) => labelledFrames(testset, file, from, to);

describe('CHGNet fine-tuning (teacher.kind chgnet)', () => {
  it('refits the reference to the DFT zero, trains, writes a model that labelling and scoring load', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'autopipe-chgnet-ft-'));
    const train = path.join(dir, 'train.extxyz');
    const held = path.join(dir, 'held.extxyz');
    await refFile(train, 22, 30); // strain and shear cells
    const heldIds = (await refFile(held, 30, 34)).ids;
    const input = { output: path.join(dir, 'teacher', 'gen-1', 'chgnet.pt'), trainFile: train, seed: 5, maxEpochs: 2, lr: 0.001, energyWeight: 100, batchSize: 4 };
    const r = await fineTuneChgnet(input);
    expect(existsSync(r.model)).toBe(true);
    expect(r).toMatchObject({ train: 6, valid: 2 });
    // Quantum ESPRESSO's LDA zero lies ~100 eV/atom below Materials Project's; after the refit the residual is small.
    expect(r.referenceShift['14']).toBeLessThan(-50);
    expect(r.energyRmseBeforeShift).toBeGreaterThan(50_000);
    expect(r.energyRmseAfterShift).toBeLessThan(100);
    const again = await fineTuneChgnet(input);
    expect(again).toMatchObject({ reused: true, model: r.model });
    // a changed key changes the run: the record no longer matches
    expect(JSON.parse(readFileSync(`${r.model}.json`, 'utf8')).fingerprint).toMatch(/^[0-9a-f]{64}$/);

    const bundled = await maceScore({ kind: 'chgnet', models: [], dataset: held, workDir: dir });
    const tuned = await maceScore({ kind: 'chgnet', models: [r.model], dataset: held, workDir: dir });
    expect(tuned.oracle_key).not.toBe(bundled.oracle_key);
    expect(bundled.rmse_energy_mev_atom).toBeGreaterThan(50_000);
    expect(tuned.rmse_energy_mev_atom).toBeLessThan(100);

    const labelled = await maceLabelBatch({ runDir: dir, structureFile: held, ids: heldIds, oracle: { kind: 'chgnet', models: [r.model] } });
    expect(labelled.oracle).toMatchObject({ kind: 'chgnet', size: 1, key: tuned.oracle_key });
    expect(labelled.oracle.version).toMatch(/fine-tuned$/);
    expect(labelled.computed).toBe(4);
  });

  it('typed errors: a missing foundation, more than one CHGNet file', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'autopipe-chgnet-ft-bad-'));
    await expect(fineTuneChgnet({ output: path.join(dir, 'x.pt'), foundation: path.join(dir, 'none.pt'), trainFile: testset, seed: 1, maxEpochs: 1, lr: 0.001, energyWeight: 100 }))
      .rejects.toMatchObject({ type: 'InvalidInput', message: expect.stringContaining('CHGNet foundation not found') });
    await expect(maceScore({ kind: 'chgnet', models: [testset, testset], dataset: testset, workDir: dir }))
      .rejects.toMatchObject({ type: 'InvalidConfig', message: expect.stringContaining('at most one model file') });
  });
});

describe('the teacher fine-tune workflow with teacher.kind chgnet (real server, labels from the store)', () => {
  let stop: () => Promise<void>;
  beforeAll(async () => {
    stop = await startTestWorkers(['control', 'dft', 'ml']);
  });
  afterAll(async () => stop?.());

  it('fine-tunes the wheel\'s CHGNet on the DFT labels, adopts it and names the file labelling uses next', async () => {
    const runDir = mkdtempSync(path.join(os.tmpdir(), 'autopipe-chgnet-wf-'));
    const file = path.join(runDir, 'dft.extxyz');
    const ids = (await refFile(file, 22, 28)).ids;
    await importDataset({ runDir, file, oracle: 'dft', settingsHash: 'pw-lda', source: 'initial_random', generation: 0 });
    const client = await testClient();
    const r = await client.workflow.execute(teacherFinetuneWorkflow, {
      taskQueue: TaskQueues.control,
      workflowId: `chgnet-finetune-${Date.now()}`,
      args: [{
        runDir,
        generation: 1,
        teacher: { kind: 'chgnet', finetune: { max_epochs: 1, lr: 0.001 }, surrogates: { per_structure: 0 } },
        dftLabels: ids.map((structureId) => ({ structureId, labelKey: 'pw-lda' })),
        structureFile: file,
        indices: ids.map((_, i) => i),
        seed: 3,
      }],
    });
    const model = runLayout(runDir).teacherChgnet(1);
    expect(r.tuned).toEqual([model]);
    expect(existsSync(model)).toBe(true);
    // the wheel's weights sit ~100 eV/atom off Quantum ESPRESSO's zero; the fine-tuned model does not
    expect(r.allBefore!.rmse_energy_mev_atom).toBeGreaterThan(50_000);
    expect(r.allAfter!.rmse_energy_mev_atom).toBeLessThan(100);
    expect(r.adopted).toBe(r.allAfter!.rmse_forces_mev_a <= 1.1 * r.allBefore!.rmse_forces_mev_a);
    if (r.adopted) expect(r.models).toEqual([model]);
    else expect(r.models).toEqual([]);
    expect(r.decision).toMatch(/fine-tuned on 6 DFT labels/);
    expect(JSON.parse(readFileSync(r.record, 'utf8'))).toMatchObject({ kind: 'finetune', generation: 1, tuned: [model] });
  });

  it('a CHGNet campaign\'s teacher phase: pw.x seeds, then the wheel\'s CHGNet fine-tuned on them', async () => {
    const runDir = mkdtempSync(path.join(os.tmpdir(), 'autopipe-chgnet-boot-'));
    const campaign = {
      system: { name: 'Si', elements: ['Si'], prototype: { kind: 'diamond', a: 5.43, cubic: false } },
      generation: { count: 8, rattle_sigma: 0.05 },
      teacher: { kind: 'chgnet', bootstrap: { seed_structures: 5 }, finetune: { max_epochs: 1, lr: 0.001 } },
      dft: { pseudopotentials: { Si: 'Si.pbe-rrkj.UPF' }, ecutwfc: 12, ecutrho: 48, kspacing: 0.3, smearing: 'mv', degauss: 0.02 },
      budgets: { dft_total: 20 },
    } as const;
    const client = await testClient();
    const r = await client.workflow.execute(teacherBootstrapWorkflow, { taskQueue: TaskQueues.control, workflowId: `chgnet-boot-${Date.now()}`, args: [{ runDir, campaign: JSON.parse(JSON.stringify(campaign)) }] });
    expect(r.models).toEqual([runLayout(runDir).teacherChgnet(0)]);
    expect(r.labelled).toBe(5);
    const rec = JSON.parse(readFileSync(r.record, 'utf8'));
    expect(rec).toMatchObject({ kind: 'bootstrap', teacher: 'chgnet', dftLabels: 5 });
    // zero-shot on Materials Project's zero, fine-tuned on the seeds' (QE's)
    expect(rec.zeroShotScore.rmse_energy_mev_atom).toBeGreaterThan(50_000);
    expect(r.trainingScore.rmse_energy_mev_atom).toBeLessThan(100);
  });
});
