// A campaign or teacher section a workflow cannot use is a configuration error: non-retryable, so
// Temporal fails the workflow with the reason instead of retrying it forever.
import { ApplicationFailure } from '@temporalio/workflow';
import { parseCampaign, type Campaign } from '../common/campaign-schema';
import { NonRetryableErrors } from '../common/errors';

export function invalidConfig(message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: NonRetryableErrors.InvalidConfig, nonRetryable: true, message });
}

/** The campaign with its defaults, or an InvalidConfig failure listing every problem. */
export function parseCampaignOrFail(raw: unknown): Campaign {
  const parsed = parseCampaign(raw);
  if (!parsed.ok) throw invalidConfig(`invalid campaign:\n${parsed.errors.join('\n')}`);
  return parsed.campaign;
}
