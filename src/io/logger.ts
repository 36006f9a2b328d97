// The broker's logger: pino JSON lines by default, pino-pretty for people (--log-format pretty).
// pino-pretty runs as an in-process stream rather than a worker-thread transport, so lines are
// written synchronously: nothing is lost on a crash or exit, and tests can read what was logged.
import { pino, type Logger as PinoLogger } from "pino";
import { PinoPretty } from "pino-pretty";
import type { LogEvent, LogLevel } from "../core/outputs.js";

/** The logger type used across src/io/ (child loggers carry bindings such as component, stream). */
export type Logger = PinoLogger;

/** How to build a logger. */
export interface LoggerOptions {
  readonly level: LogLevel;
  readonly format: "json" | "pretty";
  /** Bound as `name` on every line. */
  readonly name?: string;
  /** Where lines go; stdout when omitted. */
  readonly destination?: NodeJS.WritableStream;
}

/** Field values a log line may carry after bigints are made JSON-safe. */
type JsonSafe = string | number | boolean | null | undefined | object;

/** Bigints (nanosecond timestamps) become decimal strings: JSON numbers would lose precision past 2^53. */
function bigintsToStrings(fields: Record<string, unknown>): Record<string, JsonSafe> {
  const out: Record<string, JsonSafe> = {};
  for (const [k, v] of Object.entries(fields)) out[k] = typeof v === "bigint" ? v.toString() : (v as JsonSafe);
  return out;
}

/** Creates a synchronous pino logger writing JSON lines or human-readable lines. */
export function createLogger(options: LoggerOptions): Logger {
  const settings = {
    level: options.level,
    ...(options.name === undefined ? {} : { name: options.name }),
    timestamp: pino.stdTimeFunctions.isoTime,
    // Level names ("info"), not pino's numbers, so operators can grep and filter without a table.
    formatters: { level: (label: string) => ({ level: label }), log: bigintsToStrings },
  };
  if (options.format === "pretty") {
    const stream = PinoPretty({
      destination: options.destination ?? 1,
      sync: true,
      colorize: options.destination === undefined && process.stdout.isTTY,
      translateTime: "SYS:HH:MM:ss.l",
      ignore: "pid,hostname",
    });
    return pino(settings, stream);
  }
  const destination = options.destination ?? pino.destination({ dest: 1, sync: true });
  return pino(settings, destination);
}

/** Renders core LogEvents through `logger`, converting bigint fields to decimal strings. */
export function logCoreEvents(logger: Logger, events: readonly LogEvent[]): void {
  for (const event of events) {
    if (!logger.isLevelEnabled(event.level)) continue;
    if (event.fields === undefined) logger[event.level](event.msg);
    else logger[event.level](bigintsToStrings(event.fields), event.msg);
  }
}
