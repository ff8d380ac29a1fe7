/**
 * A lock per result file (`<file>.lock`), held while a sweep appends to the
 * file or a merge replaces it, so two processes never write one file (two
 * sweeps on one folder would run every trial twice; a merge would replace
 * the file under a running sweep). Shards have files of their own, so the
 * tasks of a job array share a folder without waiting for each other.
 *
 * The lock file holds the holder's pid, host and a random token, and is
 * created with O_EXCL. The holder touches it every few seconds. A lock is
 * stale, and taken over, when its process is gone: on this host, when the
 * pid no longer runs; from another host (a shared file system), when it has
 * not been touched for `STALE_MS`.
 */
import { closeSync, openSync, readFileSync, renameSync, statSync, unlinkSync, utimesSync, writeSync, linkSync } from 'node:fs';
import { hostname } from 'node:os';
import { ConfigError, FileError } from '../errors.js';
import { describeFileError, isFileSystemError } from './files.js';

/** How often the holder touches its lock. */
export const HEARTBEAT_MS = 5_000;
/** A lock from another host untouched for this long is stale. */
export const STALE_MS = 60_000;

export interface LockInfo {
  pid: number;
  host: string;
  token: string;
  started: string;
  command: string;
}

/** A held lock; `release` removes it (idempotent). */
export interface Lock {
  path: string;
  info: LockInfo;
  release(): void;
}

/** The lock file of a result file. */
export function lockPath(file: string): string {
  return `${file}.lock`;
}

function pidRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readInfo(path: string): { info: LockInfo | null; text: string; ageMs: number } | null {
  try {
    const text = readFileSync(path, 'utf8');
    const ageMs = Date.now() - statSync(path).mtimeMs;
    try {
      const info = JSON.parse(text) as LockInfo;
      if (!Number.isSafeInteger(info.pid) || typeof info.host !== 'string') return { info: null, text, ageMs };
      return { info, text, ageMs };
    } catch {
      return { info: null, text, ageMs };
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/** Tokens of the locks this process holds (its own pid in a lock file is otherwise a previous process's, e.g. pid 1 of a restarted container). */
const heldTokens = new Set<string>();

/** Whether the holder described by a lock file is gone. */
function isStale(found: { info: LockInfo | null; ageMs: number }): boolean {
  const { info, ageMs } = found;
  // Unreadable (a holder killed while writing it): stale once it is not being written any more.
  if (!info) return ageMs > 2_000;
  if (info.host === hostname()) return info.pid === process.pid ? !heldTokens.has(info.token) : !pidRuns(info.pid);
  return ageMs > STALE_MS;
}

export function describeHolder(info: LockInfo | null, ageMs: number): string {
  if (!info) return 'another process (its lock file is unreadable)';
  const where = info.host === hostname() ? '' : ` on host ${info.host}`;
  return `scorecrl pid ${info.pid}${where} (since ${info.started}${info.host === hostname() ? '' : `, lock touched ${Math.round(ageMs / 1000)} s ago`})`;
}

/** The live holder of `file`'s lock, or null when there is none (or it is stale). */
export function lockHolder(file: string): string | null {
  const found = readInfo(lockPath(file));
  if (!found || isStale(found)) return null;
  return describeHolder(found.info, found.ageMs);
}

/**
 * Takes the lock of `file`, taking over a stale one. Throws ConfigError
 * naming the holder when a live process holds it.
 */
export function acquireLock(file: string, command = process.argv.slice(2).join(' '), onTakeOver?: (message: string) => void): Lock {
  const path = lockPath(file);
  const info: LockInfo = {
    pid: process.pid,
    host: hostname(),
    token: Math.random().toString(36).slice(2) + Date.now().toString(36),
    started: new Date().toISOString(),
    command,
  };
  const text = `${JSON.stringify(info)}\n`;
  for (let attempt = 0; attempt < 20; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, 'wx', 0o644);
    } catch (error) {
      const e = error as NodeJS.ErrnoException;
      if (e.code !== 'EEXIST') {
        if (isFileSystemError(e)) throw new FileError(describeFileError(e, path, 'create the lock file'), path, e.code);
        throw e;
      }
      const found = readInfo(path);
      if (!found) continue; // released meanwhile: try again
      if (!isStale(found)) {
        throw new ConfigError(
          `${file} is being written by ${describeHolder(found.info, found.ageMs)}; ` +
            `wait for it to finish (or stop it), or use another --out. ` +
            `If that process is certainly gone, remove ${path}.`,
        );
      }
      // Stale: move it aside under a unique name, then check that what was moved is the
      // stale lock read above (not a fresh one another process made meanwhile).
      const aside = `${path}.stale-${process.pid}-${info.token}`;
      try {
        renameSync(path, aside);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw error;
      }
      let moved = '';
      try {
        moved = readFileSync(aside, 'utf8');
      } catch {
        // Gone: nothing to compare; try again.
      }
      if (moved === found.text) {
        onTakeOver?.(`took over the lock of ${file} left by ${describeHolder(found.info, found.ageMs)}, which is no longer running`);
      } else {
        // A live lock was moved by mistake: put it back unless a newer one is there.
        try {
          linkSync(aside, path);
        } catch {
          // Another lock is in place: it decides.
        }
      }
      try {
        unlinkSync(aside);
      } catch {
        // Already removed.
      }
      continue;
    }
    try {
      writeSync(fd, text);
    } finally {
      closeSync(fd);
    }
    return holdLock(path, info, text);
  }
  throw new ConfigError(`could not take the lock ${path} (other processes keep taking it); try again`);
}

function holdLock(path: string, info: LockInfo, text: string): Lock {
  let held = true;
  heldTokens.add(info.token);
  const timer = setInterval(() => {
    try {
      const now = new Date();
      utimesSync(path, now, now);
    } catch {
      // Removed by hand: nothing to keep alive.
    }
  }, HEARTBEAT_MS);
  timer.unref();
  const release = () => {
    if (!held) return;
    held = false;
    heldTokens.delete(info.token);
    clearInterval(timer);
    process.off('exit', release);
    try {
      // Remove only our own lock (not one a later process made after ours was taken over).
      if (readFileSync(path, 'utf8') === text) unlinkSync(path);
    } catch {
      // Already gone.
    }
  };
  // process.exit() (a second Ctrl-C) skips finally blocks; the lock goes anyway.
  process.on('exit', release);
  return { path, info, release };
}
