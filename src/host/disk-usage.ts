/**
 * How full a filesystem is, for the disk-pressure image cleanup (ECSD_IMAGE_GC_HIGH/LOW_PERCENT): the
 * filesystem of Docker's data root (`docker info` DockerRootDir), read with statfs(2).
 *
 * `usedPercent` is df's "Use%": used / (used + available to unprivileged users). Blocks reserved for root
 * count as neither, as in df, so the percentage an operator sees in `df` is the one the watermarks compare
 * against (and 100 % means writes by ordinary processes fail, even though root still has room).
 */
import { statfs } from 'node:fs/promises';

export interface DiskUsage {
  /** The filesystem's size. */
  totalBytes: number;
  /** Space an unprivileged writer can still use (statfs f_bavail). */
  freeBytes: number;
  /** Space in use (f_blocks - f_bfree). */
  usedBytes: number;
  /** df's Use%: usedBytes / (usedBytes + freeBytes) × 100; 0 for an empty or pseudo filesystem. */
  usedPercent: number;
}

/** The usage of the filesystem holding `path`; rejects (ENOENT, EACCES) as statfs does. */
export async function diskUsage(path: string): Promise<DiskUsage> {
  const stats = await statfs(path);
  const totalBytes = stats.blocks * stats.bsize;
  const freeBytes = stats.bavail * stats.bsize;
  const usedBytes = (stats.blocks - stats.bfree) * stats.bsize;
  const usable = usedBytes + freeBytes;
  return { totalBytes, freeBytes, usedBytes, usedPercent: usable > 0 ? (100 * usedBytes) / usable : 0 };
}
