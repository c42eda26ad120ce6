/**
 * PID 1 in a container gets no default signal handling: without handlers,
 * `docker stop` waits 10 s and kills. Both programs stop on SIGTERM and SIGINT
 * within `graceMs`, whatever `close` is still doing.
 */
export function exitOnSignals(close: (signal: NodeJS.Signals) => Promise<void>, graceMs = 500): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals): void => {
    if (stopping) process.exit(130);
    stopping = true;
    setTimeout(() => process.exit(0), graceMs).unref();
    close(signal).then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}
