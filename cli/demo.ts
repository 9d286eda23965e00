// `npm run demo`: start (or reuse) the embedded server, serve every queue from this process, and run the
// demo campaign through all four phases on real tools. Each run is a new campaign id, so a second run
// never touches the first one's history or run directory.
import path from 'node:path';
import { projectRoot } from '../host/paths';
import { temporalSettings, uiUrl, type TemporalSettings } from '../host/temporal-config';
import { statusQuery } from '../workflows/campaign-api';
import { stamp } from './args';
import { formatStatus, startCampaignWorkflow } from './campaign-client';
import { watchCampaign } from './campaigns/watch';
import { checkCampaignFile } from './campaign-check';
import { loadCampaignFile } from './campaign-file';
import { CampaignError } from './errors';
import { withLocalRun } from './local-run';

/**
 * Where the demo's history stays. The server outlives the demo on purpose: its UI is where every
 * structure's activity history is read. `server stop` stops only the embedded server, so a server of
 * the user's own (TEMPORAL_ADDRESS) gets no stop hint.
 */
export function serverLines(settings: TemporalSettings, id: string): string[] {
  if (settings.external) return [`  The campaign's history stays on your Temporal server at ${settings.address}, namespace ${settings.namespace}.`];
  return [`  The Temporal server stays up so the UI can show this campaign: ${uiUrl(settings, id)}`, '  stop it with: node bin/autopipe.mjs server stop'];
}

export async function runDemo(campaignFile?: string): Promise<number> {
  const file = campaignFile ?? path.join(projectRoot, 'examples', 'si-demo.yaml');
  const first = loadCampaignFile(file);
  if (!first.ok) throw new CampaignError(first.errors);
  // Each run is a new campaign id; the file is checked with it before anything starts.
  const id = `${first.campaign.system.name}-demo-${stamp()}`;
  const loaded = await checkCampaignFile(file, { id });
  if (!loaded.ok) throw new CampaignError(loaded.errors);
  const settings = temporalSettings();
  const started = Date.now();
  return withLocalRun({ queues: ['control', 'dft', 'ml'] }, async (client, taskQueue) => {
    const handle = await startCampaignWorkflow(client, id, { ...loaded.raw, id }, loaded.campaign, `Demo campaign ${id}`, taskQueue);
    console.log(`campaign ${id} started: ${uiUrl(settings, id)}`);
    // Live progress while it runs: bars on a terminal, a line per change (at least every 10 s) otherwise.
    const stop = new AbortController();
    const watching = watchCampaign(client, id, { startedAt: started, signal: stop.signal });
    try {
      const r = await handle.result();
      stop.abort();
      const w = await watching;
      const s = await client.workflow.getHandle(id).query(statusQuery).catch(() => undefined);
      console.log(`\ndone in ${((Date.now() - started) / 1000).toFixed(0)} s: ${r.stopReason}`);
      if (s) console.log(formatStatus(s));
      console.log(`\n  final potential:  ${r.potential?.yace ?? 'none'}`);
      console.log(`  active set:       ${r.potential?.asi ?? 'none'}`);
      console.log(`  datasets:         ${path.join(r.runDir, 'datasets')}`);
      console.log(`  store:            ${path.join(r.runDir, 'store.sqlite')}`);
      console.log(`  report:           ${path.join(r.runDir, 'report', 'index.html')} (summary ${r.report})`);
      console.log(
        `  progress:         longest time without a new figure ${(w.stats.longestStaleMs / 1000).toFixed(1)} s${w.stats.longestStaleAt ? ` (${w.stats.longestStaleAt})` : ''}` +
          (w.stats.longestSilenceMs ? `; longest silence between lines ${(w.stats.longestSilenceMs / 1000).toFixed(1)} s` : ''),
      );
      console.log(`\n${serverLines(settings, id).join('\n')}`);
      return 0;
    } finally {
      stop.abort();
    }
  });
}
