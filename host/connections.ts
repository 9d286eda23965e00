// Client and worker connections from the one Temporal settings source (env or embedded server).
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { temporalSettings, type TemporalSettings } from './temporal-config';

export async function connectClient(s: TemporalSettings = temporalSettings()): Promise<Client> {
  const connection = await Connection.connect({ address: s.address, tls: s.tls, apiKey: s.apiKey, connectTimeout: '10s' });
  return new Client({ connection, namespace: s.namespace });
}

export async function connectWorker(s: TemporalSettings = temporalSettings()): Promise<NativeConnection> {
  return NativeConnection.connect({ address: s.address, tls: s.tls, apiKey: s.apiKey });
}
