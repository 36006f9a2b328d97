// What a driver does with replies that waited for a persist that failed: the client must not be
// told "done" (the change may not be durable) nor left waiting; it gets an error whose outcome is
// unknown, like a timeout, and may retry.
import { isOutOfResources, type DiskError } from "../disk.js";
import type { OperatingError } from "../errors.js";
import type { BrokerEffect } from "./api-types.js";

/** Turns the replies held behind a failed persist into errors; other effects pass unchanged. */
export function failHeldReplies(effects: readonly BrokerEffect[], failure: DiskError): BrokerEffect[] {
  // A full disk (or no descriptors) is refused work the client may retry later; EIO is a failed disk.
  const code = isOutOfResources(failure) ? "DiskFull" : "DiskFailed";
  const error: OperatingError = { code, message: `disk write failed, outcome unknown: ${failure.message}` };
  return effects.map((e): BrokerEffect => {
    if (e.kind === "apiResponse") return { ...e, result: { ok: false, error } };
    if (e.kind === "subscribed") return { ...e, result: { ok: false, error } };
    return e;
  });
}
