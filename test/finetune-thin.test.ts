// A thin generation on the real tools (issue 13 item 3): the campaign's fine-tuning phase with 1 and
// with 2 new pw.x labels. Alone, such a set once crashed mace_run_train ("torch.cat(): expected a
// non-empty list": one structure for training, the other for validation) and with it the campaign. Now
// the teacher fine-tunes on the new labels plus a replay of the run's earlier DFT labels (here the
// teacher's own seed labels), the adoption is decided on every DFT label, and ACE is refitted.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fitAce } from '../activities/ace/fit';
import { dftLabel } from '../activities/dft/qe';
import { exportDataset, importDataset } from '../activities/store/datasets';
import { queryStore, storeLabels } from '../activities/store/store';
import { generateStructures } from '../activities/structures/generate';
import { CampaignSchema, GenerationSchema } from '../common/campaign-schema';
import { TaskQueues } from '../common/queues';
import { finetuneWorkflow, type FinetuneResult } from '../workflows/finetune';
import { startTestWorkers, testClient } from './helpers/temporal';
import { fixtureCampaign, sharedCommittee, type CommitteeFixture } from './mace-fixture';

let stop: () => Promise<void>;
let fx: CommitteeFixture;
const runDir = mkdtempSync(path.join(os.tmpdir(), 'autopipe-thin-'));
const campaign = CampaignSchema.parse({
  ...fixtureCampaign,
  teacher: { ...fixtureCampaign.teacher, accept_threshold: 0.3, dft_threshold: 1.0, finetune: { max_epochs: 3 }, surrogates: { per_structure: 1 } },
  training: { number_of_functions_per_element: 8, maxiter: 10, incremental_maxiter: 5, replay_buffer_size: 20, test_size: 0 }, // 6 seeds: no held-out split
});
const results: Record<number, FinetuneResult> = {};
const newLabels: { structureId: string; labelKey: string; index: number }[] = [];
let structureFile = '';
let potential = '';

beforeAll(async () => {
  stop = await startTestWorkers(['control', 'dft', 'ml'], { ml: 2 });
  fx = await sharedCommittee();
  // The run's earlier DFT labels: the teacher's seeds, and generation 0's ACE potential fitted on them.
  await importDataset({ runDir, file: fx.dataset, oracle: 'dft', source: 'teacher_seed', generation: 0 });
  const seeds = (await queryStore({ runDir, filter: { oracle: 'dft' } })).ids;
  const labels = await storeLabels({ runDir, ids: seeds });
  const members = seeds.map((id) => ({ id, oracle: 'dft', settings_hash: labels[id]![0]!.settingsHash }));
  const ds = await exportDataset({ runDir, name: 'gen-0-new', formats: ['pckl'], sets: ['training'], define: { set: 'training', generation: 0, members } });
  const fit = await fitAce({ outDir: path.join(runDir, 'potentials', 'gen-0'), datasetFile: ds.pckl!, elements: ['Si'], training: campaign.training, seed: 1 });
  potential = fit.potentialYaml;
  // Two new structures, labelled by pw.x into the store.
  const made = await generateStructures({
    runDir,
    name: 'new',
    system: campaign.system,
    generation: GenerationSchema.parse({ count: 2, rattle_sigma: 0.08, volume_range: [0.97, 1.03], shear_fraction: 0, vacancy_fraction: 0 }),
    seed: 123,
  });
  structureFile = made.output;
  const client = await testClient();
  for (const n of [1, 2]) {
    // One more structure labelled by pw.x into the store, then the phase with the new labels so far.
    const index = n - 1;
    const ref = await dftLabel({ runDir, structureId: made.ids[index]!, structureFile, index, dft: campaign.dft, source: 'active_learning_iter_0', generation: 0 });
    newLabels.push({ structureId: made.ids[index]!, labelKey: ref.labelKey, index });
    results[n] = await client.workflow.execute(finetuneWorkflow, {
      taskQueue: TaskQueues.control,
      workflowId: `thin-${n}-${Date.now()}`,
      args: [{ runDir, campaign, generation: n - 1, teacherModels: fx.models, newDft: { structureFile, labels: newLabels.slice(0, n) }, previousPotential: potential }],
    });
  }
}, 60 * 60_000);
afterAll(async () => stop?.());

describe('a generation with 1 or 2 new DFT labels', () => {
  it.each([1, 2])('%i new label(s): the teacher fine-tunes on them plus the replayed seed labels, and a decision is recorded', (n) => {
    const t = results[n]!.teacher;
    expect(t.trainedOn).toEqual({ new: n, replayed: fx.labelled });
    expect(t.decision).toMatch(/^(adopted|kept the old committee): fine-tuned on \d+ DFT labels; on all \d+ DFT labels/);
    expect(t.decision).not.toMatch(/failed/);
    expect(t.before).toBeDefined();
    expect(t.after).toBeDefined();
  });

  it.each([1, 2])('%i new label(s): ACE is refitted from the previous potential', (n) => {
    const r = results[n]!;
    expect(r.fit.potentialYaml).toBe(path.join(runDir, 'potentials', `gen-${n}`, 'potential.yaml'));
    expect(r.training.new).toBeGreaterThanOrEqual(n);
  });
});
