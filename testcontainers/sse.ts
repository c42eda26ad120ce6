/**
 * A Server-Sent Events reader: feed it the stream's text as it comes; it calls
 * back once per complete event (a block ended by a blank line) with the event's
 * type and its data line. The one SSE parser of ch2/testcontainers'
 * AlertStream and of the hub's event-stream tests (test/process/alert-events).
 */
export type SseListener = (type: string, data: string | undefined) => void;

/** A function that takes each chunk (utf8 text) and calls onEvent for every event it completes. */
export function sseReader(onEvent: SseListener): (chunk: string) => void {
  let buffer = '';
  return (chunk) => {
    buffer += chunk;
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const type = /^event: (.+)$/m.exec(block)?.[1];
      if (type !== undefined) onEvent(type, /^data: (.+)$/m.exec(block)?.[1]);
    }
  };
}
