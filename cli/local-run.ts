// For CLI commands that run a workflow to completion (label, teacher bootstrap, demo): make sure a server
// answers (embedded one started or reused; TEMPORAL_ADDRESS respected) and serve the run from this
// process meanwhile, on the run's own private queues ("autopipe-control@<run>", common/queues.ts), so the
// in-process workers never take a running campaign's tasks from the shared queues and drop them at exit.
// With inProcessWorkers: false the run goes to the shared queues, for the `autopipe worker` processes.
import type { Client } from '@temporalio/client';
import { randomBytes } from 'node:crypto';
import { connectClient } from '../host/connections';
import { privateQueue, TaskQueues, type QueueKind } from '../common/queues';
import { temporalSettings, uiUrl } from '../host/temporal-config';
import { createWorkers } from '../workers/worker';
import { startServer } from '../host/server';

export interface LocalRunOptions {
  queues: QueueKind[];
  /** false: rely on workers running elsewhere (the shared queues). */
  inProcessWorkers?: boolean;
  quiet?: boolean;
}

/** `fn` gets the client and the control queue to start its workflow on. */
export async function withLocalRun<T>(opts: LocalRunOptions, fn: (client: Client, taskQueue: string) => Promise<T>): Promise<T> {
  const settings = temporalSettings();
  const st = await startServer();
  if (!opts.quiet) console.error(`Temporal: ${st.address} (${st.started ? 'started' : 'reused'}), UI ${uiUrl(settings)}`);
  const inProcess = opts.inProcessWorkers !== false;
  const run = inProcess ? `cli-${process.pid}-${randomBytes(3).toString('hex')}` : undefined;
  const workers = run ? await createWorkers({ queues: opts.queues, privateRun: run }) : [];
  const running = workers.map((w) => w.run());
  const client = await connectClient(settings);
  try {
    return await fn(client, run ? privateQueue('control', run) : TaskQueues.control);
  } finally {
    workers.forEach((w) => w.shutdown());
    await Promise.allSettled(running);
    await client.connection.close();
  }
}
