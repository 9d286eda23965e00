// Where the embedded dev server listens: loopback by default, all interfaces for workers on other hosts
// (docs/hpc.md); one other interface is refused before anything starts, with the reason.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startServer } from '../../host/server';
import { temporalSettings } from '../../host/temporal-config';

describe('AUTOPIPE_TEMPORAL_IP', () => {
  it('listens on loopback unless asked; clients on this host always use loopback', () => {
    expect(temporalSettings({ AUTOPIPE_TEMPORAL_PORT: '7350' })).toMatchObject({ bindIp: '127.0.0.1', address: '127.0.0.1:7350' });
    expect(temporalSettings({ AUTOPIPE_TEMPORAL_PORT: '7350', AUTOPIPE_TEMPORAL_IP: '0.0.0.0' })).toMatchObject({ bindIp: '0.0.0.0', address: '127.0.0.1:7350' });
  });

  it('refuses one other interface, which the dev server cannot serve workflows on', async () => {
    // A port nothing listens on (the unit tier starts no server): the refusal comes before any start.
    const settings = temporalSettings({ AUTOPIPE_TEMPORAL_PORT: '1', AUTOPIPE_TEMPORAL_IP: '10.231.0.1' });
    const err = await startServer({ settings, stateDir: mkdtempSync(path.join(os.tmpdir(), 'autopipe-bind-')) }).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/^AUTOPIPE_TEMPORAL_IP=10\.231\.0\.1: the embedded dev server listens on 127\.0\.0\.1 or on all interfaces \(0\.0\.0\.0\) only/);
  });
});
