/**
 * Progress display of a sweep: a bar with rate and ETA on a terminal
 * (cli-progress), periodic plain lines otherwise (logs, CI, job schedulers).
 * The ETA is weighted by each trial's estimated cost, so large trials run
 * first do not make it optimistic.
 */
import { SingleBar } from 'cli-progress';
import type { SweepProgress } from './run.js';

export type ProgressMode = 'auto' | 'bar' | 'lines' | 'none';

export interface ProgressDisplay {
  update(p: SweepProgress): void;
  stop(): void;
}

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

function eta(p: SweepProgress): number {
  if (p.costDone <= 0 || p.elapsedMs <= 0) return NaN;
  return (p.elapsedMs * (p.costTotal - p.costDone)) / p.costDone;
}

/** One plain progress line. */
export function progressLine(p: SweepProgress): string {
  const rate = p.elapsedMs > 0 ? (p.done * 1000) / p.elapsedMs : 0;
  const pct = p.costTotal > 0 ? (100 * p.costDone) / p.costTotal : 100;
  return (
    `sweep: ${p.done}/${p.total} trials (${pct.toFixed(0)}% of the work), ${rate.toFixed(1)} trials/s, ` +
    `elapsed ${formatDuration(p.elapsedMs)}, ETA ${formatDuration(eta(p))}` +
    (p.errors ? `, ${p.errors} failed` : '') +
    (p.skipped ? ` (${p.skipped} already done)` : '')
  );
}

export function createProgress(mode: ProgressMode, stream: NodeJS.WriteStream = process.stderr, intervalMs = 5000): ProgressDisplay {
  const resolved = mode === 'auto' ? (stream.isTTY ? 'bar' : 'lines') : mode;
  if (resolved === 'none') return { update() {}, stop() {} };
  if (resolved === 'lines') {
    let last = 0;
    let latest: SweepProgress | undefined;
    let printed = false;
    return {
      update(p) {
        latest = p;
        const now = Date.now();
        if (last === 0) last = now;
        if (now - last >= intervalMs) {
          stream.write(`${progressLine(p)}\n`);
          last = now;
          printed = true;
        }
        if (p.done === p.total) {
          stream.write(`${progressLine(p)}\n`);
          printed = true;
        }
      },
      stop() {
        if (latest && !printed) stream.write(`${progressLine(latest)}\n`);
      },
    };
  }
  const scale = 1000;
  const bar = new SingleBar({
    format: 'sweep [{bar}] {percentage}% | {trials} trials | {rate}/s | ETA {etaCost} | elapsed {elapsed}{failed}',
    barCompleteChar: '█',
    barIncompleteChar: '░',
    hideCursor: true,
    stream,
    fps: 10,
    etaBuffer: 50,
    forceRedraw: false,
  });
  let started = false;
  return {
    update(p) {
      const payload = {
        trials: `${p.done}/${p.total}`,
        rate: p.elapsedMs > 0 ? ((p.done * 1000) / p.elapsedMs).toFixed(1) : '0.0',
        etaCost: formatDuration(eta(p)),
        elapsed: formatDuration(p.elapsedMs),
        failed: p.errors ? ` | ${p.errors} failed` : '',
      };
      const value = p.costTotal > 0 ? Math.round((scale * p.costDone) / p.costTotal) : scale;
      if (!started) {
        bar.start(scale, value, payload);
        started = true;
      } else {
        bar.update(value, payload);
      }
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
