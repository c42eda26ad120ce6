/**
 * The store as the dispatcher sees it (Outbox), with the hub told of each
 * channel's progress: the store records it (and keeps it with the alert's
 * incident, hub_deliveries); the hub tells the page which incident changed.
 * Changes are gathered and told at most every TELL_EVERY_MS, one event per
 * incident, so a storm of deliveries is a handful of page updates.
 */
import { incidentKey } from '../queued-alert.ts';
import type { Outbox } from '../store/outbox.ts';

const TELL_EVERY_MS = 250;

export function watchedOutbox(outbox: Outbox, tell: (incident: string) => void): Outbox {
  const changed = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  const note = (id: string): void => {
    const record = outbox.get(id);
    if (!record) return;
    changed.add(incidentKey(record.item));
    timer ??= setTimeout(() => {
      timer = undefined;
      const incidents = [...changed];
      changed.clear();
      for (const incident of incidents) tell(incident);
    }, TELL_EVERY_MS).unref();
  };
  return {
    attempted(id, channel, error) {
      note(id);
      outbox.attempted(id, channel, error);
    },
    settle(id, channel, state, error, attempted, urgent) {
      note(id); // before: a settled alert leaves the working set
      outbox.settle(id, channel, state, error, attempted, urgent);
    },
    hold(id, channel, why) {
      note(id);
      outbox.hold(id, channel, why);
    },
    get: (id) => outbox.get(id),
    unfinished: () => outbox.unfinished(),
  };
}
