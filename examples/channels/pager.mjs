// @ts-check
/**
 * An example ch2 mailer channel module (the contract: types/ch2-channel.d.ts,
 * in the image /app/ch2-channel.d.ts): each alert POSTed as JSON to a pager
 * service's URL, with `Authorization: Bearer <token>` and `Idempotency-Key`.
 *
 *   docker run -v "$PWD/pager.mjs:/etc/ch2/pager.mjs:ro" \
 *     -e CH2_PAGER_URL=https://pager.example/v1/events -e CH2_PAGER_TOKEN=… \
 *     ch2/mailer --channel-module /etc/ch2/pager.mjs
 *
 * Settings: url (required), token (a secret: never in the log), severity
 * (default critical). The body:
 *   { "event": "trigger" | "resolve", "key": <incident, else target, else alert id>,
 *     "severity", "summary", "alert": <the alert as the mailer gives it> }
 * 2xx: sent; 408, 429 and 5xx: retried (Retry-After honoured); other
 * statuses: dead-lettered. Error text names the service by scheme and host,
 * never the URL's path or the token.
 */

/**
 * Retry-After as ms: seconds or an HTTP date; undefined when absent or unreadable.
 * @param {string | null} value
 */
function retryAfterMs(value) {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/** @type {import('../../types/ch2-channel.d.ts').ChannelModule} */
export default {
  kind: 'pager',
  secrets: ['token'],
  concurrency: 4,
  create(settings, { name, log }) {
    if (!settings.url) throw new Error('url: required (env CH2_PAGER_URL, or --channel-setting pager.url=…)');
    /** @type {URL} */
    let url;
    try {
      url = new URL(settings.url);
    } catch {
      throw new Error('url: not a URL (the value is not shown)');
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('url: expected an http:// or https:// URL');
    const origin = url.origin;
    const severity = settings.severity ?? 'critical';
    if (!['critical', 'error', 'warning', 'info'].includes(severity)) throw new Error('severity: expected critical, error, warning or info');
    /** @type {Record<string, string>} */
    const headers = { 'content-type': 'application/json' };
    if (settings.token) headers.authorization = `Bearer ${settings.token}`;
    log.info(`posting alerts to ${origin}`);

    return {
      async send(alert, { signal }) {
        const body = {
          event: alert.status === 'up' ? 'resolve' : 'trigger',
          key: alert.incident ?? alert.target ?? alert.id,
          severity,
          summary: `${alert.status === 'up' ? '[UP]' : '[DOWN]'} ${alert.target ? `${alert.target} — ` : ''}${alert.message}`,
          alert,
        };
        let res;
        try {
          res = await fetch(url, { method: 'POST', headers: { ...headers, 'idempotency-key': alert.id }, body: JSON.stringify(body), signal, redirect: 'error' });
        } catch (err) {
          const cause = /** @type {{ cause?: { code?: string } }} */ (err).cause;
          return { ok: false, retry: true, error: `${origin}: ${signal.aborted ? 'cancelled' : (cause?.code ?? 'request failed')}` };
        }
        await res.body?.cancel();
        if (res.ok) return { ok: true };
        const retry = res.status === 408 || res.status === 429 || res.status >= 500;
        const after = retry ? retryAfterMs(res.headers.get('retry-after')) : undefined;
        return { ok: false, retry, error: `${origin} answered HTTP ${res.status}`, ...(after === undefined ? {} : { retryAfterMs: after }) };
      },
      close() {
        log.debug(`${name} closed`);
      },
    };
  },
};
