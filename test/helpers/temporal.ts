// Test access to the run's real dev server, and real workers against it.
import { inject } from 'vitest';
import type { Worker } from '@temporalio/worker';
import { connectClient } from '../../host/connections';
import type { QueueKind } from '../../common/queues';
import { ensureNamespace } from '../../host/server';
import { temporalSettings } from '../../host/temporal-config';
import { createWorkers } from '../../workers/worker';

/** The run's server, in this pool slot's own namespace (see global-setup); child processes inherit it. */
export function useTestServerEnv(): void {
  const env = inject('temporalEnv');
  const own = process.env.AUTOPIPE_TEST_OWN_NAMESPACE;
  Object.assign(process.env, env, { TEMPORAL_NAMESPACE: own ?? `${env.TEMPORAL_NAMESPACE}-${process.env.VITEST_POOL_ID ?? '1'}` });
  delete process.env.TEMPORAL_ADDRESS;
}

/**
 * A namespace of this test file's own, for files whose workers need something only they have (e.g. the
 * Slurm cluster's SLURM_CONF): no worker of another file, alive or left behind, can take their tasks.
 */
export async function useOwnNamespace(name: string): Promise<void> {
  process.env.AUTOPIPE_TEST_OWN_NAMESPACE = `${inject('temporalEnv').TEMPORAL_NAMESPACE}-${name}`;
  useTestServerEnv();
  await ensureNamespace(temporalSettings());
}

export async function testClient() {
  useTestServerEnv();
  return connectClient(temporalSettings());
}

/** Start real workers for the given queues; returns a stop function that waits for shutdown. */
export async function startTestWorkers(queues: QueueKind[] = ['control', 'dft', 'ml'], slots?: Partial<Record<QueueKind, number>>) {
  useTestServerEnv();
  const workers: Worker[] = await createWorkers({ queues, slots, shutdownGraceSeconds: 5 });
  const running = workers.map((w) => w.run());
  return async () => {
    workers.forEach((w) => w.shutdown());
    await Promise.allSettled(running);
  };
}
