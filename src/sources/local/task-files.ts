/**
 * Reading the task directory without trusting what is in it. Whoever can write there can run privileged
 * containers as root, and anything can be named `*.json`: a FIFO (opening it blocks), `/dev/zero` (reading
 * it never ends), a symlink to `/etc/shadow`. So:
 *   - the directory, each directory above it (unless sticky, like /tmp) and each file must be owned by
 *     the agent's user (or root) and not be writable by group or others;
 *   - only regular files are read, symlinks included when they lead to one (a symlink is placed by the
 *     directory's owner, like the file itself). The kind is checked with `stat` before opening, so no
 *     FIFO or device is ever opened; the open is `O_NONBLOCK`, and `fstat` on the opened descriptor must
 *     show the same regular file (nothing swapped in between);
 *   - at most `TASK_FILE_MAX_BYTES` are read (ECS caps a task definition at 64 KiB), through a FileHandle on
 *     libuv's thread pool: nothing here blocks the event loop;
 *   - errors name the file and the problem, never its content.
 */
import { constants, type Stats } from 'node:fs';
import { open, readdir, realpath, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { errorMessage } from '../../errors.js';

/** ECS's RegisterTaskDefinition limit for a whole task definition; ecsd reads no more of a file. */
export const TASK_FILE_MAX_BYTES = 64 * 1024;

const GROUP_OR_OTHER_WRITE = 0o022;
const STICKY = 0o1000;
const READ_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY;

/** `*.json`, ignoring hidden files (editor swap and lock files such as `.#web.json`). */
export function isTaskFileName(name: string): boolean {
  return name.endsWith('.json') && !name.startsWith('.');
}

/** Why a file or directory with this owner and mode may not be trusted, or undefined. */
export function ownershipProblem(st: Pick<Stats, 'uid' | 'mode'>, agentUid: number): string | undefined {
  if (st.uid !== agentUid && st.uid !== 0) {
    return `owned by uid ${st.uid}, not by the agent's uid ${agentUid} or root`;
  }
  if ((st.mode & GROUP_OR_OTHER_WRITE) !== 0) {
    return `writable by group or others (mode 0${(st.mode & 0o777).toString(8)})`;
  }
  return undefined;
}

/** What is wrong with the tasks directory itself, or undefined when it is safe to read. */
export async function directoryProblem(dir: string, agentUid: number): Promise<string | undefined> {
  let st: Stats;
  try {
    st = await stat(dir);
  } catch (error) {
    return `does not exist or cannot be read (${errorMessage(error)})`;
  }
  if (!st.isDirectory()) return `is not a directory (${kindOf(st)})`;
  const problem = ownershipProblem(st, agentUid) ?? (await ancestorProblem(dir, agentUid));
  return problem === undefined
    ? undefined
    : `${problem}: whoever can write there can run privileged containers as root`;
}

/**
 * A directory above the tasks directory that someone else can write to lets them rename the tasks
 * directory away and put their own in its place (sshd's StrictModes checks the same). A sticky directory
 * such as /tmp is fine: there only an entry's owner may rename it.
 */
async function ancestorProblem(dir: string, agentUid: number): Promise<string | undefined> {
  let current: string;
  try {
    current = await realpath(dir);
  } catch (error) {
    return `cannot be resolved (${errorMessage(error)})`;
  }
  for (let parent = dirname(current); parent !== current; current = parent, parent = dirname(parent)) {
    const st = await stat(parent);
    if ((st.mode & STICKY) !== 0 && (st.uid === agentUid || st.uid === 0)) continue;
    const problem = ownershipProblem(st, agentUid);
    if (problem !== undefined) return `has a parent directory ${parent} ${problem}`;
  }
  return undefined;
}

/**
 * The task files and each one's identity (inode, size, mtime and ctime in nanoseconds, owner and mode:
 * changing any of them makes the file read again), sorted by name; `undefined` as identity when it cannot
 * be stat'ed. Directories are not task files; every other kind is listed so it can be reported.
 */
export async function scanTaskFiles(dir: string): Promise<Map<string, string | undefined>> {
  const names = await listTaskFileNames(dir);
  const identities = await Promise.all(
    names.map(async (name) => {
      try {
        const st = await stat(join(dir, name), { bigint: true });
        return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}:${st.uid}:${st.mode}`;
      } catch {
        return undefined;
      }
    }),
  );
  return new Map(names.map((name, i) => [name, identities[i]]));
}

/** The task files' names, sorted: one `readdir`, no per-file call. */
export async function listTaskFileNames(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  return entries
    .filter((entry) => isTaskFileName(entry.name) && !entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
}

export type TaskFileRead = { kind: 'text'; text: string } | { kind: 'refused'; error: string } | { kind: 'gone' };

export async function readTaskFile(
  dir: string,
  name: string,
  agentUid: number,
  maxBytes: number = TASK_FILE_MAX_BYTES,
): Promise<TaskFileRead> {
  const path = join(dir, name);
  const refused = (why: string): TaskFileRead => ({ kind: 'refused', error: `${name}: ${why}` });
  let before: Stats;
  try {
    before = await stat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'gone' };
    return refused(`cannot read: ${errorMessage(error)}`);
  }
  const problem = fileProblem(before, agentUid, maxBytes);
  if (problem !== undefined) return refused(problem);

  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, READ_FLAGS);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'gone' };
    return refused(`cannot read: ${errorMessage(error)}`);
  }
  try {
    const opened = await handle.stat();
    if (opened.dev !== before.dev || opened.ino !== before.ino) return refused('changed while being opened; skipped');
    const again = fileProblem(opened, agentUid, maxBytes);
    if (again !== undefined) return refused(again);
    // One byte more than the cap tells a file that grew since fstat from one that fits.
    const buffer = Buffer.alloc(maxBytes + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > maxBytes) return refused(tooLarge(length, maxBytes));
    }
    try {
      return { kind: 'text', text: new TextDecoder('utf-8', { fatal: true }).decode(buffer.subarray(0, length)) };
    } catch {
      return refused('is not UTF-8 text');
    }
  } catch (error) {
    return refused(`cannot read: ${errorMessage(error)}`);
  } finally {
    await handle.close().catch(() => undefined);
  }
}

function fileProblem(st: Stats, agentUid: number, maxBytes: number): string | undefined {
  if (!st.isFile()) return `not a regular file (${kindOf(st)}); only regular files and symlinks to them are read`;
  const problem = ownershipProblem(st, agentUid);
  if (problem !== undefined) return `${problem}; refused: whoever can write it can run containers as root`;
  if (st.size > maxBytes) return tooLarge(st.size, maxBytes);
  return undefined;
}

function tooLarge(bytes: number, maxBytes: number): string {
  return `${bytes} bytes is larger than the ${maxBytes}-byte limit for a task definition (the ECS limit); not read`;
}

function kindOf(st: Stats): string {
  if (st.isFile()) return 'regular file';
  if (st.isDirectory()) return 'directory';
  if (st.isFIFO()) return 'fifo';
  if (st.isSocket()) return 'socket';
  if (st.isCharacterDevice()) return 'character device';
  if (st.isBlockDevice()) return 'block device';
  return 'unknown kind';
}
