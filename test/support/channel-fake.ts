/**
 * The set-up every channel unit test repeats, once: a loopback Receiver
 * (http-receiver.ts) listening for a test file, emptied before each test (its
 * fallback answer set again); a quiet ChannelContext; one send, or one group
 * send, through a fresh channel of a kind, closed after; and a check that a
 * refusal is a ConfigError matching its pattern that echoes no secret.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach } from 'node:test';
import type { ChannelContext, ChannelKind } from '../../mailer/delivery/channels/channel.ts';
import type { QueuedAlert } from '../../mailer/queued-alert.ts';
import { ConfigError } from '../../shared/config.ts';
import type { Logger } from '../../shared/logger.ts';
import type { SendResult } from '../../shared/send-result.ts';
import { type Answer, Receiver } from './http-receiver.ts';

export const SEND = { signal: new AbortController().signal };
export const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {}, output() {} };

/** What the mailer hands a channel, quiet: the kind's name, a 5 s HTTP deadline. */
export function testContext(name: string): ChannelContext {
  return { name, log: quiet, from: 'x@y', httpTimeoutMs: 5_000 };
}

/** A Receiver for this test file: listening before its tests, closed after, reset before each (answering `fallback` when no answer is queued). */
export function fakeReceiver(fallback?: Answer): Receiver {
  const rx = new Receiver();
  before(() => rx.listen());
  after(() => rx.close());
  beforeEach(() => {
    rx.reset();
    if (fallback) rx.fallback = fallback;
  });
  return rx;
}

/** One alert sent (a list: one group sent) through a new channel of `kind`, closed afterwards. */
export async function sendOnce(kind: ChannelKind, settings: unknown, alert: QueuedAlert | readonly QueuedAlert[], ctx: ChannelContext = testContext(kind.kind)): Promise<SendResult> {
  const channel = kind.create(settings, ctx);
  try {
    return Array.isArray(alert) ? await channel.sendGroup!(alert as readonly QueuedAlert[], SEND) : await channel.send(alert as QueuedAlert, SEND);
  } finally {
    await channel.close?.();
  }
}

/** `make` throws a ConfigError whose message matches `pattern` and not `secrets`; `what` (e.g. the URL tried) names a failure. */
export function refuses(make: () => unknown, pattern: RegExp, secrets: RegExp, what?: string): void {
  assert.throws(make, (err: unknown) => {
    assert.ok(err instanceof ConfigError, what ?? String(err));
    assert.match(err.message, pattern, what);
    assert.doesNotMatch(err.message, secrets, what ?? 'no secret in the error');
    return true;
  });
}
