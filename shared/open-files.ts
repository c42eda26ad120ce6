/**
 * The process's open-file limit (RLIMIT_NOFILE), which bounds its sockets. Node
 * has no API for it; Linux shows it in /proc/self/limits. Node raises the soft
 * limit to the hard one as it starts, so the soft limit read here is what the
 * process really has (`ulimit -n`, `docker run --ulimit nofile=soft:hard`).
 */
import { readFileSync } from 'node:fs';

/** The soft limit on open files (from /proc), if it can be read. */
export function openFileLimit(): number | undefined {
  try {
    const match = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    const soft = match ? Number(match[1]) : Number.NaN;
    return Number.isSafeInteger(soft) && soft > 0 ? soft : undefined;
  } catch {
    return undefined; // not Linux, or no /proc
  }
}

/** A system call failed for want of a file descriptor: the process's (EMFILE) or the system's (ENFILE). */
export function outOfDescriptors(err: unknown): boolean {
  const e = err as { code?: unknown; cause?: { code?: unknown } } | null | undefined;
  const code = e?.code ?? e?.cause?.code;
  return code === 'EMFILE' || code === 'ENFILE';
}
