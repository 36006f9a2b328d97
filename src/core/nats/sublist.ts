// A token trie of subscriptions, shaped like nats-server's sublist: each level maps literal
// tokens to nodes and has at most one `*` node and one `>` node, so a match walks only the
// branches a subject can reach instead of testing every subscription.
import { err, ok, type Result } from "../errors.js";
import type { Random } from "../random.js";
import { FULL_WILDCARD, PARTIAL_WILDCARD, isValidQueueGroup, subjectProblem, tokenizeSubject } from "./subject.js";

/** One subscription: a unique key (e.g. connection id and sid), a filter, an optional queue group. */
export interface SublistEntry<T> {
  /** Unique among the entries of one Sublist (the server uses `${clientId} ${sid}`). */
  readonly key: string;
  /** The subscription subject; may contain `*` and a final `>`. */
  readonly subject: string;
  /** The queue group; one member per group receives each message. */
  readonly queue?: string | undefined;
  /** What `match` returns for this subscription. */
  readonly value: T;
}

interface Level<T> {
  readonly literals: Map<string, Node<T>>;
  partial: Node<T> | undefined;
  full: Node<T> | undefined;
}

interface Node<T> {
  readonly next: Level<T>;
  readonly plain: Map<string, T>;
  readonly queues: Map<string, Map<string, T>>;
}

/** The subscriptions a subject reaches before queue members are picked (cached per subject). */
interface MatchSet<T> {
  readonly plain: T[];
  readonly groups: Map<string, T[]>;
}

/** Above this many cached subjects the cache starts over, so a stream of unique subjects stays bounded. */
const CACHE_MAX_SUBJECTS = 4096;

function newLevel<T>(): Level<T> {
  return { literals: new Map(), partial: undefined, full: undefined };
}

function newNode<T>(): Node<T> {
  return { next: newLevel(), plain: new Map(), queues: new Map() };
}

function isEmptyNode<T>(node: Node<T>): boolean {
  const next = node.next;
  return node.plain.size === 0 && node.queues.size === 0 && next.literals.size === 0 &&
    next.partial === undefined && next.full === undefined;
}

function childOf<T>(level: Level<T>, token: string): Node<T> | undefined {
  if (token === PARTIAL_WILDCARD) return level.partial;
  if (token === FULL_WILDCARD) return level.full;
  return level.literals.get(token);
}

function setChild<T>(level: Level<T>, token: string, node: Node<T> | undefined): void {
  if (token === PARTIAL_WILDCARD) level.partial = node;
  else if (token === FULL_WILDCARD) level.full = node;
  else if (node === undefined) level.literals.delete(token);
  else level.literals.set(token, node);
}

/**
 * The subscriptions of a NATS server (or of the simulator's NATS), matched against literal
 * subjects: every plain subscriber plus exactly one member of each queue group.
 */
export class Sublist<T> {
  private readonly root: Level<T> = newLevel();
  private readonly entries = new Map<string, SublistEntry<T>>();
  private readonly cache = new Map<string, MatchSet<T>>();

  /** The number of subscriptions. */
  get size(): number {
    return this.entries.size;
  }

  /** Adds a subscription; an invalid subject or queue, or a key already present, is an error. */
  insert(entry: SublistEntry<T>): Result<void> {
    const problem = subjectProblem(entry.subject, "subscribe");
    if (problem !== undefined) return err("InvalidArgument", problem);
    if (entry.queue !== undefined && !isValidQueueGroup(entry.queue)) {
      return err("InvalidArgument", `queue group ${JSON.stringify(entry.queue)} is not valid`);
    }
    if (this.entries.has(entry.key)) return err("InvalidArgument", `subscription key ${entry.key} already exists`);
    let level = this.root;
    let node: Node<T> | undefined;
    for (const token of tokenizeSubject(entry.subject)) {
      node = childOf(level, token);
      if (node === undefined) {
        node = newNode();
        setChild(level, token, node);
      }
      level = node.next;
    }
    if (node === undefined) return err("InvalidArgument", "subject is empty");
    if (entry.queue === undefined) {
      node.plain.set(entry.key, entry.value);
    } else {
      let group = node.queues.get(entry.queue);
      if (group === undefined) node.queues.set(entry.queue, (group = new Map<string, T>()));
      group.set(entry.key, entry.value);
    }
    this.entries.set(entry.key, entry);
    this.cache.clear();
    return ok(undefined);
  }

  /** Removes the subscription with `key`; returns false when there is none. */
  remove(key: string): boolean {
    const entry = this.entries.get(key);
    if (entry === undefined) return false;
    this.entries.delete(key);
    this.cache.clear();
    this.removeFrom(this.root, tokenizeSubject(entry.subject), 0, entry);
    return true;
  }

  /** The subscription with `key`, if any. */
  get(key: string): SublistEntry<T> | undefined {
    return this.entries.get(key);
  }

  /** Every plain subscriber of `subject` plus one member per queue group, picked with `random`. */
  match(subject: string, random: Random): T[] {
    const set = this.matchSet(subject);
    if (set.groups.size === 0) return set.plain.slice();
    const result = set.plain.slice();
    for (const members of set.groups.values()) {
      const pick = members.length === 1 ? 0 : random.int("natsQueuePick", members.length);
      const member = members[pick];
      if (member !== undefined) result.push(member);
    }
    return result;
  }

  /** True when `match(subject)` would return at least one subscriber (draws no randomness). */
  hasInterest(subject: string): boolean {
    const set = this.matchSet(subject);
    return set.plain.length > 0 || set.groups.size > 0;
  }

  // Walks down the entry's path and prunes nodes left empty on the way back up.
  private removeFrom(level: Level<T>, tokens: string[], i: number, entry: SublistEntry<T>): void {
    const token = tokens[i];
    if (token === undefined) return;
    const node = childOf(level, token);
    if (node === undefined) return;
    if (i === tokens.length - 1) {
      if (entry.queue === undefined) {
        node.plain.delete(entry.key);
      } else {
        const group = node.queues.get(entry.queue);
        group?.delete(entry.key);
        if (group?.size === 0) node.queues.delete(entry.queue);
      }
    } else {
      this.removeFrom(node.next, tokens, i + 1, entry);
    }
    if (isEmptyNode(node)) setChild(level, token, undefined);
  }

  private matchSet(subject: string): MatchSet<T> {
    const cached = this.cache.get(subject);
    if (cached !== undefined) return cached;
    const set: MatchSet<T> = { plain: [], groups: new Map() };
    const tokens = tokenizeSubject(subject);
    if (tokens.every((t) => t.length > 0)) collect(this.root, tokens, 0, set);
    if (this.cache.size >= CACHE_MAX_SUBJECTS) this.cache.clear();
    this.cache.set(subject, set);
    return set;
  }
}

function addNode<T>(node: Node<T>, set: MatchSet<T>): void {
  for (const value of node.plain.values()) set.plain.push(value);
  for (const [queue, members] of node.queues) {
    let group = set.groups.get(queue);
    if (group === undefined) set.groups.set(queue, (group = []));
    for (const value of members.values()) group.push(value);
  }
}

function collect<T>(level: Level<T>, tokens: string[], i: number, set: MatchSet<T>): void {
  const last = i === tokens.length - 1;
  if (level.full !== undefined) addNode(level.full, set);
  if (level.partial !== undefined) {
    if (last) addNode(level.partial, set);
    else collect(level.partial.next, tokens, i + 1, set);
  }
  const literal = level.literals.get(tokens[i] ?? "");
  if (literal !== undefined) {
    if (last) addNode(literal, set);
    else collect(literal.next, tokens, i + 1, set);
  }
}
