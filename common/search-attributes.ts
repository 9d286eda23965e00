// Typed keys of the campaign search attributes (registered on the namespace by `autopipe server start`).
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const CampaignIdKey = defineSearchAttributeKey('CampaignId', SearchAttributeType.KEYWORD);
export const PhaseKey = defineSearchAttributeKey('Phase', SearchAttributeType.KEYWORD);
export const GenerationKey = defineSearchAttributeKey('Generation', SearchAttributeType.INT);
export const SystemKey = defineSearchAttributeKey('System', SearchAttributeType.KEYWORD);
