// `autopipe label dft FILE --config CAMPAIGN.yaml --out OUT.extxyz`: label any ASE-readable set of
// structures with the campaign's DFT settings through labellingWorkflow, with progress, and write the
// labels as extxyz (REF_energy, REF_forces, REF_stress).
import { existsSync, readdirSync, renameSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { exportDataset } from '../../activities/store/datasets';
import { callPython } from '../../activities/runtime/python';
import { StructuresIndex } from '../../activities/structures/generate';
import { defaultRunsDir } from '../../host/paths';
import { TaskQueues } from '../../common/queues';
import { runLayout } from '../../common/run-layout';
import { uiUrl, temporalSettings } from '../../host/temporal-config';
import { labellingWorkflow } from '../../workflows/labelling';
import { loadCampaignFile } from '../campaign-file';
import { withLocalRun } from '../local-run';
import { UsageError, type Command } from './index';


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
    const indexed = await callPython(StructuresIndex, { input, output: run.structures('input') }, {
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
        args: [{ runDir, dft, structureFile: indexed.output, ids: indexed.ids, store: { source: 'label', generation: 0 } }],
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
      // The labels are in the run's store: the output is an export of exactly these.
      const exported = await exportDataset({
        runDir,
        name: path.basename(out).replace(/\.extxyz$/, ''),
        outDir: path.dirname(out),
        formats: ['extxyz'],
        sets: ['label'],
        define: { set: 'label', generation: 0, members: result.labels.map((l) => ({ id: l.structureId, oracle: 'dft', settings_hash: l.labelKey })) },
      });
      if (exported.extxyz !== out) renameSync(exported.extxyz!, out);
      console.log(out);
    }
    return result.failed > 0 ? 1 : 0;
  },
};
