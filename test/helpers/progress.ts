// Record what `autopipe status` would have shown, every second, while a campaign runs in a test.
import type { Client } from '@temporalio/client';
import { readCampaignView, type CampaignView } from '../../cli/campaigns/live';

export function recordViews(client: Client, id: string, everyMs = 1000) {
  const views: CampaignView[] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const v = await readCampaignView(client, id).catch(() => undefined);
      if (v?.status) views.push(v);
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    async stop(): Promise<CampaignView[]> {
      stopped = true;
      await loop;
      return views;
    },
  };
}
