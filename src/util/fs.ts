import { statSync } from 'node:fs';

/** Whether `path` is an existing directory (false for anything missing or unreadable). */
export function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
