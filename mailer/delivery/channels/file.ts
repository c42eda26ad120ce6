/**
 * Files: one per alert in a folder (`--file-dir`, repeatable), either an
 * RFC 5322 message (`.eml`, the very e-mail the SMTP channel sends: From, To,
 * Subject, Date, Message-ID, X-Ch2-Alert-Id, the text body) or the alert as
 * JSON (`.json`, email-content.ts's AlertRecord), with `--file-format`.
 * Channels are named file, file-2, ….
 *
 * The file is named by the alert id, and written atomically: a temporary
 * file in the same folder (a dot-name ending .tmp, which a reader globbing
 * *.eml or *.json skips), fsync, rename over the final name, fsync of the
 * folder. A reader never sees a half-written file, and a resend after a crash
 * overwrites the same file instead of adding a second one.
 *
 * Each folder is checked at start (exists, is a folder, writable), so a
 * missing or read-only folder is a one-line error and exit status 2. Later
 * failures that the environment causes and an operator can fix (full disk,
 * quota, I/O error, folder removed or made read-only, too many open files)
 * are transient and retried until --max-retry-age; failures that a retry of
 * the same alert would repeat (a name too long, a folder in the file's place)
 * are permanent.
 */
import { randomBytes, createHash } from 'node:crypto';
import { accessSync, constants, statSync } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { InvalidArgumentError } from 'commander';
import { createTransport } from 'nodemailer';
import { choiceArg, ConfigError, envOption, listArg } from '../../../shared/config.ts';
import { permanent, type SendResult, sent, transient } from '../../../shared/send-result.ts';
import { alertRecord, DEFAULT_FROM, emailMessage } from '../email-content.ts';
import type { QueuedAlert } from '../../queued-alert.ts';
import { type Channel, defineKind } from './channel.ts';

export const FILE_FORMATS = ['eml', 'json'] as const;
export type FileFormat = (typeof FILE_FORMATS)[number];

/** Checked at start: the folder exists, is a folder, and this process may create files in it. */
export function fileDirArg(text: string): string {
  if (text.trim() === '') throw new InvalidArgumentError('Expected a folder.');
  const dir = resolve(text.trim());
  let isDir: boolean;
  try {
    isDir = statSync(dir).isDirectory();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InvalidArgumentError(
      code === 'ENOENT' ? `${dir} does not exist (create it, or mount a volume there).` : `cannot read ${dir}: ${code ?? (err as Error).message}.`,
    );
  }
  if (!isDir) throw new InvalidArgumentError(`${dir} is not a folder.`);
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch {
    throw new InvalidArgumentError(`${dir} is not writable by uid ${process.getuid?.() ?? '?'} (check its owner and mode, or the volume's read-only flag).`);
  }
  return dir;
}

/** Commander parser: repeatable; each value (and FILE_DIR) may be a comma-separated list (paths may hold spaces). */
const fileDirList = listArg(fileDirArg, {
  separator: /,/,
  key: (dir) => dir,
  twice: (dir) => new InvalidArgumentError(`${dir} is given twice.`),
});

/**
 * The file name of an alert: its id, with every character outside
 * [A-Za-z0-9_.@-] (and a leading dot) %-encoded, so that distinct ids never
 * share a name. A very long id is cut and given a hash of the whole.
 */
export function alertFileName(alertId: string, format: FileFormat): string {
  let stem = [...alertId]
    .map((c, i) => (/^[A-Za-z0-9_@-]$/.test(c) || (c === '.' && i > 0) ? c : [...Buffer.from(c, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('')))
    .join('');
  if (stem.length > 200) stem = `${stem.slice(0, 160)}-${createHash('sha256').update(alertId).digest('hex').slice(0, 32)}`;
  return `${stem || 'alert'}.${format}`;
}

/** Causes a retry of the same alert would run into again. */
const PERMANENT_CODES = new Set(['ENAMETOOLONG', 'EISDIR', 'EINVAL', 'EFBIG', 'EILSEQ', 'ELOOP']);

export function classifyFileError(err: unknown, dir: string): SendResult {
  const e = err as NodeJS.ErrnoException;
  const code = e.code ?? 'error';
  const text = `${dir}: ${code}${e.syscall ? ` (${e.syscall})` : ''}`;
  return PERMANENT_CODES.has(code) ? permanent(text) : transient(text);
}

/** Write `data` to dir/name atomically: temp file, fsync, rename, fsync the folder. */
export async function writeAtomically(dir: string, name: string, data: Buffer | string): Promise<void> {
  const final = join(dir, name);
  const temp = join(dir, `.${name}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let renamed = false;
  try {
    const fh = await open(temp, 'wx', 0o644);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(temp, final);
    renamed = true;
    const dh = await open(dir, 'r');
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
  } finally {
    if (!renamed) await unlink(temp).catch(() => {});
  }
}

export interface FileChannelOptions {
  dir: string;
  format?: FileFormat;
  /** Sender of .eml messages. */
  from?: string;
  name?: string;
}

export function createFileChannel(options: FileChannelOptions): Channel {
  const format = options.format ?? 'eml';
  const from = options.from ?? DEFAULT_FROM;
  // nodemailer builds the message exactly as for SMTP, but into a buffer.
  const composer = createTransport({ streamTransport: true, buffer: true, newline: 'windows' });

  async function render(item: QueuedAlert): Promise<Buffer | string> {
    if (format === 'json') return `${JSON.stringify(alertRecord(item), null, 2)}\n`;
    const info = await composer.sendMail({ ...emailMessage(item, from), disableFileAccess: true, disableUrlAccess: true });
    return info.message as Buffer;
  }

  return {
    name: options.name ?? 'file',
    async send(item: QueuedAlert, { signal }): Promise<SendResult> {
      // A write is short and not cut midway; a send cancelled before it starts does not write.
      if (signal.aborted) return transient('send cancelled');
      let data: Buffer | string;
      try {
        data = await render(item);
      } catch (err) {
        return permanent(`cannot write the ${format} of alert ${item.alert.id}: ${(err as Error).message}`);
      }
      const name = alertFileName(item.alert.id, format);
      try {
        await writeAtomically(options.dir, name, data);
      } catch (err) {
        return classifyFileError(err, options.dir);
      }
      return sent(name);
    },
    async close() {
      composer.close();
    },
  };
}

export interface FileSettings {
  dir: string;
  format: FileFormat;
}

export const fileChannel = defineKind<FileSettings>({
  kind: 'file',
  options: () => [
    envOption('--file-dir <dir>', 'write one file per alert into this folder (repeatable, or a comma-separated list)', 'FILE_DIR').argParser(fileDirList),
    envOption('--file-format <format>', 'eml: an RFC 5322 e-mail; json: the alert as JSON', 'FILE_FORMAT', choiceArg(FILE_FORMATS)).default('eml'),
  ],
  fromOptions: (opts) => ((opts.fileDir as string[] | undefined) ?? []).map((dir) => ({ dir, format: opts.fileFormat as FileFormat })),
  configKeys: ['dir', 'format'],
  fromConfig: (entry) => {
    if (typeof entry.dir !== 'string') throw new ConfigError('dir: expected a folder as a string.');
    const format = entry.format ?? 'eml';
    if (!FILE_FORMATS.includes(format as FileFormat)) throw new ConfigError(`format: expected one of ${FILE_FORMATS.join(', ')}.`);
    try {
      return { dir: fileDirArg(entry.dir), format: format as FileFormat };
    } catch (err) {
      throw new ConfigError(`dir: ${(err as Error).message}`);
    }
  },
  // The .eml files use the mailer's --from, as SMTP does.
  create: (s, ctx) => createFileChannel({ dir: s.dir, format: s.format, from: ctx.from, name: ctx.name }),
});
