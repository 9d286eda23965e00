// Campaign commands: start, status, watch, pause, resume, stop, tune, list.
import type { Client, WorkflowHandle } from '@temporalio/client';
import { parseArgs } from 'node:util';
import { connectClient } from '../../host/connections';
import { TaskQueues } from '../../common/queues';
import { CampaignIdKey, SystemKey } from '../../common/search-attributes';
import { temporalSettings, uiUrl } from '../../host/temporal-config';
import { campaignWorkflow } from '../../workflows/campaign';
import { pauseSignal, resumeSignal, statusQuery, stopAfterGenerationSignal, tuneUpdate, type CampaignStatus } from '../../workflows/campaign-api';
import { loadCampaignFile } from '../campaign-file';
import { startServer } from '../../host/server';
import { UsageError, type Command } from './index';

async function client(): Promise<Client> {
  return connectClient(temporalSettings());
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

export function formatStatus(s: CampaignStatus): string {
  const lines = [
    `campaign ${s.campaignId} (${s.system})  phase ${s.phase}  generation ${s.generation}${s.paused ? '  PAUSED' : ''}${s.stopAfterGeneration ? '  stopping after this generation' : ''}`,
    s.current ? `  now: ${s.current}` : '',
    `  DFT: ${s.dft.used}/${s.dft.budget} used (${s.dft.labelled} labelled, ${s.dft.healed} healed, ${s.dft.failed} failed)`,
    `  structures by source: ${JSON.stringify(s.structures.bySource)}  by oracle: ${JSON.stringify(s.structures.byOracle)}`,
    `  teacher: ${s.teacher.models} model(s), uncertainty from ${s.teacher.uncertainty === 'committee' ? 'the committee' : 'the ACE extrapolation grade (single model: no committee)'}`,
    ...s.metrics.map(
      (m) =>
        `  gen ${m.generation}: test RMSE ${m.test_rmse_energy_mev_atom?.toFixed(2) ?? 'n/a'} meV/atom, ${m.test_rmse_forces_mev_a?.toFixed(1) ?? 'n/a'} meV/Å` +
        (m.explored ? `; MD: ${m.explored.candidates} candidates, ${m.explored.halted} halted, max gamma ${m.explored.gamma_max.toFixed(2)}` : '') +
        (m.dft ? `; DFT ${m.dft.labelled}/${m.dft.requested}` : ''),
    ),
    s.potential ? `  potential (gen ${s.potential.generation}): ${s.potential.yace}` : '',
    s.stopReason ? `  stopped: ${s.stopReason}` : '',
    `  run directory: ${s.runDir}`,
  ];
  return lines.filter(Boolean).join('\n');
}

async function queryStatus(h: WorkflowHandle<typeof campaignWorkflow>): Promise<CampaignStatus> {
  return h.query(statusQuery);
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
  usage: 'status ID [--json]                          phase, generation, counts, DFT budget, metrics',
  async run(args) {
    const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { json: { type: 'boolean' } } });
    const h = await handleFor(await client(), positionals[0]);
    const s = await queryStatus(h);
    console.log(values.json ? JSON.stringify(s, null, 2) : formatStatus(s));
    return 0;
  },
};

function bar(done: number, total: number, width = 24): string {
  const f = total > 0 ? Math.min(1, done / total) : 0;
  return `[${'#'.repeat(Math.round(f * width)).padEnd(width, '.')}] ${done}/${total}`;
}

const watch: Command = {
  usage: 'watch ID [--interval S]                    live progress until the campaign ends',
  async run(args) {
    const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { interval: { type: 'string' } } });
    const h = await handleFor(await client(), positionals[0]);
    const every = Number(values.interval ?? 3) * 1000;
    let last = '';
    for (;;) {
      const d = await h.describe();
      let line: string;
      try {
        const s = await queryStatus(h);
        const gens = s.metrics.length;
        line = `gen ${s.generation} ${s.phase.padEnd(12)} DFT ${bar(s.dft.used, s.dft.budget)}  potentials ${gens}  ${s.current ?? ''}`;
      } catch {
        line = `workflow ${d.status.name}`;
      }
      if (line !== last) console.log(line);
      last = line;
      if (d.status.name !== 'RUNNING') {
        console.log(`campaign ${d.status.name.toLowerCase()}`);
        return d.status.name === 'COMPLETED' ? 0 : 1;
      }
      await new Promise((r) => setTimeout(r, every));
    }
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
  usage: 'list                                        campaigns on the server',
  async run() {
    const c = await client();
    for await (const w of c.workflow.list({ query: `WorkflowType = 'campaignWorkflow'` })) {
      console.log(`${w.workflowId.padEnd(44)} ${w.status.name.padEnd(11)} started ${w.startTime.toISOString()}`);
    }
    return 0;
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
};
