// SevenNet-0 fine-tuning on real pw.x labels (PBE Si of bench/testsets/si-pbe.extxyz, made by ASE's
// Espresso calculator): the activity a campaign's teacher runs with teacher.kind sevennet. Two epochs on 8
// structures: the per-element reference folded into the model moves it onto Quantum ESPRESSO's zero, the
// file is written, reused on a retry, and is what labelling and scoring load afterwards (a new oracle key,
// absolute energies). Then the teacher fine-tune workflow on a real server, from labels in a run's store.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fineTuneSevennet } from '../activities/mace/foundation-finetune';
import { maceLabelBatch, maceScore } from '../activities/mace/label';
import { importDataset } from '../activities/store/datasets';
import { TaskQueues } from '../common/queues';
import { runLayout } from '../common/run-layout';
import { projectRoot } from '../host/paths';
import { teacherFinetuneWorkflow } from '../workflows/teacher';
import { labelledFrames } from './helpers/python';
import { startTestWorkers, testClient } from './helpers/temporal';

const testset = path.join(projectRoot, 'bench', 'testsets', 'si-pbe.extxyz');

const refFile = (file: string, from: number, to: number) => labelledFrames(testset, file, from, to);

describe('SevenNet-0 fine-tuning (teacher.kind sevennet)', () => {
  it('folds the DFT zero into the model, trains, writes a file that labelling and scoring load', { timeout: 600_000 }, async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'autopipe-7net-ft-'));
    const train = path.join(dir, 'train.extxyz');
    const held = path.join(dir, 'held.extxyz');
    await refFile(train, 22, 30); // strain and shear cells
    const heldIds = (await refFile(held, 30, 34)).ids;
    const input = { output: path.join(dir, 'teacher', 'gen-1', 'sevennet.pt'), trainFile: train, seed: 5, maxEpochs: 2, lr: 0.0003, energyWeight: 100, batchSize: 4 };
    const r = await fineTuneSevennet(input);
    expect(existsSync(r.model)).toBe(true);
    expect(r).toMatchObject({ train: 6, valid: 2 });
    // Quantum ESPRESSO's PBE zero lies ~100 eV/atom from MPtrj's; after the folded-in shift the residual is small.
    expect(Math.abs(r.referenceShift['14']!)).toBeGreaterThan(10);
    expect(r.energyRmseBeforeShift).toBeGreaterThan(10_000);
    expect(r.energyRmseAfterShift).toBeLessThan(100);
    const again = await fineTuneSevennet(input);
    expect(again).toMatchObject({ reused: true, model: r.model });
    expect(JSON.parse(readFileSync(`${r.model}.json`, 'utf8')).fingerprint).toMatch(/^[0-9a-f]{64}$/);

    // The model file carries its own energy zero: no reference file beside it, absolute energies.
    const bundled = await maceScore({ kind: 'sevennet', models: [], dataset: held, workDir: dir });
    const tuned = await maceScore({ kind: 'sevennet', models: [r.model], dataset: held, workDir: dir });
    expect(tuned.oracle_key).not.toBe(bundled.oracle_key);
    expect(bundled.rmse_energy_mev_atom).toBeGreaterThan(10_000);
    expect(tuned.rmse_energy_mev_atom).toBeLessThan(100);

    const labelled = await maceLabelBatch({ runDir: dir, structureFile: held, ids: heldIds, oracle: { kind: 'sevennet', models: [r.model] } });
    expect(labelled.oracle).toMatchObject({ kind: 'sevennet', size: 1, key: tuned.oracle_key });
    expect(labelled.oracle.version).toMatch(/fine-tuned$/);
    expect(labelled.computed).toBe(4);
  });

  it('typed errors: a missing foundation, a file that is not a SevenNet model', { timeout: 120_000 }, async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'autopipe-7net-ft-bad-'));
    await expect(fineTuneSevennet({ output: path.join(dir, 'x.pt'), foundation: path.join(dir, 'none.pt'), trainFile: testset, seed: 1, maxEpochs: 1, lr: 0.001, energyWeight: 100 }))
      .rejects.toMatchObject({ type: 'InvalidInput', message: expect.stringContaining('SevenNet foundation not found') });
    // A data file is never trusted to be code: a non-model file is refused by name, not unpickled.
    await expect(maceScore({ kind: 'sevennet', models: [testset], dataset: testset, workDir: dir }))
      .rejects.toMatchObject({ type: 'InvalidConfig', message: expect.stringContaining(testset) });
  });
});

describe('the teacher fine-tune workflow with teacher.kind sevennet (real server, labels from the store)', () => {
  let stop: () => Promise<void>;
  beforeAll(async () => {
    stop = await startTestWorkers(['control', 'dft', 'ml']);
  });
  afterAll(async () => stop?.());

  it('fine-tunes the wheel\'s SevenNet-0 on the DFT labels, scores it on all of them and names the file labelling uses next', { timeout: 600_000 }, async () => {
    const runDir = mkdtempSync(path.join(os.tmpdir(), 'autopipe-7net-wf-'));
    const client = await testClient();
    /** One generation's teacher fine-tune on test-set frames [from, to), imported into the store as DFT labels. */
    const fineTune = async (generation: number, from: number, to: number, models?: string[]) => {
      const file = path.join(runDir, `dft-${generation}.extxyz`);
      const ids = (await refFile(file, from, to)).ids;
      await importDataset({ runDir, file, oracle: 'dft', settingsHash: 'pw-pbe', source: generation === 1 ? 'initial_random' : `active_learning_iter_${generation - 1}`, generation: generation - 1 });
      return client.workflow.execute(teacherFinetuneWorkflow, {
        taskQueue: TaskQueues.control,
        workflowId: `sevennet-finetune-${generation}-${Date.now()}`,
        args: [{
          runDir,
          generation,
          teacher: { kind: 'sevennet', finetune: { max_epochs: 1, lr: 0.0003 }, surrogates: { per_structure: 0 } },
          models,
          dftLabels: ids.map((structureId) => ({ structureId, labelKey: 'pw-pbe' })),
          structureFile: file,
          indices: ids.map((_, i) => i),
          seed: 3,
        }],
      });
    };
    const r = await fineTune(1, 22, 28);
    const model = runLayout(runDir).teacherSevennet(1);
    expect(r.tuned).toEqual([model]);
    expect(existsSync(model)).toBe(true);
    // the wheel's weights sit ~100 eV/atom off Quantum ESPRESSO's zero; the fine-tuned model does not
    expect(r.allBefore!.rmse_energy_mev_atom).toBeGreaterThan(10_000);
    expect(r.allAfter!.rmse_energy_mev_atom).toBeLessThan(100);
    expect(r.adopted).toBe(r.allAfter!.rmse_forces_mev_a <= 1.1 * r.allBefore!.rmse_forces_mev_a);
    expect(r.models).toEqual(r.adopted ? [model] : []);
    expect(r.decision).toMatch(/fine-tuned on 6 DFT labels/);
    expect(JSON.parse(readFileSync(r.record, 'utf8'))).toMatchObject({ kind: 'finetune', generation: 1, tuned: [model] });

    // The next generation starts from this generation's file (the campaign passes its teacher models on),
    // with new labels and the earlier ones replayed; the reference left to refit is then small.
    const r2 = await fineTune(2, 28, 30, [model]);
    const model2 = runLayout(runDir).teacherSevennet(2);
    expect(r2.tuned).toEqual([model2]);
    expect(r2.decision).toMatch(/fine-tuned on 8 DFT labels/);
    expect(r2.allBefore!.rmse_energy_mev_atom).toBeLessThan(100); // generation 1's file, already on the DFT zero
    const record2 = JSON.parse(readFileSync(`${model2}.json`, 'utf8')).result;
    expect(Math.abs(record2.referenceShift['14'])).toBeLessThan(0.1);
  });
});
