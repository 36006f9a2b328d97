// NATS subject rules, as nats-server applies them: a subject is `.`-separated tokens; `*` (one
// token) and `>` (one or more trailing tokens) are wildcards only when they are a whole token.

/** The token separator of NATS subjects. */
export const SUBJECT_SEPARATOR = ".";
/** The single-token wildcard. */
export const PARTIAL_WILDCARD = "*";
/** The trailing, one-or-more-tokens wildcard. */
export const FULL_WILDCARD = ">";

// nats-server rejects exactly these whitespace bytes inside subjects.
const WHITESPACE = /[ \t\n\r\f]/;

/** Splits a subject into its tokens (no validation). */
export function tokenizeSubject(subject: string): string[] {
  return subject.split(SUBJECT_SEPARATOR);
}

/**
 * True for a valid subscription subject (and Liftbridge stream subject): non-empty, no
 * whitespace, no empty tokens, and `>` only as the last token.
 */
export function isValidSubject(subject: string): boolean {
  if (subject.length === 0 || WHITESPACE.test(subject)) return false;
  const tokens = tokenizeSubject(subject);
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    if (token === undefined || token.length === 0) return false;
    if (token === FULL_WILDCARD && i !== tokens.length - 1) return false;
  }
  return true;
}

const DOT = 0x2e;
const STAR = 0x2a;
const GT = 0x3e;

/**
 * True for a valid publish subject: a valid subject without wildcard tokens. One pass over the
 * characters, no allocation: it guards every ack inbox a client names, once per message.
 */
export function isValidPublishSubject(subject: string): boolean {
  const n = subject.length;
  if (n === 0) return false;
  let tokenStart = 0;
  for (let i = 0; i <= n; i++) {
    const c = i === n ? DOT : subject.charCodeAt(i);
    // The WHITESPACE set: space, \t, \n, \r, \f.
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x0c) return false;
    if (c !== DOT) continue;
    if (i === tokenStart) return false; // an empty token
    if (i === tokenStart + 1) {
      const only = subject.charCodeAt(tokenStart);
      if (only === STAR || only === GT) return false;
    }
    tokenStart = i + 1;
  }
  return true;
}

/** True when some token of `subject` is a wildcard (`*` or `>`). */
export function hasWildcard(subject: string): boolean {
  for (const token of tokenizeSubject(subject)) {
    if (token === PARTIAL_WILDCARD || token === FULL_WILDCARD) return true;
  }
  return false;
}

/** True for a valid queue group name: non-empty and without whitespace. */
export function isValidQueueGroup(queue: string): boolean {
  return queue.length > 0 && !WHITESPACE.test(queue);
}

/**
 * Why `subject` is not a valid subject of the given kind, or undefined when it is valid; the
 * message names the subject so it can go straight into an InvalidArgument error.
 */
export function subjectProblem(subject: string, kind: "publish" | "subscribe"): string | undefined {
  if (subject.length === 0) return "subject is empty";
  if (WHITESPACE.test(subject)) return `subject ${JSON.stringify(subject)} contains whitespace`;
  const tokens = tokenizeSubject(subject);
  if (tokens.some((t) => t.length === 0)) return `subject ${JSON.stringify(subject)} has an empty token`;
  if (kind === "publish" && hasWildcard(subject)) {
    return `publish subject ${JSON.stringify(subject)} contains a wildcard`;
  }
  if (!isValidSubject(subject)) return `subject ${JSON.stringify(subject)} has '>' before its last token`;
  return undefined;
}

/**
 * True when the literal `subject` is matched by the subscription `filter` (both assumed valid;
 * an invalid pair simply does not match).
 */
export function subjectMatches(filter: string, subject: string): boolean {
  const f = tokenizeSubject(filter);
  const s = tokenizeSubject(subject);
  for (let i = 0; i < f.length; i++) {
    const ft = f[i];
    if (ft === FULL_WILDCARD) return i === f.length - 1 && s.length > i;
    const st = s[i];
    if (st === undefined) return false;
    if (ft !== PARTIAL_WILDCARD && ft !== st) return false;
  }
  return f.length === s.length;
}
