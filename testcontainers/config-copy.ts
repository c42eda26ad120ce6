/**
 * The files a ch2 container is given before it starts: a config file (a path
 * on the host, or an object written as JSON) or a channel module, copied into
 * the container by testcontainers (no bind mount, so it works on a remote
 * Docker too), and a default image name that follows CH2_IMAGE_TAG.
 */
import { basename, extname } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { GenericContainer } from 'testcontainers';

/** ch2/<program>:<CH2_IMAGE_TAG, else latest>: the images `npm run images` builds in a ch2 checkout. */
export function defaultImage(program: 'agent' | 'mailer'): string {
  return `ch2/${program}:${process.env.CH2_IMAGE_TAG || 'latest'}`;
}

/** A short random id (default network aliases, tokens). */
export function randomHex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

export type FileCopy = { source: string; target: string } | { content: string; target: string };

/** A config given as a host file (its extension kept: .json is JSON, else YAML) or as an object (JSON). */
export function configCopy(config: string | object, program: 'agent' | 'mailer'): FileCopy {
  if (typeof config === 'string') return { source: config, target: `/etc/ch2/${program}-config${extname(config) || '.yaml'}` };
  return { content: `${JSON.stringify(config, null, 2)}\n`, target: `/etc/ch2/${program}-config.json` };
}

/** Give the container the copy before it starts (a host file, or content written there). */
export function copyInto(container: GenericContainer, copy: FileCopy): void {
  if ('source' in copy) container.withCopyFilesToContainer([copy]);
  else container.withCopyContentToContainer([copy]);
}

/** A host file copied to /plugins/<n>/<its name>: several modules may share a name. */
export function pluginCopy(file: string, n: number): FileCopy & { source: string } {
  return { source: file, target: `/plugins/${n}/${basename(file)}` };
}

/** Flags first, then what the caller gave withCommand (the images' entrypoint is the program, so the command is its arguments). */
export function commandOf(flags: readonly string[], given: unknown): string[] {
  return [...flags, ...(Array.isArray(given) ? (given as string[]) : [])];
}
