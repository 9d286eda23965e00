// Campaign commands: start, status, watch, pause, resume, stop, tune, list, report, history. The read
// commands' logic lives in cli/campaigns/ (library functions); these wrappers parse and print.
import type { Command } from 'commander';
import { stamp } from '../args';
import type { Register } from '../command-kit';
import { examples } from '../command-kit';
import { idProblem } from '../../common/ids';
import { CampaignError, InputError, UsageError } from '../errors';

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
  const { client, campaignHandle, closedOutcome } = await import('../campaign-client');
  const { readCampaignView } = await import('../campaigns/live');
  const { formatStatus, formatView } = await import('../campaigns/format');
  const c = await client();
  const h = await campaignHandle(c, id);
  const state = h.description.status.name;
  const view = await readCampaignView(c, id);
  if (state === 'RUNNING') {
    console.log(opts.json ? JSON.stringify(view, null, 2) : formatView(view));
    return view.status ? 0 : 1;
  }
  // A closed campaign: how it ended (its outcome from the server; a query would need a worker to replay
  // it), and the status it recorded in its run directory when it has one.
  const outcome = await closedOutcome(h);
  const closed = h.description.closeTime?.toISOString();
  const recorded = view.status;
  if (opts.json) console.log(JSON.stringify({ campaignId: id, status: state, closeTime: closed, outcome, recorded }, null, 2));
  else console.log(`campaign ${id}: ${state.toLowerCase()}${closed ? ` at ${closed}` : ''}\n  ${outcome.replaceAll('\n', '\n  ')}${recorded ? `\n${formatStatus(recorded)}` : ''}`);
  return state === 'COMPLETED' ? 0 : 1;
}

async function watch(id: string, opts: { interval: string; plain?: boolean; json?: boolean }): Promise<number> {
  const every = Number(opts.interval);
  if (opts.interval.trim() === '' || !Number.isFinite(every) || every <= 0) throw new UsageError(`--interval must be a number of seconds > 0 (got "${opts.interval}")`);
  const { client, campaignHandle } = await import('../campaign-client');
  const { defaultMode, watchCampaign } = await import('../campaigns/watch');
  const c = await client();
  await campaignHandle(c, id);
  const mode = opts.json ? 'json' : opts.plain ? 'lines' : defaultMode();
  const r = await watchCampaign(c, id, { intervalMs: every * 1000, mode });
  if (mode !== 'json') console.log(`campaign ${r.workflowStatus.toLowerCase()}${r.view?.status?.stopReason ? `: ${r.view.status.stopReason}` : ''}`);
  return r.workflowStatus === 'COMPLETED' ? 0 : 1;
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

async function list(opts: { json?: boolean; limit?: string }): Promise<number> {
  const limit = opts.limit === undefined ? undefined : Number(opts.limit);
  if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) throw new UsageError(`--limit must be a positive integer (got "${opts.limit}")`);
  const { client } = await import('../campaign-client');
  const { formatCampaignRows, listCampaigns } = await import('../campaigns/list');
  const rows = await listCampaigns(await client(), { limit });
  console.log(opts.json ? JSON.stringify(rows, null, 2) : formatCampaignRows(rows));
  return 0;
}

async function report(id: string, opts: { json?: boolean }): Promise<number> {
  const { optionalClient } = await import('../campaign-client');
  const { campaignReport } = await import('../campaigns/report');
  const { uiNamespaceBase } = await import('../../activities/report/temporal-links');
  const { temporalSettings } = await import('../../host/temporal-config');
  const c = await optionalClient();
  try {
    const r = await campaignReport(id, { client: c, ui: c ? uiNamespaceBase(temporalSettings()) : undefined });
    r.warnings.forEach((w) => console.error(`warning: ${w}`));
    console.log(opts.json ? JSON.stringify(r, null, 2) : r.file);
    return 0;
  } finally {
    await c?.connection.close();
  }
}

async function history(structureId: string, opts: { json?: boolean; campaign?: string; run?: string }): Promise<number> {
  const { optionalClient } = await import('../campaign-client');
  const { formatHistory, structureHistory } = await import('../campaigns/history');
  const { runDirFor } = await import('../campaigns/live');
  const { uiNamespaceBase } = await import('../../activities/report/temporal-links');
  const { temporalSettings } = await import('../../host/temporal-config');
  if (opts.run && opts.campaign) throw new UsageError('give --campaign or --run, not both');
  const runDir = opts.run ?? (opts.campaign ? runDirFor(opts.campaign) : undefined);
  if ((opts.run || opts.campaign) && !runDir) throw new InputError(`no run directory for ${opts.run ? `--run ${opts.run}` : `--campaign ${opts.campaign}`} (a campaign's run directory holds campaign.resolved.json)`);
  const c = await optionalClient();
  try {
    const h = await structureHistory(structureId, { runDir, client: c, ui: uiNamespaceBase(temporalSettings()) });
    console.log(opts.json ? JSON.stringify(h, null, 2) : formatHistory(h));
    return 0;
  } finally {
    await c?.connection.close();
  }
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
  idCommand(program, 'status', 'phase, generation, structure counts, DFT used (live), metrics, and what runs now')
    .option('--json', 'the status and the running activities\' heartbeats as JSON')
    .addHelpText('after', examples('autopipe status si-run-1', 'autopipe status si-run-1 --json'))
    .action(act(status));
  idCommand(program, 'watch', 'live progress bars until the campaign ends (plain lines when stdout is not a terminal; exit 0 when it completed)')
    .option('--interval <seconds>', 'seconds between updates', '2')
    .option('--plain', 'one line per change (at least every 10 s), also on a terminal')
    .option('--json', 'one JSON object per change (NDJSON)')
    .addHelpText('after', examples('autopipe watch si-run-1', 'autopipe watch si-run-1 --plain --interval 5 > watch.log'))
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
    .description('campaigns on the server: status, phase, generation, DFT used, first start')
    .option('--json', 'the rows as JSON')
    .option('--limit <n>', 'the newest n campaigns only')
    .addHelpText('after', examples('autopipe list', 'autopipe list --json --limit 5'))
    .action(act(list));
  idCommand(program, 'report', 'write the campaign\'s HTML report (runs/<id>/report/index.html) now and print its path')
    .option('--json', 'what was written (file, sections, figures, costs) as JSON')
    .addHelpText('after', examples('autopipe report si-run-1', 'autopipe report runs/si-run-1 --json'))
    .action(act(report));
  program
    .command('history')
    .description('one structure\'s story: how it was made, every label and oracle, DFT attempts and rungs, the fits that trained on it, links into the Temporal UI')
    .argument('<structure-id>', 'structure id, or a unique prefix of at least 6 hex digits')
    .option('--campaign <id>', 'look in this campaign\'s store (default: every store under runs/)')
    .option('--run <dir>', 'look in the store of this run directory')
    .option('--json', 'the story as JSON')
    .addHelpText('after', examples('autopipe history d4b7bd74', 'autopipe history d4b7bd749b5afc562fea --campaign si-run-1 --json'))
    .action(act(history));
};
