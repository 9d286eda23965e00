// `autopipe teacher bootstrap`: seed structures from the campaign, labelled by the project's own DFT
// oracle, a small MACE committee trained on them, all through Temporal (embedded server started or
// reused; workers in this process unless --no-worker).
import path from 'node:path';
import { defaultRunsDir } from '../host/paths';
import { temporalSettings, uiUrl } from '../host/temporal-config';
import type { teacherBootstrapWorkflow } from '../workflows/teacher';
import { campaignFrom, stamp } from './args';
import { checkCampaignFile } from './campaign-check';
import { CampaignError, InputError } from './errors';
import type { BootstrapOptions } from './commands/teacher';
import { withLocalRun } from './local-run';

export async function bootstrapTeacher(opts: BootstrapOptions): Promise<number> {
  const c = campaignFrom(opts.config!);
  if (c.teacher.kind === 'sevennet') {
    throw new InputError(`${opts.config}: teacher.kind sevennet: there is nothing to bootstrap here (teacher.models takes no file with it); a campaign fine-tunes SevenNet-0 on its own seed DFT labels (or, with teacher.finetune.max_epochs 0, fits only its energy reference): run \`autopipe start ${opts.config}\``);
  }
  const runDir = path.resolve(opts.runDir ?? c.run_directory ?? path.join(defaultRunsDir, `teacher-${c.system.name}-${stamp()}`));
  // Everything the bootstrap needs (pseudopotentials, structure, DFT cost, run directory) before it starts.
  const checked = await checkCampaignFile(opts.config!, { runDir });
  if (!checked.ok) throw new CampaignError(checked.errors);
  // The workflow gets the campaign as the file gives it (absolute paths; it derives the rest), as plain JSON.
  const campaign = JSON.parse(JSON.stringify(c));
  const b = c.teacher.bootstrap;
  const what = c.teacher.kind === 'chgnet' ? 'fine-tuning CHGNet' : `bootstrapping a ${b.members}-member MACE committee`;
  console.error(`${what} from ${b.seed_structures} DFT-labelled seed structures; run directory ${runDir}`);
  const r = await withLocalRun({ queues: ['control', 'dft', 'ml'], inProcessWorkers: opts.worker }, async (client, taskQueue) => {
    const id = `teacher-bootstrap-${path.basename(runDir)}`;
    const handle = await client.workflow.start<typeof teacherBootstrapWorkflow>('teacherBootstrapWorkflow', { taskQueue, workflowId: id, args: [{ runDir, campaign }] });
    console.error(`workflow ${id}: ${uiUrl(temporalSettings(), id)}`);
    return handle.result();
  });
  if (opts.json) {
    console.log(JSON.stringify(r, null, 2));
    return 0;
  }
  const s = r.trainingScore;
  console.error(`DFT labels: ${r.labelled}/${r.structures} (${r.failed} failed); ${c.teacher.kind === 'chgnet' ? 'CHGNet' : 'committee'} on its training set: ` +
    `${s.rmse_forces_mev_a.toFixed(1)} meV/Å force RMSE, ${s.rmse_energy_mev_atom.toFixed(1)} meV/atom energy RMSE`);
  console.error(`record: ${r.record}\nadd to the campaign file:`);
  console.log(`teacher:\n  kind: ${c.teacher.kind}\n  models:\n${r.models.map((m) => `    - ${m}`).join('\n')}`);
  return 0;
}
