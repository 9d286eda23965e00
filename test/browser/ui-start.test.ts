// The Temporal UI as a user drives it, in real headless Chromium against a real dev server with its UI:
// start a campaign from the Start Workflow form (id, task queue autopipe-control, type campaignWorkflow,
// the campaign JSON uploaded), see it reach its first DFT activity ("DFT <structure id>"), read the live
// progress from the status query, pause it with a signal and tune it with an update from the UI.
// Only a control worker runs, so the DFT activity waits on autopipe-dft and no pw.x is started.
// AUTOPIPE_DOCS_SCREENSHOTS=1 also refreshes docs/ui/*.png (small palette PNGs) for docs/ui.md.
import type { Client } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { execa } from 'execa';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Locator } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCampaignFile } from '../../cli/campaign-file';
import { connectClient } from '../../host/connections';
import { projectRoot, pythonExe } from '../../host/paths';
import { startServer, stopServer } from '../../host/server';
import { temporalSettings, type TemporalSettings } from '../../host/temporal-config';
import { statusQuery, type CampaignStatus } from '../../workflows/campaign-api';
import { createWorkers } from '../../workers/worker';
import { scheduledActivities } from '../../activities/report/temporal-links';
import { artifact, launchChromium, type Browser } from './chromium';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, seconds = 120): Promise<T> {
  const end = Date.now() + seconds * 1000;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${seconds} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

const docsShots = process.env.AUTOPIPE_DOCS_SCREENSHOTS === '1';

/** A screenshot as a test artifact; with AUTOPIPE_DOCS_SCREENSHOTS=1 also a small copy in docs/ui/. */
async function shot(b: Browser, name: string): Promise<string> {
  const file = artifact(`ui-${name}.png`);
  await b.page.screenshot({ path: file });
  if (docsShots) {
    const out = path.join(projectRoot, 'docs', 'ui', `${name}.png`);
    mkdirSync(path.dirname(out), { recursive: true });
    copyFileSync(file, out);
    // 64-colour palette: a UI screenshot stays legible at a fraction of the size
    await execa(pythonExe, ['-c', 'import sys; from PIL import Image; Image.open(sys.argv[1]).convert("RGB").quantize(64).save(sys.argv[1], optimize=True)', out]);
  }
  return file;
}

/** Scroll an element to the middle of the view, vertically only (wide rows must not shift the page sideways). */
const centre = (l: Locator) => l.evaluate((e) => e.scrollIntoView({ block: 'center', inline: 'nearest' }));

describe('starting and steering a campaign from the Temporal UI', () => {
  let settings: TemporalSettings;
  let stateDir: string;
  let client: Client;
  let workers: Worker[];
  let running: Promise<void>[];
  let browser: Browser;
  const id = `ui-start-${Date.now()}`;
  const runDir = mkdtempSync(path.join(os.tmpdir(), 'autopipe-ui-'));
  let ui: string;

  beforeAll(async () => {
    stateDir = mkdtempSync(path.join(os.tmpdir(), 'autopipe-ui-server-'));
    Object.assign(process.env, { AUTOPIPE_TEMPORAL_PORT: String(await freePort()), AUTOPIPE_TEMPORAL_UI_PORT: String(await freePort()), TEMPORAL_NAMESPACE: 'autopipe-ui' });
    delete process.env.TEMPORAL_ADDRESS;
    settings = temporalSettings();
    await startServer({ settings, stateDir, waitSeconds: 90 }); // with its UI, unlike the suite's server
    ui = `http://127.0.0.1:${settings.uiPort}/namespaces/${settings.namespace}`;
    client = await connectClient(settings);
    workers = await createWorkers({ queues: ['control'], shutdownGraceSeconds: 2 });
    running = workers.map((w) => w.run());
    browser = await launchChromium({ width: 1500, height: 820 });
  }, 180_000);

  afterAll(async () => {
    await client?.workflow.getHandle(id).terminate('test over').catch(() => undefined);
    await browser?.close();
    workers?.forEach((w) => w.shutdown());
    await Promise.allSettled(running ?? []);
    await client?.connection.close();
    await stopServer({ stateDir });
    rmSync(stateDir, { recursive: true, force: true });
    rmSync(runDir, { recursive: true, force: true });
  });

  it('the Start Workflow form starts a campaign that reaches its first DFT activity', async () => {
    const loaded = loadCampaignFile('test/fixtures/campaigns/tiny-si.yaml');
    if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
    const json = path.join(runDir, 'campaign.json');
    writeFileSync(json, JSON.stringify({ ...loaded.raw, id, run_directory: runDir }, null, 1));

    const { page } = browser;
    await page.goto(`${ui}/workflows/start-workflow`);
    await page.locator('#workflowId').fill(id);
    await page.locator('#taskQueue').fill('autopipe-control');
    await page.locator('#workflowType').fill('campaignWorkflow');
    await page.locator('input[type=file]').first().setInputFiles(json);
    await expect.poll(() => page.getByRole('textbox', { name: 'Data' }).innerText()).toContain('"system"');
    await shot(browser, 'start-form');
    await page.getByTestId('start-workflow-button').click();
    const started = await until('the workflow the form started', async () => client.workflow.getHandle(id).describe(), 30);
    expect(started.type).toBe('campaignWorkflow');
    expect(started.taskQueue).toBe('autopipe-control');

    // The campaign prepares, generates the seed structures and schedules their DFT: one activity per
    // structure, summarised "DFT <id>", waiting on autopipe-dft.
    const dftChild = `${id}/gen-0/teacher/dft`;
    const pending = await until('the first DFT activity', async () => {
      const d = await client.workflow.getHandle(dftChild).describe();
      const a = d.raw.pendingActivities?.filter((x) => x.activityType?.name === 'dftLabel') ?? [];
      return a.length ? a : undefined;
    });
    expect(pending.length).toBe(2); // dft.concurrency of the fixture

    const child = await client.workflow.getHandle(dftChild).describe();
    await page.goto(`${ui}/workflows/${encodeURIComponent(dftChild)}/${child.runId}/pending-activities`);
    await expect.poll(() => page.locator('body').innerText(), { timeout: 30_000 }).toContain('dftLabel');
    await centre(page.getByText('dftLabel').first());
    await shot(browser, 'dft-pending');
    // The page the report's DFT ledger links to: the event that scheduled one structure's pw.x activity.
    const events = await scheduledActivities(client, ui, dftChild);
    const first = events.find((e) => e.activityType === 'dftLabel')!;
    expect(first.summary).toMatch(/^DFT [0-9a-f]{20}$/);
    await page.goto(first.link);
    await expect.poll(() => page.locator('body').innerText(), { timeout: 30_000 }).toContain(first.summary!);
    await shot(browser, 'dft-event');
  });

  it('the status query in the UI carries the running child\'s DFT progress', async () => {
    const { page } = browser;
    const run = (await client.workflow.getHandle(id).describe()).runId;
    await page.goto(`${ui}/workflows/${id}/${run}/query`);
    await page.getByRole('button', { name: 'Run Query' }).click();
    // The UI's viewer (CodeMirror) renders only the lines near the view: scroll down step by step until
    // the DFT counters, with the structures in pw.x now, are among them.
    const scroller = page.locator('.cm-scroller').first();
    const RUNNING_TWO = /"running": \[\s*"[0-9a-f]{20}",\s*"[0-9a-f]{20}"/;
    await expect
      .poll(async () => {
        const text = await page.locator('body').innerText();
        if (!RUNNING_TWO.test(text)) {
          // whichever scrolls, the viewer or the page
          await scroller.hover().catch(() => undefined);
          await page.mouse.wheel(0, 200);
        }
        return text;
      }, { timeout: 30_000 })
      .toMatch(RUNNING_TWO);
    await centre(page.locator('.cm-line', { hasText: '"running"' }).first());
    await shot(browser, 'status-query');
    // the rest of the same answer: the running children's step records, outermost first
    const s = await client.workflow.getHandle(id).query(statusQuery);
    expect(s.progress?.map((p) => p.workflowId)).toEqual([`${id}/gen-0/teacher`, `${id}/gen-0/teacher/dft`]);
    expect(s.progress?.[1]?.dft).toMatchObject({ done: 0, total: 6, running: s.dft.running });
  });

  it('pause is a signal and tune an update, both sent from the UI', async () => {
    const { page } = browser;
    const menu = async (testId: string) => {
      await page.getByRole('button', { name: 'More Actions' }).click();
      await page.getByTestId(testId).filter({ visible: true }).click();
    };
    await menu('signal-button');
    await page.getByRole('button', { name: /Select a signal/ }).click();
    await page.getByRole('option', { name: 'pause' }).click();
    await shot(browser, 'signal-pause');
    await page.getByTestId('confirm-modal-button').filter({ visible: true }).click();
    await until('the pause to take effect', async () => ((await client.workflow.getHandle(id).query(statusQuery)).paused ? true : undefined), 30);

    await menu('update-button');
    await page.getByRole('button', { name: /Select an Update/ }).click();
    await page.getByRole('option', { name: 'tune' }).click();
    await page.locator('#update-confirmation-modal').getByRole('textbox').last().click();
    await page.keyboard.type('{"gamma_select": 1.5}');
    await shot(browser, 'update-tune');
    await page.getByTestId('confirm-modal-button').filter({ visible: true }).click();
    const s: CampaignStatus = await until('the tune to take effect', async () => {
      const st = await client.workflow.getHandle(id).query(statusQuery);
      return st.thresholds.gammaSelect === 1.5 ? st : undefined;
    }, 30);
    expect(s.paused).toBe(true);
    expect(s.phase).toBe('paused');
  });

  it('the workflow list filters campaigns by the search attributes', async () => {
    const { page } = browser;
    const query = `CampaignId = "${id}" AND Phase = "teacher"`;
    await page.goto(`${ui}/workflows?query=${encodeURIComponent(query)}`);
    await expect.poll(() => page.locator('body').innerText(), { timeout: 30_000 }).toContain(id);
    await shot(browser, 'search-attributes');
    // the same query through the API sees exactly this campaign
    const hits: string[] = [];
    for await (const w of client.workflow.list({ query: query.replace(/"/g, "'") })) hits.push(w.workflowId);
    expect(hits).toEqual([id]);
  });
});
