// `npm run demo`: start (or reuse) the embedded server, run workers in this process, and run the demo
// pipeline on real tools through Temporal; prints where every output went.
import path from 'node:path';
import { defaultRunsDir, projectRoot } from '../common/paths';
import { TaskQueues } from '../common/queues';
import { temporalSettings, uiUrl } from '../common/temporal-config';
import { smokeWorkflow } from '../workflows/smoke';
import { loadCampaignFile } from './campaign-file';
import { withLocalRun } from './local-run';

export async function runDemo(args: string[]): Promise<number> {
  const file = args[0] ?? path.join(projectRoot, 'examples', 'si-demo.yaml');
  const loaded = loadCampaignFile(file);
  if (!loaded.ok) {
    loaded.errors.forEach((e) => console.error(e));
    return 1;
  }
  const settings = temporalSettings();
  const started = Date.now();
  return withLocalRun({ queues: ['control', 'dft', 'ml'] }, async (client) => {
    const id = `demo-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    const runDir = path.join(defaultRunsDir, id);
    const handle = await client.workflow.start(smokeWorkflow, {
      taskQueue: TaskQueues.control,
      workflowId: id,
      args: [{ runDir, campaign: loaded.raw as never, structures: 10, fitIterations: 40, maceEpochs: 8 }],
    });
    console.log(`workflow ${id} started: ${uiUrl(settings, id)}`);
    const r = await handle.result();
    console.log(`\ndone in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    console.log(`  structures labelled by pw.x: ${r.labelled}/${r.structures} (failed ${r.failed})`);
    console.log(`  dataset:          ${r.dataset}`);
    console.log(`  ACE potential:    ${r.potential.yaml}\n                    ${r.potential.yace}\n                    ${r.potential.asi ?? '(no active set)'}`);
    console.log(`  fit metrics:      ${JSON.stringify(r.fitMetrics)}`);
    console.log(`  MACE committee:   ${r.maceModels.join(', ')} (mean max force std ${r.maceMeanForceStd?.toFixed(4)} eV/Å)`);
    console.log(`  run directory:    ${runDir}`);
    return 0;
  });
}
