/**
 * One send of the dispatcher's (stages 5 and 6, dispatcher.ts): through the
 * channel's rate gate, then with its deadline. The send is cancelled (its
 * signal aborted) when it outlives the deadline, and this resolves only once
 * the channel has settled it, so that a retry can never run beside a send
 * that may still go out. Undefined when the mailer stopped while it waited at
 * the gate (`sending` is how the dispatcher aborts what is under way): no
 * attempt, nothing to record; the alert stays owed.
 */
import { type SendResult, transient } from '../../shared/send-result.ts';
import type { Channel } from './channels/channel.ts';
import type { QueuedAlert } from '../queued-alert.ts';
import type { RateGate } from './rate-gate.ts';

export async function timedSend(channel: Channel, items: QueuedAlert[], gate: RateGate, limitMs: number, sending: Set<AbortController>): Promise<SendResult | undefined> {
  const controller = new AbortController();
  sending.add(controller);
  // The deadline runs from when the destination may take the send, not while it waits its turn.
  if (!gate.tryTake() && !(await gate.take(controller.signal))) {
    sending.delete(controller);
    return undefined;
  }
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new Error(`no answer within ${Math.round(limitMs / 1000)}s`));
  }, limitMs);
  try {
    const result = items.length === 1 || !channel.sendGroup ? await channel.send(items[0]!, { signal: controller.signal }) : await channel.sendGroup(items, { signal: controller.signal });
    gate.hold(result.ok ? (result.holdMs ?? 0) : (result.retryAfterMs ?? 0));
    if (!result.ok && timedOut) return transient(`no answer within ${limitMs >= 1000 ? `${Math.round(limitMs / 1000)}s` : `${limitMs}ms`} (send cancelled)`);
    return result;
  } catch (err) {
    return transient(`channel threw: ${(err as Error).message}`);
  } finally {
    clearTimeout(timer);
    sending.delete(controller);
  }
}
