// Prints a campaign file's settings as the campaign will run them (schema defaults and derived values:
// pseudopotentials, cutoffs, smearing, ...) as JSON, so scripts outside the TypeScript code (the test-set
// builder) use exactly the campaign's DFT settings without re-implementing the heuristics.
//
//   npx tsx bench/campaign-settings.ts CAMPAIGN.yaml
import { deriveCampaign } from '../activities/campaign/heuristics';
import { loadCampaignFile } from '../cli/campaign-file';

const file = process.argv[2];
if (!file) {
  console.error('usage: npx tsx bench/campaign-settings.ts CAMPAIGN.yaml');
  process.exit(2);
}
const loaded = loadCampaignFile(file);
if (!loaded.ok) {
  loaded.errors.forEach((e) => console.error(e));
  process.exit(1);
}
const derived = deriveCampaign(loaded.raw);
if (!derived.ok) {
  derived.errors.forEach((e) => console.error(`${file}: ${e}`));
  process.exit(1);
}
console.log(JSON.stringify({ campaign: derived.campaign, derived: derived.derived }, null, 2));
