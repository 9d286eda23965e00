// Campaign commands: start, status, watch, pause, resume, stop, tune, list, report, history. The read
// commands' logic lives in cli/campaigns/ (library functions); these are thin wrappers.
import type { Client, WorkflowHandle } from '@temporalio/client';
import { parseArgs } from 'node:util';
import { connectClient } from '../../host/connections';
import { TaskQueues } from '../../common/queues';
import { CampaignIdKey, SystemKey } from '../../common/search-attributes';
import { temporalSettings, uiUrl } from '../../host/temporal-config';
import { campaignWorkflow } from '../../workflows/campaign';
import { pauseSignal, resumeSignal, stopAfterGenerationSignal, tuneUpdate } from '../../workflows/campaign-api';
import { loadCampaignFile } from '../campaign-file';
import { serverStatus, startServer } from '../../host/server';
import { uiNamespaceBase } from '../../activities/report/temporal-links';
import { formatView } from '../campaigns/format';
import { formatHistory, structureHistory } from '../campaigns/history';
import { formatCampaignRows, listCampaigns } from '../campaigns/list';
import { readCampaignView, runDirFor } from '../campaigns/live';
import { campaignReport } from '../campaigns/report';
import { defaultMode, watchCampaign } from '../campaigns/watch';
import { UsageError, type Command } from './index';

async function client(): Promise<Client> {
  return connectClient(temporalSettings());
}

/** A client when a server answers (2 s check), else undefined: report and history work from files too. */
async function optionalClient(): Promise<Client | undefined> {
  const s = temporalSettings();
  if (!(await serverStatus(s)).up) return undefined;
  return connectClient(s).catch(() => undefined);
}

async function handleFor(c: Client, id: string | undefined): Promise<WorkflowHandle<typeof campaignWorkflow>> {
  if (!id) throw new UsageError('give the campaign id (see `autopipe list`)');
  const h = c.workflow.getHandle<typeof campaignWorkflow>(id);
  try {
    await h.describe();
  } catch {
    throw new Error(`no campaign with id "${id}" on ${temporalSettings().address} (see \`autopipe list\`)`);
  }
  return h;
}

const start: Command = {
  usage: 'start CAMPAIGN.yaml [--id ID] [--wait]      start a campaign (prints its id and UI link)',
  async run(args) {
    const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { id: { type: 'string' }, wait: { type: 'boolean' } } });
    if (positionals.length !== 1) throw new UsageError('start needs exactly one campaign file');
    const loaded = loadCampaignFile(positionals[0]!);
    if (!loaded.ok) {
      loaded.errors.forEach((e) => console.error(e));
      return 1;
    }
    const settings = temporalSettings();
    if (!settings.external) await startServer();
    const c = await client();
    const id = values.id ?? loaded.campaign.id ?? `${loaded.campaign.system.name}-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    const raw = { ...loaded.raw, id };
    const h = await c.workflow
      .start(campaignWorkflow, {
        taskQueue: TaskQueues.control,
        workflowId: id,
        args: [raw],
        typedSearchAttributes: [
          { key: CampaignIdKey, value: id },
          { key: SystemKey, value: loaded.campaign.system.name },
        ],
        staticSummary: `Campaign ${id}: ${loaded.campaign.system.name}`,
      })
      .catch((err: Error) => {
        if (/already started|AlreadyStarted/i.test(err.message)) throw new Error(`campaign "${id}" is already running: \`autopipe status ${id}\` or start with another --id`);
        throw err;
      });
    console.log(id);
    console.error(`started campaign ${id}: ${uiUrl(settings, id)}`);
    console.error('it runs on the workers serving autopipe-control, -dft and -ml (`autopipe worker`)');
    if (!values.wait) return 0;
    const r = await h.result();
    console.error(`finished: ${r.stopReason}; report ${r.report}`);
    return 0;
  },
};

const status: Command = {
  usage: 'status ID [--json]                          phase, generation, counts, DFT budget, metrics, what runs now',
  async run(args) {
    const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { json: { type: 'boolean' } } });
    if (!positionals[0]) throw new UsageError('give the campaign id (see `autopipe list`)');
    const view = await readCampaignView(await client(), positionals[0]);
    if (view.workflowStatus === 'NOT_FOUND') throw new Error(`no campaign with id "${positionals[0]}" on ${temporalSettings().address} (see \`autopipe list\`)`);
    console.log(values.json ? JSON.stringify(view, null, 2) : formatView(view));
    return view.status ? 0 : 1;
  },
};

const watch: Command = {
  usage: 'watch ID [--interval S] [--plain|--json]   live progress bars until the campaign ends (plain lines off a terminal)',
  async run(args) {
    const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { interval: { type: 'string' }, plain: { type: 'boolean' }, json: { type: 'boolean' } } });
    const c = await client();
    const h = await handleFor(c, positionals[0]);
    const interval = Number(values.interval ?? 2);
    if (!Number.isFinite(interval) || interval <= 0) throw new UsageError('--interval must be a positive number of seconds');
    const mode = values.json ? 'json' : values.plain ? 'lines' : defaultMode();
    const r = await watchCampaign(c, h.workflowId, { intervalMs: interval * 1000, mode });
    if (mode !== 'json') console.log(`campaign ${r.workflowStatus.toLowerCase()}${r.view?.status?.stopReason ? `: ${r.view.status.stopReason}` : ''}`);
    return r.workflowStatus === 'COMPLETED' ? 0 : 1;
  },
};

function signalCommand(name: 'pause' | 'resume' | 'stop'): Command {
  const usage = {
    pause: 'pause ID                                    pause between phases',
    resume: 'resume ID                                   resume a paused campaign',
    stop: 'stop ID                                     stop after the current generation',
  }[name];
  return {
    usage,
    async run(args) {
      const h = await handleFor(await client(), args[0]);
      await h.signal(name === 'pause' ? pauseSignal : name === 'resume' ? resumeSignal : stopAfterGenerationSignal);
      console.log(`${name} sent to ${args[0]}`);
      return 0;
    },
  };
}

const tune: Command = {
  usage: 'tune ID KEY=VALUE...                         change thresholds or budgets of a running campaign',
  async run(args) {
    const [id, ...pairs] = args;
    if (!pairs.length) throw new UsageError('tune needs KEY=VALUE pairs, e.g. gamma_select=2 dft_total=40');
    const t: Record<string, number> = {};
    for (const p of pairs) {
      const [k, v] = p.split('=');
      if (!k || v === undefined || !Number.isFinite(Number(v))) throw new UsageError(`"${p}" is not KEY=NUMBER`);
      t[k] = Number(v);
    }
    const h = await handleFor(await client(), id);
    try {
      const r = await h.executeUpdate(tuneUpdate, { args: [t] });
      console.log(JSON.stringify(r));
      return 0;
    } catch (err) {
      console.error(`rejected: ${(err as { cause?: Error }).cause?.message ?? (err as Error).message}`);
      return 1;
    }
  },
};

const list: Command = {
  usage: 'list [--json] [--limit N]                   campaigns on the server: status, phase, generation, DFT used',
  async run(args) {
    const { values } = parseArgs({ args, options: { json: { type: 'boolean' }, limit: { type: 'string' } } });
    const limit = values.limit === undefined ? undefined : Number(values.limit);
    if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) throw new UsageError('--limit must be a positive integer');
    const rows = await listCampaigns(await client(), { limit });
    console.log(values.json ? JSON.stringify(rows, null, 2) : formatCampaignRows(rows));
    return 0;
  },
};

const report: Command = {
  usage: 'report ID [--json]                          write runs/<id>/report/index.html now (plots, ledger, costs)',
  async run(args) {
    const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { json: { type: 'boolean' } } });
    if (positionals.length !== 1) throw new UsageError('report needs the campaign id (or its run directory)');
    const c = await optionalClient();
    try {
      const r = await campaignReport(positionals[0]!, { client: c, ui: c ? uiNamespaceBase(temporalSettings()) : undefined });
      r.warnings.forEach((w) => console.error(`warning: ${w}`));
      console.log(values.json ? JSON.stringify(r, null, 2) : r.file);
      return 0;
    } finally {
      await c?.connection.close();
    }
  },
};

const history: Command = {
  usage: 'history STRUCTURE_ID [--campaign ID|--run DIR] [--json]  one structure\'s story: made, labels, DFT attempts, fits',
  async run(args) {
    const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { json: { type: 'boolean' }, campaign: { type: 'string' }, run: { type: 'string' } } });
    if (positionals.length !== 1) throw new UsageError('history needs one structure id (or a unique prefix of at least 6 hex digits)');
    const runDir = values.run ?? (values.campaign ? runDirFor(values.campaign) : undefined);
    if ((values.run || values.campaign) && !runDir) throw new UsageError(`no run directory for ${values.run ? `--run ${values.run}` : `--campaign ${values.campaign}`}`);
    const c = await optionalClient();
    try {
      const h = await structureHistory(positionals[0]!, { runDir, client: c, ui: uiNamespaceBase(temporalSettings()) });
      console.log(values.json ? JSON.stringify(h, null, 2) : formatHistory(h));
      return 0;
    } finally {
      await c?.connection.close();
    }
  },
};

export const commands: Record<string, Command> = {
  start,
  status,
  watch,
  pause: signalCommand('pause'),
  resume: signalCommand('resume'),
  stop: signalCommand('stop'),
  tune,
  list,
  report,
  history,
};
