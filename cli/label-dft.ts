// `autopipe label dft`: index the input structures, run labellingWorkflow with the campaign's DFT
// settings (progress from the label files), write the labels as extxyz.
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { writeDataset } from '../activities/store/datasets';
import { callPython } from '../activities/runtime/python';
import { defaultRunsDir } from '../host/paths';
import { TaskQueues } from '../common/queues';
import { runLayout } from '../common/run-layout';
import { uiUrl, temporalSettings } from '../host/temporal-config';
import type { labellingWorkflow } from '../workflows/labelling';
import { stamp } from './args';
import { loadCampaignFile } from './campaign-file';
import type { LabelDftOptions } from './commands/label';
import { CampaignError } from './errors';
import { withLocalRun } from './local-run';

const Indexed = z.object({ output: z.string(), ids: z.array(z.string()), count: z.number() });

function progress(runDir: string, ids: string[]): { labelled: number; failed: number } {
  let labelled = 0;
  let failed = 0;
  for (const id of new Set(ids)) {
    const dir = runLayout(runDir).dftDir(id);
    if (!existsSync(dir)) continue;
    const files = readdirSync(dir);
    if (files.some((f) => f.startsWith('label-'))) labelled++;
    else if (files.some((f) => f.startsWith('failed-'))) failed++;
  }
  return { labelled, failed };
}

export async function labelDft(input: string, shown: string, opts: LabelDftOptions): Promise<number> {
  if (!existsSync(input)) {
    console.error(`${shown}: no such file`);
    return 1;
  }
  const loaded = loadCampaignFile(opts.config!);
  if (!loaded.ok) throw new CampaignError(loaded.errors);
  const dft = loaded.campaign.dft;
  const runDir = path.resolve(opts.runDir ?? path.join(defaultRunsDir, `label-${stamp()}`));
  const run = runLayout(runDir);
  const indexed = await callPython('structures-index', { input, output: run.structures('input') }, Indexed, {
    workDir: run.structureLogs('input'),
  }).catch((err: Error) => {
    throw new Error(`${shown}: ${err.message.replace(/ \(helper.*$/, '')}`);
  });
  console.error(`${indexed.count} structures from ${shown}; run directory ${runDir}`);
  const result = await withLocalRun({ queues: ['control', 'dft'], inProcessWorkers: opts.worker }, async (client) => {
    const id = `label-${path.basename(runDir)}`;
    const handle = await client.workflow.start<typeof labellingWorkflow>('labellingWorkflow', {
      taskQueue: TaskQueues.control,
      workflowId: id,
      args: [{ runDir, dft, structureFile: indexed.output, ids: indexed.ids }],
    });
    console.error(`workflow ${id}: ${uiUrl(temporalSettings(), id)}`);
    const timer = setInterval(() => {
      const p = progress(runDir, indexed.ids);
      console.error(`  ${p.labelled}/${indexed.count} labelled, ${p.failed} failed`);
    }, 3000);
    try {
      return await handle.result();
    } finally {
      clearInterval(timer);
    }
  });
  console.error(`done: ${result.labelled} labelled (${result.healed} healed, ${result.reused} reused), ${result.failed} failed`);
  for (const f of result.failures) console.error(`  failed ${f.structureId}: ${f.reason.split('\n')[0]}`);
  if (result.labels.length) {
    const out = path.resolve(opts.out!);
    await writeDataset({
      workDir: runDir,
      entries: result.labels.map((l) => ({ structure_file: indexed.output, index: l.index, label_file: l.labelFile, name: l.structureId })),
      extxyz: out,
    });
    console.log(out);
  }
  return result.failed > 0 ? 1 : 0;
}
