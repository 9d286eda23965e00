// `autopipe label dft FILE --config CAMPAIGN.yaml --out OUT.extxyz`: label any ASE-readable set of
// structures with the campaign's DFT settings through labellingWorkflow, with progress, and write the
// labels as extxyz (REF_energy, REF_forces, REF_stress).
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { writeDataset } from '../../activities/store/datasets';
import { callPython } from '../../activities/runtime/python';
import { defaultRunsDir } from '../../host/paths';
import { TaskQueues } from '../../common/queues';
import { runLayout } from '../../common/run-layout';
import { uiUrl, temporalSettings } from '../../host/temporal-config';
import { labellingWorkflow } from '../../workflows/labelling';
import { loadCampaignFile } from '../campaign-file';
import { withLocalRun } from '../local-run';
import { UsageError, type Command } from './index';

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

export const command: Command = {
  usage: 'label dft FILE --config C --out OUT.extxyz [--run-dir D] [--no-worker]   DFT labels for any structure file',
  async run(args) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: { config: { type: 'string' }, out: { type: 'string' }, 'run-dir': { type: 'string' }, 'no-worker': { type: 'boolean' } },
    });
    if (positionals[0] !== 'dft' || positionals.length !== 2) throw new UsageError('usage: autopipe label dft FILE --config CAMPAIGN.yaml --out OUT.extxyz');
    if (!values.config) throw new UsageError('--config CAMPAIGN.yaml is required (its dft section is used)');
    if (!values.out) throw new UsageError('--out OUT.extxyz is required');
    const input = path.resolve(positionals[1]!);
    if (!existsSync(input)) {
      console.error(`${positionals[1]}: no such file`);
      return 1;
    }
    const loaded = loadCampaignFile(values.config);
    if (!loaded.ok) {
      loaded.errors.forEach((e) => console.error(e));
      return 1;
    }
    const dft = loaded.campaign.dft;
    const runDir = path.resolve(values['run-dir'] ?? path.join(defaultRunsDir, `label-${new Date().toISOString().replace(/[:.]/g, '-')}`));
    const run = runLayout(runDir);
    const indexed = await callPython('structures-index', { input, output: run.structures('input') }, Indexed, {
      workDir: run.structureLogs('input'),
    }).catch((err: Error) => {
      throw new Error(`${positionals[1]}: ${err.message.replace(/ \(helper.*$/, '')}`);
    });
    console.error(`${indexed.count} structures from ${positionals[1]}; run directory ${runDir}`);
    const result = await withLocalRun({ queues: ['control', 'dft'], inProcessWorkers: !values['no-worker'] }, async (client) => {
      const id = `label-${path.basename(runDir)}`;
      const handle = await client.workflow.start(labellingWorkflow, {
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
      const out = path.resolve(values.out);
      await writeDataset({
        workDir: runDir,
        entries: result.labels.map((l) => ({ structure_file: indexed.output, index: l.index, label_file: l.labelFile, name: l.structureId })),
        extxyz: out,
      });
      console.log(out);
    }
    return result.failed > 0 ? 1 : 0;
  },
};
