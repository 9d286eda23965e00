// One place that says which Temporal service every command talks to. TEMPORAL_ADDRESS switches all
// commands from the embedded dev server to an external one (with optional TLS or API key).
import { readFileSync } from 'node:fs';

export { TaskQueues, allQueueKinds, SearchAttributeTypes } from '../common/queues';
export type { QueueKind } from '../common/queues';

export interface TemporalSettings {
  address: string;
  namespace: string;
  external: boolean;
  tls?: { clientCertPair?: { crt: Buffer; key: Buffer }; serverRootCACertificate?: Buffer } | boolean;
  apiKey?: string;
  uiPort: number;
  port: number;
  /** Where the embedded dev server listens (AUTOPIPE_TEMPORAL_IP): 127.0.0.1 (default) or 0.0.0.0. */
  bindIp: string;
}

export function temporalSettings(env: NodeJS.ProcessEnv = process.env): TemporalSettings {
  const port = Number(env.AUTOPIPE_TEMPORAL_PORT ?? 7233);
  const uiPort = Number(env.AUTOPIPE_TEMPORAL_UI_PORT ?? 8233);
  const externalAddress = env.TEMPORAL_ADDRESS || undefined; // empty counts as unset
  const external = Boolean(externalAddress);
  // Workers on other hosts need the embedded server on all interfaces (docs/hpc.md); this host talks
  // to it on loopback either way.
  const bindIp = env.AUTOPIPE_TEMPORAL_IP || '127.0.0.1';
  const address = externalAddress ?? `127.0.0.1:${port}`;
  const namespace = env.TEMPORAL_NAMESPACE ?? 'autopipe';
  let tls: TemporalSettings['tls'];
  if (env.TEMPORAL_TLS_CERT && env.TEMPORAL_TLS_KEY) {
    tls = {
      clientCertPair: { crt: readFileSync(env.TEMPORAL_TLS_CERT), key: readFileSync(env.TEMPORAL_TLS_KEY) },
      ...(env.TEMPORAL_TLS_CA ? { serverRootCACertificate: readFileSync(env.TEMPORAL_TLS_CA) } : {}),
    };
  } else if (env.TEMPORAL_API_KEY || env.TEMPORAL_TLS === 'true') {
    tls = true;
  }
  return { address, namespace, external, tls, apiKey: env.TEMPORAL_API_KEY, uiPort, port, bindIp };
}

export function uiUrl(s: TemporalSettings, workflowId?: string): string {
  const base = s.external ? `(see your Temporal UI)` : `http://127.0.0.1:${s.uiPort}/namespaces/${s.namespace}/workflows`;
  return workflowId && !s.external ? `${base}/${encodeURIComponent(workflowId)}` : base;
}

/** A Temporal service that does not answer, with its address and what to do. */
export class TemporalUnreachable extends Error {
  constructor(readonly address: string, external: boolean, cause: string) {
    super(
      `cannot reach the Temporal service at ${address} (${cause}): ` +
        (external
          ? 'check TEMPORAL_ADDRESS (and TEMPORAL_TLS_* / TEMPORAL_API_KEY), or unset it to use the embedded server'
          : 'start the embedded server with `autopipe server start` (AUTOPIPE_TEMPORAL_PORT picks its port), or set TEMPORAL_ADDRESS'),
    );
  }
}
