// For CLI commands that run a workflow to completion: make sure a server answers (embedded one started
// or reused; TEMPORAL_ADDRESS respected) and serve the needed queues from this process meanwhile, so a
// command works on a laptop with nothing else running and alongside dedicated workers on a cluster.
import type { Client } from '@temporalio/client';
import { connectClient } from '../host/connections';
import type { QueueKind } from '../common/queues';
import { temporalSettings, uiUrl } from '../host/temporal-config';
import { createWorkers } from '../workers/worker';
import { startServer } from '../host/server';

export interface LocalRunOptions {
  queues: QueueKind[];
  /** false: rely on workers running elsewhere. */
  inProcessWorkers?: boolean;
  quiet?: boolean;
}

export async function withLocalRun<T>(opts: LocalRunOptions, fn: (client: Client) => Promise<T>): Promise<T> {
  const settings = temporalSettings();
  const st = await startServer();
  if (!opts.quiet) console.error(`Temporal: ${st.address} (${st.started ? 'started' : 'reused'}), UI ${uiUrl(settings)}`);
  const workers = opts.inProcessWorkers === false ? [] : await createWorkers({ queues: opts.queues });
  const running = workers.map((w) => w.run());
  const client = await connectClient(settings);
  try {
    return await fn(client);
  } finally {
    workers.forEach((w) => w.shutdown());
    await Promise.allSettled(running);
    await client.connection.close();
  }
}
