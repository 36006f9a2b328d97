// Calls into the BrokerService from gRPC handlers: a synchronous throw becomes a rejected promise,
// so every failure reaches the same INTERNAL status path instead of escaping into grpc-js.

/** Runs `f`, turning a synchronous throw into a rejection. */
export function attempt<T>(f: () => Promise<T>): Promise<T> {
  try {
    return f();
  } catch (e) {
    return Promise.reject(e instanceof Error ? e : new Error(String(e)));
  }
}

/** The message of anything thrown. */
export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
