// Client and worker connections from the one Temporal settings source (env or embedded server). A
// service that does not answer is reported with its address and what to do, not the SDK's bare
// "Failed to connect before the deadline".
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import net from 'node:net';
import { TemporalUnreachable, temporalSettings, type TemporalSettings } from './temporal-config';

export { TemporalUnreachable };

/** A quick TCP probe of a host:port, so a closed local port fails in milliseconds, not after 10 s of retries. */
function probe(address: string, timeoutMs = 2000): Promise<string | undefined> {
  const m = address.match(/^\[?([^\]]+?)\]?:(\d+)$/);
  if (!m) return Promise.resolve(`"${address}" is not host:port`);
  return new Promise((resolve) => {
    const socket = net.connect({ host: m[1], port: Number(m[2]) });
    const done = (why?: string) => {
      socket.destroy();
      resolve(why);
    };
    socket.setTimeout(timeoutMs, () => done(`no answer within ${timeoutMs / 1000} s`));
    socket.once('connect', () => done());
    socket.once('error', (err: NodeJS.ErrnoException) => done(err.code ?? err.message));
  });
}

async function reachable(s: TemporalSettings): Promise<void> {
  const why = await probe(s.address);
  if (why) throw new TemporalUnreachable(s.address, s.external, why);
}

export async function connectClient(s: TemporalSettings = temporalSettings()): Promise<Client> {
  await reachable(s);
  try {
    const connection = await Connection.connect({ address: s.address, tls: s.tls, apiKey: s.apiKey, connectTimeout: '10s' });
    return new Client({ connection, namespace: s.namespace });
  } catch (err) {
    throw new TemporalUnreachable(s.address, s.external, (err as Error).message);
  }
}

export async function connectWorker(s: TemporalSettings = temporalSettings()): Promise<NativeConnection> {
  await reachable(s);
  try {
    return await NativeConnection.connect({ address: s.address, tls: s.tls, apiKey: s.apiKey });
  } catch (err) {
    throw new TemporalUnreachable(s.address, s.external, (err as Error).message);
  }
}
