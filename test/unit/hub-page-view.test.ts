/**
 * The status page's view of the targets (mailer/hub/hub-view.ts status()):
 * every target listed, down first then by name, as the header counts and the
 * pager need them; but a target's figures (uptimes, response times, silence)
 * are made only for the rows the page renders, so a page of 50 costs 50
 * targets' figures, not all of them (the bench, `npm run bench -- hub`, times it).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StatusHub } from '../../mailer/hub/hub.ts';
import { StatusViews } from '../../mailer/hub/hub-view.ts';
import type { HubStorage } from '../../mailer/hub/model.ts';
import { renderStatusPage } from '../../mailer/hub/page/render-page.ts';

const TARGETS = 1000;
let figures = 0;
let silenceLookups = 0;
const entry = (i: number) => ({
  name: `http://web-${String(i).padStart(4, '0')}/`,
  state: i % 100 === 7 ? 'down' : 'up',
  since: 1_000,
  agents: new Map([['agent-a', { state: i % 100 === 7 ? 'down' : 'up' }]]),
  lastFailure: null,
  staleWhy: null,
  rollup: {
    uptime: () => ((figures += 1), 1),
    latency24h: () => [],
    daily: () => [],
    hourly: () => [],
  },
});
const entries = Array.from({ length: TARGETS }, (_, i) => entry(TARGETS - 1 - i));
const hub = {
  targets: { all: () => entries[Symbol.iterator](), get: (name: string) => entries.find((e) => e.name === name) },
  silences: { list: () => [], matching: () => ((silenceLookups += 1), undefined) },
  registry: { list: () => [] },
} as unknown as StatusHub;
const store = { incidents: async () => [], list: async () => ({ alerts: [] }) } as unknown as HubStorage;

test('the page view lists every target, down first, and makes the figures of only the 50 rows it shows', async () => {
  const views = new StatusViews(hub, store, () => 2_000);
  figures = 0;
  silenceLookups = 0;
  const view = await views.status('all');
  assert.equal(view.targets.length, TARGETS);
  assert.deepEqual(view.targets.slice(0, 3).map((t) => [t.name, t.state]), [['http://web-0007/', 'down'], ['http://web-0107/', 'down'], ['http://web-0207/', 'down']]);
  assert.equal(view.targets[10]!.name, 'http://web-0000/', 'then the up ones, by name');
  const page = renderStatusPage(view, { filter: '', page: 1, perPage: 50, scriptPath: '/s.js', now: 2_000 });
  assert.match(page, /<strong data-count="down">10<\/strong> down/);
  assert.match(page, /Targets 1–50 of 1000, down first\./);
  assert.equal(figures, 50 * 4, 'four uptimes for each of the 50 rows shown, none for the others');
  assert.equal(silenceLookups, 50);
  assert.equal(view.targets[0]!.uptime['24h'], 1, 'a row read twice: its figures made once');
  assert.equal(figures, 50 * 4);
});

test('the API and a target\'s own view still carry every figure as own fields (JSON)', async () => {
  const views = new StatusViews(hub, store, () => 2_000);
  const api = JSON.parse(JSON.stringify(await views.apiStatus('all'))) as { targets: Array<Record<string, unknown>> };
  assert.equal(api.targets.length, TARGETS);
  assert.deepEqual(Object.keys(api.targets[0]!).sort(), ['agents', 'name', 'responseMs', 'silenced', 'since', 'state', 'uptime']);
});
