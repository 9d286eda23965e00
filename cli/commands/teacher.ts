// `autopipe teacher bootstrap --config C`: the offline default teacher. Seed structures from the campaign,
// labelled by the project's own DFT oracle, train a small MACE committee (members with different seeds),
// all through Temporal (embedded server started or reused; workers in this process unless --no-worker).
import path from 'node:path';
import { parseArgs } from 'node:util';
import { defaultRunsDir } from '../../host/paths';
import { TaskQueues } from '../../common/queues';
import { temporalSettings, uiUrl } from '../../host/temporal-config';
import { teacherBootstrapWorkflow } from '../../workflows/teacher';
import { loadCampaignFile } from '../campaign-file';
import { withLocalRun } from '../local-run';
import { UsageError, type Command } from './index';

const USAGE = 'teacher bootstrap --config C [--run-dir D] [--json] [--no-worker]   train a MACE committee on DFT labels of seed structures';

async function bootstrap(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { config: { type: 'string' }, 'run-dir': { type: 'string' }, json: { type: 'boolean' }, 'no-worker': { type: 'boolean' } },
  });
  if (positionals.length) throw new UsageError(`teacher bootstrap takes no positional arguments (got ${positionals.join(' ')})`);
  if (!values.config) throw new UsageError('teacher bootstrap: --config CAMPAIGN.yaml is required (its system, dft and teacher.bootstrap sections are used)');
  const loaded = loadCampaignFile(values.config);
  if (!loaded.ok) {
    loaded.errors.forEach((e) => console.error(e));
    return 1;
  }
  const c = loaded.campaign;
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const runDir = path.resolve(values['run-dir'] ?? c.run_directory ?? path.join(defaultRunsDir, `teacher-${c.system.name}-${stamp}`));
  // The workflow gets the resolved campaign (absolute paths), as plain JSON.
  const campaign = JSON.parse(JSON.stringify(c));
  const b = c.teacher.bootstrap;
  console.error(`bootstrapping a ${b.members}-member MACE committee from ${b.seed_structures} DFT-labelled seed structures; run directory ${runDir}`);
  const r = await withLocalRun({ queues: ['control', 'dft', 'ml'], inProcessWorkers: !values['no-worker'] }, async (client) => {
    const id = `teacher-bootstrap-${path.basename(runDir)}`;
    const handle = await client.workflow.start(teacherBootstrapWorkflow, { taskQueue: TaskQueues.control, workflowId: id, args: [{ runDir, campaign }] });
    console.error(`workflow ${id}: ${uiUrl(temporalSettings(), id)}`);
    return handle.result();
  });
  if (values.json) {
    console.log(JSON.stringify(r, null, 2));
    return 0;
  }
  const s = r.trainingScore;
  console.error(`DFT labels: ${r.labelled}/${r.structures} (${r.failed} failed); committee on its training set: ` +
    `${s.rmse_forces_mev_a.toFixed(1)} meV/Å force RMSE, ${s.rmse_energy_mev_atom.toFixed(1)} meV/atom energy RMSE`);
  console.error(`record: ${r.record}\nadd to the campaign file:`);
  console.log(`teacher:\n  kind: mace\n  models:\n${r.models.map((m) => `    - ${m}`).join('\n')}`);
  return 0;
}

export const command: Command = {
  usage: USAGE,
  async run(args) {
    const [sub, ...rest] = args;
    if (sub === 'bootstrap') return bootstrap(rest);
    throw new UsageError(`teacher needs a subcommand: ${USAGE}`);
  },
};
