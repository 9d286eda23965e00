// `autopipe worker`: a worker process for the task queues (workers/worker.ts); SIGTERM drains gracefully.
import { allQueueKinds, type QueueKind } from '../../common/queues';
import type { Register } from '../command-kit';
import { examples } from '../command-kit';
import { UsageError } from '../errors';

export function parseSlots(spec: string | undefined): Partial<Record<QueueKind, number>> {
  if (!spec) return {};
  const out: Partial<Record<QueueKind, number>> = {};
  for (const part of spec.split(',')) {
    const [k, v] = part.split('=');
    if (!allQueueKinds.includes(k as QueueKind) || v === undefined || v.trim() === '' || !Number.isInteger(Number(v)) || Number(v) < 1) {
      throw new UsageError(`--slots: "${part}" must look like dft=2 with a queue in ${allQueueKinds.join(', ')} and a positive integer`);
    }
    out[k as QueueKind] = Number(v);
  }
  return out;
}

export function parseQueues(spec: string | undefined): QueueKind[] {
  if (!spec) return [...allQueueKinds];
  const qs = spec.split(',').map((q) => q.trim());
  const bad = qs.filter((q) => !allQueueKinds.includes(q as QueueKind));
  if (bad.length) throw new UsageError(`--queues: unknown queue ${bad.join(', ')} (choose from ${allQueueKinds.join(', ')})`);
  return qs as QueueKind[];
}

export const register: Register = (program, act) => {
  program
    .command('worker')
    .description('serve the task queues (control: workflows and bookkeeping, dft: pw.x, ml: MACE, Pacemaker, MD) until SIGTERM')
    .option('--queues <list>', `queues to serve, comma-separated (${allQueueKinds.join(',')})`)
    .option('--slots <spec>', 'concurrent activities per queue, e.g. dft=2,ml=1 (default dft = cores / dft.ranks)')
    .option('--grace <seconds>', 'on SIGTERM, how long in-flight activities may finish before they are cancelled', '30')
    .addHelpText('after', examples('autopipe worker', 'autopipe worker --queues dft --slots dft=4', 'autopipe worker --queues control,ml --grace 120'))
    .action(
      act(async (opts: { queues?: string; slots?: string; grace: string }) => {
        const queues = parseQueues(opts.queues);
        const slots = parseSlots(opts.slots);
        const grace = Number(opts.grace);
        if (opts.grace.trim() === '' || !Number.isFinite(grace) || grace < 0) throw new UsageError('--grace must be a number of seconds >= 0');
        const { runWorkers } = await import('../../workers/worker');
        const { temporalSettings } = await import('../../host/temporal-config');
        console.log(`worker: queues ${queues.join(', ')} on ${temporalSettings().address}`);
        await runWorkers({ queues, slots, shutdownGraceSeconds: grace });
        console.log('worker: stopped');
        return 0;
      }),
    );
};
