/**
 * File-system helpers for everything the CLI writes: directories made one
 * level at a time, outputs that never follow a symlink out of their folder,
 * whole files replaced atomically (temp file + fsync + rename), JSON Lines
 * files appended to one whole line at a time, and errors that name the path
 * and say what is wrong with it.
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  ftruncateSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readlinkSync,
  realpathSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { basename, dirname, join, relative, resolve, isAbsolute } from 'node:path';
import { FileError } from '../errors.js';

const REASONS: Record<string, string> = {
  ENOENT: 'no such file or directory',
  ENOTDIR: 'a part of the path is not a directory',
  EISDIR: 'is a directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EEXIST: 'already exists',
  ELOOP: 'too many levels of symbolic links',
  ENAMETOOLONG: 'file name too long',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files in the system',
  EIO: 'input/output error',
  EFBIG: 'file too large',
  EBUSY: 'resource busy',
  ETXTBSY: 'file busy',
  EXDEV: 'cross-device link',
  EINVAL: 'invalid argument',
};

/** Error codes of the file system that come from the path or the device, not from a bug. */
export function isFileSystemError(error: unknown): error is NodeJS.ErrnoException {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return (
    error instanceof Error && typeof code === 'string' && code in REASONS && typeof (error as NodeJS.ErrnoException).syscall === 'string'
  );
}

/** "cannot write out/x.json: no space left on the device (ENOSPC)". */
export function describeFileError(error: NodeJS.ErrnoException, path?: string, action?: string): string {
  const where = path ?? error.path ?? '(unknown path)';
  const verb = action ?? verbOf(error.syscall);
  return `cannot ${verb} ${where}: ${REASONS[error.code!] ?? error.message} (${error.code})`;
}

function verbOf(syscall: string | undefined): string {
  switch (syscall) {
    case 'open':
      return 'open';
    case 'read':
      return 'read';
    case 'write':
    case 'fsync':
    case 'close':
      return 'write';
    case 'mkdir':
      return 'create the directory';
    case 'rename':
    case 'link':
      return 'replace';
    case 'scandir':
      return 'list';
    default:
      return 'access';
  }
}

/** Runs `fn`, turning file-system errors into FileError naming `path`. */
export function withPath<T>(path: string, action: string, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (isFileSystemError(error)) throw new FileError(describeFileError(error, path, action), path, error.code);
    throw error;
  }
}

/**
 * Makes `dir` and its missing parents, one level at a time (each level's
 * error names that level; Node's recursive mkdir can loop forever where
 * mkdir is refused with ENOENT, as under /proc).
 */
export function makeDirectory(dir: string): void {
  const missing: string[] = [];
  let current = resolve(dir);
  for (;;) {
    let stat: Stats;
    try {
      stat = statSync(current);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // ENOTDIR: a level above is a file; the walk up reaches it and says so.
      if (code !== 'ENOENT' && code !== 'ENOTDIR') {
        throw new FileError(describeFileError(error as NodeJS.ErrnoException, current, 'use the directory'), current);
      }
      missing.push(current);
      const parent = dirname(current);
      if (parent === current) break;
      current = parent;
      continue;
    }
    if (!stat.isDirectory())
      throw new FileError(`cannot use ${current} as a directory: it exists and is not a directory`, current, 'ENOTDIR');
    break;
  }
  for (const level of missing.reverse()) {
    try {
      mkdirSync(level);
    } catch (error) {
      const e = error as NodeJS.ErrnoException;
      if (e.code === 'EEXIST' && statSync(level).isDirectory()) continue; // made meanwhile by another process
      throw new FileError(describeFileError(e, level, 'create the directory'), level, e.code);
    }
  }
}

function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/**
 * Where writing `file` (in the folder `folder`) really goes: `file` itself,
 * or, when it is a symlink, its target, if that lies inside the folder.
 * A symlink out of the folder (or a dangling one) is refused: an output is
 * never written through a link to a file the user did not name.
 */
export function outputTarget(file: string, folder = dirname(file)): string {
  let stat: Stats;
  try {
    stat = lstatSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return file;
    throw new FileError(describeFileError(error as NodeJS.ErrnoException, file, 'use'), file);
  }
  if (!stat.isSymbolicLink()) return file;
  // A link to a stream (/dev/stdout, a pipe) writes nothing that could be lost.
  if (isStream(file)) return file;
  let target: string;
  try {
    target = realpathSync(file);
  } catch {
    // A link to a file not made yet: where it would be made.
    const pointed = resolve(dirname(file), readlinkSync(file));
    try {
      target = join(realpathSync(dirname(pointed)), basename(pointed));
    } catch {
      throw new FileError(
        `${file} is a symbolic link to ${pointed}, whose folder does not exist; remove the link or use another output`,
        file,
        'ENOENT',
      );
    }
  }
  const root = withPath(folder, 'use the directory', () => realpathSync(folder));
  if (!inside(root, target)) {
    throw new FileError(
      `${file} is a symbolic link to ${target}, outside ${folder}; outputs are not written through links out of their folder (remove the link or use another output)`,
      file,
      'ELOOP',
    );
  }
  return target;
}

function isStream(path: string): boolean {
  try {
    const stat = statSync(path);
    return stat.isCharacterDevice() || stat.isFIFO();
  } catch {
    return false;
  }
}

/**
 * Replaces `file` with `data` atomically: the data go to a temp file in the
 * same directory, are flushed to disk, and the temp file is renamed over the
 * target, so a reader (or a crash) sees the old file or the new one, never a
 * mix. Symlinks are handled as in `outputTarget`.
 */
export function writeFileAtomic(file: string, data: string | Uint8Array, folder?: string): void {
  const target = outputTarget(file, folder);
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  let existing: Stats | undefined;
  try {
    existing = statSync(target);
  } catch {
    existing = undefined;
  }
  if (existing && !existing.isFile()) {
    if (!existing.isCharacterDevice() && !existing.isFIFO()) {
      throw new FileError(`cannot write ${file}: it exists and is not a regular file`, file, existing.isDirectory() ? 'EISDIR' : 'EINVAL');
    }
    // A device or pipe (/dev/null, /dev/full, a FIFO) is written as a stream, never replaced.
    withPath(file, 'write', () => {
      const fd = openSync(target, 'w');
      try {
        let offset = 0;
        while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset);
      } finally {
        closeSync(fd);
      }
    });
    return;
  }
  const tmp = join(dirname(target), `.${basename(target)}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 10)}`);
  try {
    const fd = openSync(tmp, 'wx', 0o644);
    try {
      let offset = 0;
      while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, target);
  } catch (error) {
    try {
      unlinkSync(tmp);
    } catch {
      // Not created, or already renamed.
    }
    if (isFileSystemError(error)) throw new FileError(describeFileError(error, file, 'write'), file, error.code);
    throw error;
  }
}

/**
 * Checks, before long work, that `file` can be written as an output: its
 * folder exists, it is not a directory, and it is not a link out of its folder.
 */
export function checkOutputFile(file: string): void {
  const folder = dirname(file);
  let stat: Stats;
  try {
    stat = statSync(folder);
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    if (e.code === 'ENOENT')
      throw new FileError(`cannot write ${file}: its folder ${folder} does not exist (create it first)`, file, e.code);
    throw new FileError(describeFileError(e, folder, 'use the folder'), file, e.code);
  }
  if (!stat.isDirectory()) throw new FileError(`cannot write ${file}: ${folder} is not a directory`, file, 'ENOTDIR');
  try {
    if (statSync(file).isDirectory()) throw new FileError(`cannot write ${file}: it is a directory`, file, 'EISDIR');
  } catch (error) {
    if (error instanceof FileError) throw error;
  }
  outputTarget(file, folder);
}

/**
 * An append-only JSON Lines writer. `open` cuts a damaged tail off an existing file; every
 * `appendLine` is one `write` of one complete line, so a kill loses at most the line being
 * written; data is flushed to disk (fsync) at most every `syncMs` and on close.
 */
export class JsonLinesWriter {
  private fd: number;
  private lastSync = Date.now();

  private constructor(
    readonly path: string,
    fd: number,
    private readonly syncMs: number,
  ) {
    this.fd = fd;
  }

  /**
   * Opens `path` for appending; `keepBytes` (`goodBytes` of readJsonLines) drops a cut-off tail.
   * A new file appears at once with its first line (made aside and linked into place), so no
   * reader sees an empty or half-written one; an existing file cut to nothing gets it again. The
   * caller checks beforehand that an existing file is one of its own and that `path` is not a
   * link out of its folder (`outputTarget`).
   */
  static open(path: string, firstLine: unknown, keepBytes?: number, syncMs = 1000): JsonLinesWriter {
    if (!existsSync(path)) {
      const tmp = join(dirname(path), `.${basename(path)}.new-${process.pid}-${Math.random().toString(36).slice(2, 10)}`);
      const fd = openSync(tmp, 'wx', 0o644);
      try {
        const line = Buffer.from(`${JSON.stringify(firstLine)}\n`, 'utf8');
        let offset = 0;
        while (offset < line.length) offset += writeSync(fd, line, offset, line.length - offset);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      try {
        linkSync(tmp, path); // fails if the file appeared meanwhile: never replaces one
      } finally {
        unlinkSync(tmp);
      }
      return new JsonLinesWriter(path, openSync(path, 'a'), syncMs);
    }
    const fd = openSync(path, 'a');
    if (keepBytes !== undefined) ftruncateSync(fd, keepBytes);
    const writer = new JsonLinesWriter(path, fd, syncMs);
    if (keepBytes === 0) writer.appendLine(firstLine);
    return writer;
  }

  appendLine(value: unknown): void {
    const line = Buffer.from(`${JSON.stringify(value)}\n`, 'utf8');
    let offset = 0;
    while (offset < line.length) offset += writeSync(this.fd, line, offset, line.length - offset);
    const now = Date.now();
    if (now - this.lastSync >= this.syncMs) {
      fsyncSync(this.fd);
      this.lastSync = now;
    }
  }

  close(): void {
    if (this.fd < 0) return;
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = -1;
  }
}
