// The `autopipe` command line. Each command is small and delegates to the module that does the work.
import { parseArgs } from 'node:util';
import { campaignJsonSchema } from '../common/campaign-schema';
import { allQueueKinds, type QueueKind } from '../common/queues';
import { temporalSettings, uiUrl } from '../host/temporal-config';
import { loadCampaignFile } from './campaign-file';
import { formatChecks, runDoctor } from './doctor';
import { serverStatus, startServer, stopServer } from '../host/server';
import { commands, UsageError } from './commands';

const USAGE = `usage: autopipe <command> [options]

  doctor [--json]                      check every tool (versions, paths, fixes)
  server start|stop|status [--headless] [--ip ADDR]  the embedded Temporal dev server (127.0.0.1)
  worker [--queues control,dft,ml] [--slots dft=2,ml=1] [--grace SECONDS]
  validate FILE [--explain]            check a campaign file; --explain prints derived values
  schema                               the campaign file's JSON Schema (for editors)
  demo                                 run the demo campaign end to end on real tools

Environment: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE (default autopipe), TEMPORAL_TLS_CERT/KEY/CA,
TEMPORAL_API_KEY select an external Temporal service; AUTOPIPE_TEMPORAL_PORT / _UI_PORT / _IP the embedded one.`;


function parseSlots(spec: string | undefined): Partial<Record<QueueKind, number>> {
  if (!spec) return {};
  const out: Partial<Record<QueueKind, number>> = {};
  for (const part of spec.split(',')) {
    const [k, v] = part.split('=');
    if (!allQueueKinds.includes(k as QueueKind) || !Number.isInteger(Number(v)) || Number(v) < 1) {
      throw new UsageError(`--slots: "${part}" must look like dft=2 with a queue in ${allQueueKinds.join(', ')} and a positive integer`);
    }
    out[k as QueueKind] = Number(v);
  }
  return out;
}

function parseQueues(spec: string | undefined): QueueKind[] {
  if (!spec) return [...allQueueKinds];
  const qs = spec.split(',').map((q) => q.trim());
  const bad = qs.filter((q) => !allQueueKinds.includes(q as QueueKind));
  if (bad.length) throw new UsageError(`--queues: unknown queue ${bad.join(', ')} (choose from ${allQueueKinds.join(', ')})`);
  return qs as QueueKind[];
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'doctor': {
      const { values } = parseArgs({ args: rest, options: { json: { type: 'boolean' } } });
      const checks = await runDoctor();
      console.log(values.json ? JSON.stringify(checks, null, 2) : formatChecks(checks));
      return checks.every((c) => c.ok) ? 0 : 1;
    }
    case 'server': {
      const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { headless: { type: 'boolean' }, ip: { type: 'string' } } });
      const sub = positionals[0];
      if (values.ip) process.env.AUTOPIPE_TEMPORAL_IP = values.ip; // listen beyond loopback: workers on other hosts
      const s = temporalSettings();
      if (sub === 'start') {
        const st = await startServer({ headless: values.headless });
        console.log(`${st.started ? 'started' : 'already running'}: ${st.address} namespace ${st.namespace}${s.external ? '' : `; UI ${uiUrl(s)}`}`);
        return 0;
      }
      if (sub === 'stop') {
        console.log((await stopServer()) ? 'stopped' : 'no embedded server was running');
        return 0;
      }
      if (sub === 'status') {
        const st = await serverStatus(s);
        console.log(JSON.stringify(st, null, 2));
        return st.up ? 0 : 1;
      }
      throw new UsageError('server needs one of: start, stop, status');
    }
    case 'worker': {
      const { values } = parseArgs({ args: rest, options: { queues: { type: 'string' }, slots: { type: 'string' }, grace: { type: 'string' } } });
      const queues = parseQueues(values.queues);
      const slots = parseSlots(values.slots);
      const grace = values.grace === undefined ? 30 : Number(values.grace);
      if (!Number.isFinite(grace) || grace < 0) throw new UsageError('--grace must be a number of seconds >= 0');
      const { runWorkers } = await import('../workers/worker');
      console.log(`worker: queues ${queues.join(', ')} on ${temporalSettings().address}`);
      await runWorkers({ queues, slots, shutdownGraceSeconds: grace });
      console.log('worker: stopped');
      return 0;
    }
    case 'validate': {
      const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { explain: { type: 'boolean' } } });
      if (positionals.length !== 1) throw new UsageError('validate needs exactly one campaign file');
      const r = loadCampaignFile(positionals[0]!);
      if (!r.ok) {
        for (const e of r.errors) console.error(e);
        console.error(`${r.errors.length} problem${r.errors.length === 1 ? '' : 's'} found`);
        return 1;
      }
      if (values.explain) {
        const { explainCampaign } = await import('./explain');
        const ex = explainCampaign(r.raw);
        if ('errors' in ex) {
          ex.errors.forEach((e) => console.error(`${positionals[0]}: ${e}`));
          return 1;
        }
        ex.lines.forEach((line) => console.log(line));
      }
      console.log(`${positionals[0]}: valid (system ${r.campaign.system.name}, elements ${r.campaign.system.elements.join(' ')})`);
      return 0;
    }
    case 'schema':
      console.log(JSON.stringify(campaignJsonSchema(), null, 2));
      return 0;
    case 'demo': {
      const { runDemo } = await import('./demo');
      return runDemo(rest);
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      console.log(await usage());
      return cmd === undefined ? 2 : 0;
    default: {
      const load = commands[cmd];
      if (!load) throw new UsageError(`unknown command "${cmd}"`);
      return (await load()).run(rest);
    }
  }
}

async function usage(): Promise<string> {
  const extra = await Promise.all(Object.values(commands).map(async (load) => `  ${(await load()).usage}`));
  return extra.length ? USAGE.replace('\n\nEnvironment', `\n${extra.join('\n')}\n\nEnvironment`) : USAGE;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  async (err) => {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(`autopipe: ${(err as Error).message}\n\n${await usage()}`);
      process.exit(2);
    }
    console.error(`autopipe: ${(err as Error).message ?? err}`);
    process.exit(1);
  },
);
