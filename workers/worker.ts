// One process serving the task queues asked for: control (workflows + cheap activities), dft (pw.x),
// ml (MACE, pacemaker). Slots per queue bound concurrency; SIGTERM/SIGINT shut down gracefully: no new
// tasks, in-flight activities get `shutdownGraceTime` to finish and are then cancelled (their process
// groups killed by the process wrapper). A worker that dies hard (SIGKILL, OOM) takes its tools with it
// (activities/runtime/reaper.ts) and is noticed by the server within the heartbeat timeout: every
// activity heartbeats (activities/runtime/liveness.ts) and the beats reach the server at least every
// 10 s, well inside the 30-second timeout (workflows/activity-options.ts).
import { DefaultLogger, NativeConnection, Runtime, Worker, type WorkerOptions as SdkWorkerOptions } from '@temporalio/worker';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { controlActivities, dftActivities, mlActivities } from '../activities';
import { livenessInterceptor } from '../activities/runtime/liveness';
import { connectWorker } from '../host/connections';
import { privateQueue, TaskQueues, type QueueKind } from '../common/queues';
import { temporalSettings } from '../host/temporal-config';

export const workflowsPath = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));
/** Routes a CLI run's activities and children to its private queues (common/queues.ts). */
export const workflowInterceptorModules = [fileURLToPath(new URL('../workflows/queue-routing.ts', import.meta.url))];

export interface WorkerOptions {
  queues: QueueKind[];
  /** Concurrent activities per queue; dft defaults to cores / ranks per calculation. */
  slots?: Partial<Record<QueueKind, number>>;
  dftRanks?: number;
  shutdownGraceSeconds?: number;
  connection?: NativeConnection;
  namespace?: string;
  /** Serve a CLI run's private copies of the queues ("<queue>@<run>") instead of the shared ones. */
  privateRun?: string;
}

export function defaultSlots(dftRanks = 1): Record<QueueKind, number> {
  const cores = os.availableParallelism();
  return { control: 20, dft: Math.max(1, Math.floor(cores / dftRanks)), ml: 1 };
}

let runtimeInstalled = false;

export async function createWorkers(opts: WorkerOptions): Promise<Worker[]> {
  if (!runtimeInstalled) {
    // Warn-level logs keep the worker output readable (AUTOPIPE_LOG_LEVEL=INFO for more); the
    // shutdown signals are the SDK's defaults (SIGINT, SIGTERM, SIGQUIT, SIGUSR2).
    try {
      const level = (process.env.AUTOPIPE_LOG_LEVEL ?? 'WARN') as 'WARN';
      Runtime.install({ logger: new DefaultLogger(level) });
    } catch {
      /* already installed by the host (tests) */
    }
    runtimeInstalled = true;
  }
  const settings = temporalSettings();
  const connection = opts.connection ?? (await connectWorker(settings));
  const namespace = opts.namespace ?? settings.namespace;
  const slots = { ...defaultSlots(opts.dftRanks), ...opts.slots };
  const grace = `${opts.shutdownGraceSeconds ?? 30}s` as const;
  const common: Partial<SdkWorkerOptions> = {
    connection,
    namespace,
    shutdownGraceTime: grace,
    interceptors: { activity: [livenessInterceptor] },
    maxHeartbeatThrottleInterval: '10s',
  };
  const workers: Worker[] = [];
  const queueName = (q: QueueKind) => (opts.privateRun ? privateQueue(q, opts.privateRun) : TaskQueues[q]);
  for (const q of opts.queues) {
    if (q === 'control') {
      workers.push(
        await Worker.create({
          ...common,
          connection,
          taskQueue: queueName('control'),
          workflowsPath,
          interceptors: { ...common.interceptors, workflowModules: workflowInterceptorModules },
          activities: controlActivities,
          maxConcurrentActivityTaskExecutions: slots.control,
        }),
      );
    } else {
      workers.push(
        await Worker.create({
          ...common,
          connection,
          taskQueue: queueName(q),
          activities: q === 'dft' ? dftActivities : mlActivities,
          maxConcurrentActivityTaskExecutions: slots[q],
        }),
      );
    }
  }
  return workers;
}

/** Run until SIGTERM/SIGINT (the SDK's Runtime shuts every worker down on those signals). */
export async function runWorkers(opts: WorkerOptions): Promise<void> {
  const workers = await createWorkers(opts);
  // The moment a restarted worker can take work again (bench/recovery.ts reads it).
  console.log(`worker: ready (${opts.queues.join(', ')}; pid ${process.pid})`);
  await Promise.all(workers.map((w) => w.run()));
}
