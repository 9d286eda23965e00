// The CLI's error types and its one error handler: what any error thrown by a command prints, and the
// exit code (2 for a usage error, 1 for everything else). Imported by commands and the dispatcher alike,
// and importing neither, so there is no cycle.
import { ApplicationFailure } from '@temporalio/common';
import { temporalSettings } from '../host/temporal-config';

/** Bad arguments: exit 2 with a pointer to the command's --help. */
export class UsageError extends Error {}

/** A campaign file that does not validate: one "file: path: message" line per problem, exit 1. */
export class CampaignError extends Error {
  constructor(readonly errors: string[]) {
    super(errors.join('\n'));
  }
}

/** A failure whose message already names the file or field and the fix: printed as is, exit 1. */
export class InputError extends Error {}

export interface ErrorReport {
  lines: string[];
  exitCode: number;
}

/**
 * A gRPC failure from the Temporal service (its `code` is a number, e.g. 14 UNAVAILABLE), with the
 * address and what to do, or undefined for any other error.
 */
function grpcText(err: unknown): string | undefined {
  for (let e = err; e && typeof e === 'object'; e = (e as { cause?: unknown }).cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code !== 'number') continue;
    const address = temporalSettings().address;
    const detail = String((e as { details?: unknown }).details ?? (e as Error).message ?? '').replace(/^\d+ [A-Z_]+: /, '');
    if (code === 14 || code === 4) return `the Temporal service at ${address} did not answer (${detail}): is it running? (\`autopipe server status\`)`;
    if (code === 9 && /poller/i.test(detail)) return `no worker serves this workflow's task queue on ${address} (${detail}): start one with \`autopipe worker\``;
    if (code === 16 || code === 7) return `the Temporal service at ${address} refused the credentials (${detail}): check TEMPORAL_API_KEY or TEMPORAL_TLS_*`;
    if (code === 5) return `not found on ${address}: ${detail}`;
    return `the Temporal service at ${address} answered: ${detail}`;
  }
  return undefined;
}

/** The innermost cause's message with its failure type, e.g. "InvalidInput: dataset not found: ...". */
function failureText(err: unknown): string {
  const seen = new Set<unknown>();
  let e: unknown = err;
  let deepest: unknown = err;
  while (e && typeof e === 'object' && !seen.has(e)) {
    seen.add(e);
    deepest = e;
    e = (e as { cause?: unknown }).cause;
  }
  if (deepest instanceof ApplicationFailure) return deepest.type ? `${deepest.type}: ${deepest.message}` : deepest.message;
  if (deepest instanceof Error) return deepest.message || deepest.name;
  return String(deepest);
}

/** What the CLI prints for an error thrown by `autopipe <where>`. Never throws itself. */
export function describeError(err: unknown, where: string): ErrorReport {
  const prefix = `autopipe${where ? ` ${where}` : ''}`;
  try {
    if (err instanceof UsageError) {
      return { lines: [`${prefix}: ${err.message}`, `(see \`autopipe ${where ? `${where} ` : ''}--help\`)`], exitCode: 2 };
    }
    if (err instanceof CampaignError) return { lines: err.errors, exitCode: 1 };
    if (err instanceof InputError) return { lines: [`${prefix}: ${err.message}`], exitCode: 1 };
    return { lines: [`${prefix}: ${grpcText(err) ?? failureText(err)}`], exitCode: 1 };
  } catch {
    return { lines: [`${prefix}: ${String(err)}`], exitCode: 1 };
  }
}
