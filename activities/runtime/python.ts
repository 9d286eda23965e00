// The convention for Python helpers: `python -m activities.runtime.helper_cli <command> <input.json>`; files in and
// out (extxyz, JSON); one JSON object on the last stdout line, {"ok":true,"result":...} or
// {"ok":false,"error":{"type":...,"message":...}}; "PROGRESS {json}" lines on stderr become heartbeats.
import { ApplicationFailure } from '@temporalio/common';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { NonRetryableErrors, nonRetryableErrorTypes } from '../../common/errors';
import { helperCliModule, pythonExe, pythonPath } from '../../host/paths';
import { runTool } from './process';
import { contractInput, contractResult, type Contract } from './contract';

const HelperReply = z.union([
  z.object({ ok: z.literal(true), result: z.unknown() }),
  z.object({ ok: z.literal(false), error: z.object({ type: z.string(), message: z.string() }) }),
]);

export interface PythonCallOptions {
  /** Working directory; the input JSON and the log go here. */
  workDir: string;
  logFile?: string;
  timeoutMs?: number;
  env?: Record<string, string>;
}

export function parseProgressLine(line: string): unknown {
  if (!line.startsWith('PROGRESS ')) return undefined;
  try {
    return JSON.parse(line.slice(9));
  } catch {
    return undefined;
  }
}

export async function callPython<C extends Contract>(c: C, payload: z.input<C['input']>, opts: PythonCallOptions): Promise<z.output<C['result']>> {
  const command = c.command;
  const input = contractInput(c, payload);
  mkdirSync(opts.workDir, { recursive: true });
  const inputFile = path.join(opts.workDir, `${command}.input.json`);
  writeFileSync(inputFile, JSON.stringify(input, null, 1));
  const logFile = opts.logFile ?? path.join(opts.workDir, `${command}.log`);
  const res = await runTool({
    command: pythonExe,
    args: ['-m', helperCliModule, command, inputFile],
    cwd: opts.workDir,
    logFile,
    env: { PYTHONPATH: pythonPath, PYTHONUNBUFFERED: '1', TF_CPP_MIN_LOG_LEVEL: '2', ...opts.env },
    progress: parseProgressLine,
    timeoutMs: opts.timeoutMs,
    okExitCodes: [1], // exit 1 carries a typed JSON error, read below
  });
  const last = res.stdout.trim().split('\n').pop() ?? '';
  let reply: z.infer<typeof HelperReply>;
  try {
    reply = HelperReply.parse(JSON.parse(last));
  } catch {
    throw ApplicationFailure.create({
      type: NonRetryableErrors.HelperFailed,
      nonRetryable: true,
      message: `python helper "${command}" printed no JSON reply; log: ${logFile}\n${res.tail}`,
    });
  }
  if (!reply.ok) {
    throw ApplicationFailure.create({
      type: reply.error.type,
      nonRetryable: nonRetryableErrorTypes.includes(reply.error.type),
      message: `${reply.error.message} (helper "${command}", log: ${logFile})`,
    });
  }
  return contractResult(c, reply.result);
}
