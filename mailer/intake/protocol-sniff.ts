/**
 * One port, two protocols: an HTTP request starts with a method and a space;
 * anything else is the book's raw text ("To: ..."). Decides from the first
 * bytes, asking for more only while they could still begin a method.
 */
export type Sniffed = 'http' | 'raw' | 'more';

const METHODS = ['GET ', 'POST ', 'PUT ', 'HEAD ', 'DELETE ', 'OPTIONS ', 'PATCH '].map((m) => Buffer.from(m, 'latin1'));

export function sniffProtocol(head: Buffer): Sniffed {
  let couldBe = false;
  for (const method of METHODS) {
    const n = Math.min(head.length, method.length);
    if (head.subarray(0, n).equals(method.subarray(0, n))) {
      if (head.length >= method.length) return 'http';
      couldBe = true;
    }
  }
  return couldBe ? 'more' : 'raw';
}
