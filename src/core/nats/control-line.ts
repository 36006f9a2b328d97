// NATS's control-line limit for client strings that become protocol lines. nats-server refuses a
// line whose arguments exceed max_control_line (4096 bytes by default) with "-ERR 'Maximum Control
// Line Exceeded'" and closes the connection, so one oversize subject in the broker's own SUB or
// PUB would cost every client the broker's connection. Lengths are UTF-8 bytes, as on the wire.

/** nats-server's default max_control_line (MAX_CONTROL_LINE_SIZE), in bytes. */
export const DEFAULT_MAX_CONTROL_LINE = 4096;

/** Digits kept free for a subscription id or a size in a control line (a 64-bit decimal has 20). */
const NUMBER_RESERVE = 20;
const CRLF_BYTES = 2;

/** The UTF-8 length of `s` in bytes (lone surrogates count 3, as TextEncoder writes U+FFFD). */
export function utf8ByteLength(s: string): number {
  let bytes = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/** The worst-case length of `SUB <subject> [<queue>] <sid>\r\n` (the line a subscription needs). */
export function subscribeLineBytes(subject: string, queue: string): number {
  const queueBytes = queue.length === 0 ? 0 : utf8ByteLength(queue) + 1;
  return "SUB ".length + utf8ByteLength(subject) + queueBytes + 1 + NUMBER_RESERVE + CRLF_BYTES;
}

/**
 * Why a subscription to `subject` (in queue group `queue`, "" for none) would not fit NATS's
 * control line, or undefined when it fits. `what` names the string in the message.
 */
export function subscribeLineProblem(what: string, subject: string, queue: string, maxControlLine: number): string | undefined {
  // Fast path for the common case (every UTF-16 unit is at most 3 UTF-8 bytes).
  if ((subject.length + queue.length) * 3 + 64 <= maxControlLine) return undefined;
  const bytes = subscribeLineBytes(subject, queue);
  if (bytes <= maxControlLine) return undefined;
  const shape = queue.length > 0 ? "SUB <subject> <group> <sid>" : "SUB <subject> <sid>";
  return `${what} is ${utf8ByteLength(subject)} bytes: the NATS control line it needs (${shape}) would be up to ` +
    `${bytes} bytes, more than NATS's max_control_line of ${maxControlLine}`;
}

/**
 * True when `subject` fits a SUB or PUB control line, checked on every ack the broker sends: a
 * length check unless the subject is near the limit.
 */
export function fitsControlLine(subject: string, maxControlLine: number): boolean {
  if (subject.length * 3 + 64 <= maxControlLine) return true;
  return subscribeLineBytes(subject, "") <= maxControlLine;
}
