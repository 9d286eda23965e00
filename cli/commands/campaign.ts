// Campaign commands on the server: start, status, watch, pause, resume, stop, tune, list.
import type { Command } from 'commander';
import { stamp } from '../args';
import type { Register } from '../command-kit';
import { examples } from '../command-kit';
import { idProblem } from '../../common/ids';
import { CampaignError, InputError, UsageError } from '../errors';

function bar(done: number, total: number, width = 24): string {
  const f = total > 0 ? Math.min(1, done / total) : 0;
  return `[${'#'.repeat(Math.round(f * width)).padEnd(width, '.')}] ${done}/${total}`;
}

/** "gamma_select=2 dft_total=40" -> {gamma_select: 2, dft_total: 40} */
export function parseTunePairs(pairs: string[]): Record<string, number> {
  if (!pairs.length) throw new UsageError('tune needs KEY=VALUE pairs, e.g. gamma_select=2 dft_total=40');
  const t: Record<string, number> = {};
  for (const p of pairs) {
    const [k, v, ...rest] = p.split('=');
    if (!k || v === undefined || rest.length || v.trim() === '' || !Number.isFinite(Number(v))) throw new UsageError(`"${p}" is not KEY=NUMBER`);
    t[k] = Number(v);
  }
  return t;
}

async function start(file: string, opts: { id?: string; wait?: boolean }): Promise<number> {
  if (opts.id !== undefined) {
    const bad = idProblem(opts.id);
    if (bad) throw new UsageError(`--id: ${bad}`);
  }
  const { checkCampaignFile } = await import('../campaign-check');
  const { loadCampaignFile } = await import('../campaign-file');
  const pre = loadCampaignFile(file);
  if (!pre.ok) throw new CampaignError(pre.errors);
  // The id decides the run directory, so it is fixed before the checks run.
  const id = opts.id ?? pre.campaign.id ?? `${pre.campaign.system.name}-${stamp()}`;
  const loaded = await checkCampaignFile(file, { id });
  if (!loaded.ok) throw new CampaignError(loaded.errors);
  const { temporalSettings, uiUrl } = await import('../../host/temporal-config');
  const { startServer } = await import('../../host/server');
  const { client, startCampaignWorkflow } = await import('../campaign-client');
  const settings = temporalSettings();
  if (!settings.external) await startServer();
  const c = await client();
  const h = await startCampaignWorkflow(c, id, { ...loaded.raw, id }, loaded.campaign, `Campaign ${id}: ${loaded.campaign.system.name}`).catch((err: Error) => {
    if (/already started|AlreadyStarted/i.test(err.message)) throw new Error(`campaign "${id}" is already running: \`autopipe status ${id}\` or start with another --id`);
    throw err;
  });
  console.log(id);
  console.error(`started campaign ${id}: ${uiUrl(settings, id)}`);
  console.error('it runs on the workers serving autopipe-control, -dft and -ml (`autopipe worker`)');
  if (!opts.wait) return 0;
  const r = await h.result();
  console.error(`finished: ${r.stopReason}; report ${r.report}`);
  return 0;
}

async function status(id: string, opts: { json?: boolean }): Promise<number> {
  const { client, campaignHandle, closedOutcome, formatStatus } = await import('../campaign-client');
  const { statusQuery } = await import('../../workflows/campaign-api');
  const h = await campaignHandle(await client(), id);
  const state = h.description.status.name;
  if (state === 'RUNNING') {
    const s = await h.query(statusQuery);
    console.log(opts.json ? JSON.stringify(s, null, 2) : formatStatus(s));
    return 0;
  }
  // A closed campaign: its outcome from the server (a query would need a worker to replay it).
  const outcome = await closedOutcome(h);
  const closed = h.description.closeTime?.toISOString();
  if (opts.json) console.log(JSON.stringify({ campaignId: id, status: state, closeTime: closed, outcome }, null, 2));
  else console.log(`campaign ${id}: ${state.toLowerCase()}${closed ? ` at ${closed}` : ''}\n  ${outcome.replaceAll('\n', '\n  ')}`);
  return state === 'COMPLETED' ? 0 : 1;
}

async function watch(id: string, opts: { interval: string }): Promise<number> {
  const every = Number(opts.interval);
  if (opts.interval.trim() === '' || !Number.isFinite(every) || every <= 0) throw new UsageError(`--interval must be a number of seconds > 0 (got "${opts.interval}")`);
  const { client, campaignHandle } = await import('../campaign-client');
  const { statusQuery } = await import('../../workflows/campaign-api');
  const h = await campaignHandle(await client(), id);
  let last = '';
  for (;;) {
    const d = await h.describe();
    let line: string;
    try {
      const s = await h.query(statusQuery);
      line = `gen ${s.generation} ${s.phase.padEnd(12)} DFT ${bar(s.dft.used, s.dft.budget)}  potentials ${s.metrics.length}  ${s.current ?? ''}`;
    } catch {
      line = `workflow ${d.status.name}`;
    }
    if (line !== last) console.log(line);
    last = line;
    if (d.status.name !== 'RUNNING') {
      console.log(`campaign ${d.status.name.toLowerCase()}`);
      return d.status.name === 'COMPLETED' ? 0 : 1;
    }
    await new Promise((r) => setTimeout(r, every * 1000));
  }
}

/** Signals and updates reach running campaigns only; a closed one says so and how it ended. */
async function runningCampaign(id: string, what: string) {
  const { client, campaignHandle } = await import('../campaign-client');
  const h = await campaignHandle(await client(), id);
  const state = h.description.status.name;
  if (state !== 'RUNNING') throw new InputError(`campaign "${id}" is ${state.toLowerCase()}, nothing to ${what} (\`autopipe status ${id}\` says how it ended)`);
  return h;
}

async function signal(name: 'pause' | 'resume' | 'stop', id: string): Promise<number> {
  const api = await import('../../workflows/campaign-api');
  const h = await runningCampaign(id, name);
  await h.signal(name === 'pause' ? api.pauseSignal : name === 'resume' ? api.resumeSignal : api.stopAfterGenerationSignal);
  console.log(`${name} sent to ${id}`);
  return 0;
}

async function resume(id: string, opts: { config?: string }): Promise<number> {
  const { client } = await import('../campaign-client');
  const { resumeCampaign } = await import('../campaign-resume');
  let fixed: { raw: Record<string, unknown>; system: string } | undefined;
  if (opts.config) {
    const { loadCampaignFile } = await import('../campaign-file');
    const loaded = loadCampaignFile(opts.config);
    if (!loaded.ok) throw new CampaignError(loaded.errors);
    fixed = { raw: loaded.raw, system: loaded.campaign.system.name };
  }
  const r = await resumeCampaign(await client(), id, fixed ?? {});
  if (r.action === 'unpaused') console.log(`resume sent to ${id}`);
  else console.log(`resumed ${id} from its ${r.fromStatus.toLowerCase()} run ${r.fromRunId}${r.reconfigured ? ` with ${opts.config}` : ''}: run ${r.runId}`);
  return 0;
}

async function tune(id: string, pairs: string[]): Promise<number> {
  const t = parseTunePairs(pairs);
  const { tuneUpdate } = await import('../../workflows/campaign-api');
  const h = await runningCampaign(id, 'tune');
  try {
    const r = await h.executeUpdate(tuneUpdate, { args: [t] });
    console.log(JSON.stringify(r));
    return 0;
  } catch (err) {
    console.error(`rejected: ${(err as { cause?: Error }).cause?.message ?? (err as Error).message}`);
    return 1;
  }
}

async function list(): Promise<number> {
  const { client } = await import('../campaign-client');
  const c = await client();
  for await (const w of c.workflow.list({ query: `WorkflowType = 'campaignWorkflow'` })) {
    console.log(`${w.workflowId.padEnd(44)} ${w.status.name.padEnd(11)} started ${w.startTime.toISOString()}`);
  }
  return 0;
}

function idCommand(program: Command, name: string, description: string) {
  return program.command(name).description(description).argument('<id>', 'campaign id (see `autopipe list`)');
}

export const register: Register = (program, act) => {
  program
    .command('start')
    .description('start a campaign on the server (prints its id and UI link); workers run it (`autopipe worker`)')
    .argument('<campaign>', 'campaign file (YAML or JSON)')
    .option('--id <id>', 'workflow id (default: the file\'s id, else <system>-<timestamp>)')
    .option('--wait', 'wait until the campaign ends and print its outcome')
    .addHelpText('after', examples('autopipe start examples/si-demo.yaml', 'autopipe start my.yaml --id si-run-1 --wait'))
    .action(act(start));
  idCommand(program, 'status', 'phase, generation, structure counts, DFT budget, metrics')
    .option('--json', 'the status as JSON')
    .addHelpText('after', examples('autopipe status si-run-1', 'autopipe status si-run-1 --json'))
    .action(act(status));
  idCommand(program, 'watch', 'live progress until the campaign ends (exit 0 when it completed)')
    .option('--interval <seconds>', 'seconds between updates', '3')
    .addHelpText('after', examples('autopipe watch si-run-1', 'autopipe watch si-run-1 --interval 10'))
    .action(act(watch));
  idCommand(program, 'pause', 'pause between phases')
    .addHelpText('after', examples('autopipe pause si-run-1'))
    .action(act((id: string) => signal('pause', id)));
  idCommand(program, 'resume', 'unpause a running campaign; continue a failed (or finished) one from its last finished phase')
    .option('--config <file>', 'the fixed campaign file to continue with (a failed or finished campaign only)')
    .addHelpText('after', examples('autopipe resume si-run-1', 'autopipe resume si-run-1 --config si-fixed.yaml'))
    .action(act(resume));
  idCommand(program, 'stop', 'stop after the current generation')
    .addHelpText('after', examples('autopipe stop si-run-1'))
    .action(act((id: string) => signal('stop', id)));
  idCommand(program, 'tune', 'change thresholds or budgets of a running campaign (validated by the campaign)')
    .argument('[pairs...]', 'KEY=NUMBER pairs, e.g. gamma_select=2 dft_total=40')
    .addHelpText('after', examples('autopipe tune si-run-1 gamma_select=2', 'autopipe tune si-run-1 dft_total=60 dft_per_generation=12'))
    .action(act(tune));
  program
    .command('list')
    .description('campaigns on the server')
    .addHelpText('after', examples('autopipe list'))
    .action(act(list));
};
