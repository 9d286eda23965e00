// `autopipe watch ID` and the demo's live view: progress bars on a terminal (cli-progress), one plain line
// per change elsewhere (logs, CI, pipes), NDJSON with --json. A line is printed at least every
// `quietMs` even when nothing changed, and the watcher measures the longest time without any new figure.
import type { Client } from '@temporalio/client';
import cliProgress from 'cli-progress';
import { readCampaignView, type CampaignView } from './live';
import { formatLine } from './format';
import { progressLines, type ProgressLine } from './progress-text';

export type WatchMode = 'bars' | 'lines' | 'json';

export interface WatchOptions {
  intervalMs?: number;
  mode?: WatchMode;
  /** Print a line at least this often in line mode, even without news (default 10 s). */
  quietMs?: number;
  out?: NodeJS.WriteStream;
  /** Stop watching (the demo stops when the campaign's result arrives). */
  signal?: AbortSignal;
  /** Time zero of the elapsed-time prefix (default: when watching starts). */
  startedAt?: number;
}

export interface WatchStats {
  /** Longest stretch without a new figure (counts, step, iteration, epoch, SCF iteration, MD step). */
  longestStaleMs: number;
  /** What was showing when that stretch ended. */
  longestStaleAt?: string;
  /** Longest stretch without a printed line (line mode). */
  longestSilenceMs: number;
  updates: number;
  polls: number;
}

export interface WatchResult {
  workflowStatus: string;
  view?: CampaignView;
  stats: WatchStats;
}

export function defaultMode(out: NodeJS.WriteStream = process.stdout): WatchMode {
  return out.isTTY ? 'bars' : 'lines';
}

/** The content of a view without its clocks: when this changes, there is news. */
export function signature(v: CampaignView, lines: ProgressLine[]): string {
  const s = v.status;
  const head = s ? `${s.phase}|${s.generation}|${s.current ?? ''}|${s.stopReason ?? ''}` : v.workflowStatus;
  return [head, ...lines.map((l) => `${l.key}:${l.done ?? ''}/${l.total ?? ''}:${l.text.replace(/(running|, running) \d+( min \d+)? s/g, '')}`)].join('\n');
}

function headline(v: CampaignView): string {
  const s = v.status;
  if (!s) return `campaign ${v.id}: workflow ${v.workflowStatus.toLowerCase()}`;
  return `gen ${s.generation} ${s.phase}${s.current ? `: ${s.current}` : ''}`;
}

const clock = (ms: number) => {
  const s = Math.round(ms / 1000);
  return s < 600 ? `${s} s` : `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
};

class BarView {
  private multi: cliProgress.MultiBar;
  private bars = new Map<string, cliProgress.SingleBar>();
  private head: cliProgress.SingleBar;

  constructor(out: NodeJS.WriteStream) {
    this.multi = new cliProgress.MultiBar(
      { stream: out, format: ' {label} |{bar}| {text}', barsize: 24, hideCursor: true, clearOnComplete: false, autopadding: true, forceRedraw: false, linewrap: false },
      cliProgress.Presets.shades_classic,
    );
    this.head = this.multi.create(1, 0, { text: '' }, { format: '{text}' });
  }

  update(head: string, lines: ProgressLine[]): void {
    this.head.update(0, { text: head });
    const seen = new Set<string>();
    for (const l of lines) {
      seen.add(l.key);
      const counted = l.total !== undefined && l.total > 0;
      let bar = this.bars.get(l.key);
      const label = l.label.length > 26 ? `${l.label.slice(0, 25)}…` : l.label.padEnd(26);
      if (!bar) {
        bar = this.multi.create(counted ? l.total! : 1, counted ? Math.min(l.done ?? 0, l.total!) : 0, { label, text: l.text }, counted ? {} : { format: ' {label}  {text}' });
        this.bars.set(l.key, bar);
      }
      if (counted) bar.setTotal(l.total!);
      bar.update(counted ? Math.min(l.done ?? 0, l.total!) : 0, { label, text: l.text });
    }
    for (const [k, bar] of this.bars) {
      if (seen.has(k)) continue;
      this.multi.remove(bar);
      this.bars.delete(k);
    }
  }

  log(line: string): void {
    this.multi.log(`${line}\n`);
  }

  stop(): void {
    this.multi.stop();
  }
}

export async function watchCampaign(client: Client, id: string, opts: WatchOptions = {}): Promise<WatchResult> {
  const out = opts.out ?? process.stdout;
  const mode = opts.mode ?? defaultMode(out);
  const every = opts.intervalMs ?? 2000;
  const quiet = opts.quietMs ?? 10_000;
  const t0 = opts.startedAt ?? Date.now();
  const stats: WatchStats = { longestStaleMs: 0, longestSilenceMs: 0, updates: 0, polls: 0 };
  let lastSig = '';
  let lastChange = Date.now();
  let lastPrint = Date.now();
  let lastHead = '';
  let view: CampaignView | undefined;
  const bars = mode === 'bars' ? new BarView(out) : undefined;
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(t);
        opts.signal?.removeEventListener('abort', done);
        resolve();
      };
      const t = setTimeout(done, ms);
      opts.signal?.addEventListener('abort', done, { once: true });
    });
  // Line mode: a line at least every `quiet`, from a timer, so a slow poll (a busy server) cannot stretch
  // the silence; it repeats the last view, marked "(no change)".
  let lastLine = '';
  const print = (now: number, text: string) => {
    stats.longestSilenceMs = Math.max(stats.longestSilenceMs, now - lastPrint);
    out.write(`[${clock(now - t0)}] ${text}\n`);
    lastPrint = now;
  };
  const keepAlive =
    mode === 'lines'
      ? setInterval(() => {
          const now = Date.now();
          if (lastLine && now - lastPrint >= quiet - 1000) print(now, `(no change) ${lastLine}`);
        }, 500)
      : undefined;
  try {
    while (!opts.signal?.aborted) {
      view = await readCampaignView(client, id).catch(() => view);
      if (!view) {
        await sleep(every);
        continue;
      }
      stats.polls++;
      const now = Date.now();
      const lines = progressLines(view.status, view.activities, now);
      const sig = signature(view, lines);
      const changed = sig !== lastSig;
      if (changed) {
        const stale = now - lastChange;
        if (lastSig && stale > stats.longestStaleMs) {
          stats.longestStaleMs = stale;
          stats.longestStaleAt = headline(view);
        }
        lastChange = now;
        lastSig = sig;
        stats.updates++;
      }
      const head = headline(view);
      if (mode === 'json') {
        if (changed) out.write(`${JSON.stringify({ ...view, lines })}\n`);
      } else if (bars) {
        if (head !== lastHead) bars.log(`[${clock(now - t0)}] ${head}`);
        bars.update(`campaign ${id}  [${clock(now - t0)}]  ${head}`, lines);
      } else {
        lastLine = `${head}${lines.length ? ' | ' : ''}${lines.map(formatLine).join(' | ')}`;
        if (changed) print(now, lastLine);
      }
      lastHead = head;
      if (view.workflowStatus !== 'RUNNING') break;
      await sleep(every);
    }
  } finally {
    if (keepAlive) clearInterval(keepAlive);
    bars?.stop();
  }
  return { workflowStatus: view?.workflowStatus ?? 'NOT_FOUND', view, stats };
}
