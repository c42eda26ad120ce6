/**
 * Several mailers on one store (Postgres): another mailer's hub rows, as the
 * store read them after its notice (model.ts HubChanges), applied to this
 * mailer's hub, so that any mailer's page and API show what any of them
 * heard. Its agents into the registry and their views into the board (so
 * this mailer's ledger counts them too: --quorum over every agent, whichever
 * mailer it reports to); its incidents into the book (open, or let go when
 * closed there), the ledger reading them again; its targets' rows as it
 * decided them; its buckets as the store sums them over every mailer. Nothing
 * applied is written back (no echo between mailers), and each change is told
 * to the page's listeners like this mailer's own.
 *
 * A full read (the listener connected again) forgets nothing: an agent or
 * target this mailer just took may not be committed yet; closed incidents
 * come as rows (the store reads those closed lately).
 */
import type { AgentRecord, AgentRegistry } from './agents.ts';
import type { IncidentBook, IncidentChange } from './incident-book.ts';
import type { IncidentLedger } from './ledger.ts';
import { type HubChanges, PACKED_WIDTH } from './model.ts';
import type { TargetBoard, TargetEntry } from './target-board.ts';

export interface SyncedParts {
  registry: AgentRegistry;
  targets: TargetBoard;
  incidents: IncidentBook;
  ledger: IncidentLedger;
}

/** What the hub tells its listeners of each change applied. */
export interface SyncedTell {
  agent(record: AgentRecord): void;
  incident(change: IncidentChange): void;
  target(e: TargetEntry): void;
  figures(targets: string[]): void;
}

/** Returns the targets whose views were taken (the ledger looks at them again: a quorum reached across mailers). */
export function applyHubChanges(p: SyncedParts, c: HubChanges, tell: SyncedTell): Set<string> {
  const viewed = new Set<string>();
  for (const row of c.agents) {
    const before = [...(p.registry.get(row.name)?.targets.keys() ?? [])];
    const record = p.registry.adopt(row);
    if (!record) continue;
    for (const name of p.targets.adoptViews(row, before)) viewed.add(name);
    tell.agent(record);
  }
  if (!c.full) {
    for (const name of c.goneAgents) {
      const before = [...(p.registry.get(name)?.targets.keys() ?? [])];
      if (p.registry.forget(name)) p.targets.adoptViews({ name, instance: '', lastReportAt: 0, state: 'stopped', targets: [] }, before);
    }
    for (const name of c.goneTargets) {
      p.ledger.forget(name);
      p.targets.forgotElsewhere(name);
    }
  }
  for (const row of c.incidents) {
    const change = p.incidents.adopt(row);
    if (!change) continue;
    p.ledger.forget(row.target); // read again from the book when next asked
    tell.incident(change);
  }
  for (const row of c.targets) {
    const e = p.targets.adoptRow(row);
    if (e) tell.target(e);
  }
  const { names, rows } = c.buckets;
  const touched = new Set<string>();
  for (let o = 0; o + PACKED_WIDTH <= rows.length; o += PACKED_WIDTH) {
    const name = names[rows[o]!]!;
    const e = p.targets.get(name);
    if (!e) continue;
    e.rollup.replace(rows, o);
    touched.add(name);
  }
  if (touched.size > 0) tell.figures([...touched]);
  return viewed;
}

/** A target's event for the page (GET /api/v1/events `target`). */
export function targetEventData(e: TargetEntry): { name: string; state: string; since: string | null; agents: Array<{ name: string; state: string }> } {
  return { name: e.name, state: e.state, since: e.since === null ? null : new Date(e.since).toISOString(), agents: [...e.agents].map(([name, v]) => ({ name, state: v.state })) };
}
