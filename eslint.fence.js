// The purity fence: what src/core/ and sim/ may not touch. Kept apart from eslint.config.js so
// that test/fence.test.js can lint fixtures against exactly these rules.

const TIME = "time comes in as an Input (nowMs / wallNs); the driver owns the clock";
const TIMER = "timers are named deadlines: return them from nextDeadline(), never arm one";
const RANDOM = "randomness is injected: call random.int(label, n) on the Random you were given";
const IO = "IO leaves the core as an Output (DiskOp, Send) and comes back as an Input";

const timeGlobals = [
  { name: "Date", message: TIME },
  { name: "performance", message: TIME },
  { name: "setTimeout", message: TIMER },
  { name: "setInterval", message: TIMER },
  { name: "setImmediate", message: TIMER },
  { name: "clearTimeout", message: TIMER },
  { name: "clearInterval", message: TIMER },
  { name: "clearImmediate", message: TIMER },
  { name: "queueMicrotask", message: TIMER },
];

const coreGlobals = [
  ...timeGlobals,
  { name: "process", message: "the core sees no process: configuration and signals are Inputs" },
  { name: "crypto", message: RANDOM },
  { name: "Buffer", message: "the core uses Uint8Array and DataView, never Buffer" },
  { name: "fetch", message: IO },
  { name: "console", message: "log by returning LogEvent outputs; the shell renders them" },
  { name: "require", message: "the core is ESM and imports only src/core/" },
  { name: "WeakRef", message: "GC timing is not deterministic" },
  { name: "FinalizationRegistry", message: "GC timing is not deterministic" },
  { name: "Intl", message: "locale-dependent output is not deterministic" },
  { name: "globalThis", message: "no ambient globals in the core: everything is injected" },
];

const randomProperty = { object: "Math", property: "random", message: RANDOM };

const coreSyntax = [
  { selector: "AwaitExpression", message: "the core is synchronous: return Outputs, never await" },
  { selector: ":function[async=true]", message: "the core is synchronous: step(input) returns Outputs, no async" },
  { selector: "ForOfStatement[await=true]", message: "the core is synchronous: no for await" },
  { selector: "ImportExpression", message: "the core imports only src/core/, statically" },
  { selector: "NewExpression[callee.name='Promise']", message: "the core is synchronous: no Promise" },
];

const coreImports = {
  patterns: [
    {
      regex: "^(node:.*|fs|fs/.*|net|dgram|https?|http2|child_process|worker_threads|timers|timers/.*|os|crypto|perf_hooks|events|stream|stream/.*|path|url|util|zlib|tls|dns|cluster|readline|v8|vm|process|buffer|assert|assert/.*)$",
      message: IO,
    },
    {
      regex: "^(nats|@grpc/.*|pino|pino-.*|seedrandom|protobufjs|protobufjs/.*|yaml|commander|hdr-histogram-js|fast-check)$",
      message: "the core imports no npm packages: codecs and clients live in src/io/",
    },
    {
      regex: "(^|/)(io|sim|jepsen-like|bench|test)(/|$)",
      message: "src/core/ imports only src/core/: src/io, sim and jepsen-like depend on it, not the reverse",
    },
  ],
};

/** Rules for every file under src/core/: pure, synchronous, deterministic. */
export const coreFence = {
  name: "liftbridge/core-fence",
  files: ["src/core/**/*.ts"],
  rules: {
    "no-restricted-globals": ["error", ...coreGlobals],
    "no-restricted-properties": ["error", randomProperty],
    "no-restricted-syntax": ["error", ...coreSyntax],
    "no-restricted-imports": ["error", coreImports],
  },
};

/** Rules for sim/: deterministic in virtual time; only sim/main.ts may read the wall clock. */
export const simFence = {
  name: "liftbridge/sim-fence",
  files: ["sim/**/*.ts"],
  ignores: ["sim/main.ts"],
  rules: {
    "no-restricted-globals": ["error", ...timeGlobals],
    "no-restricted-properties": [
      "error",
      randomProperty,
      { object: "process", property: "hrtime", message: TIME },
      { object: "crypto", property: "randomUUID", message: RANDOM },
      { object: "crypto", property: "getRandomValues", message: RANDOM },
    ],
    "no-restricted-syntax": [
      "error",
      {
        selector: "CallExpression[callee.name='seedrandom'][arguments.length=0]",
        message: "every PRNG in sim/ derives from the run seed: pass seedrandom a seed",
      },
      {
        selector: "Property[key.name='global'][value.value=true]",
        message: "never install a global PRNG (seedrandom {global:true} replaces Math.random)",
      },
    ],
    "no-restricted-imports": [
      "error",
      {
        patterns: [
          { regex: "^(node:)?(timers|timers/.*|perf_hooks|crypto|net|dgram|child_process|worker_threads)$", message: "the simulator runs in virtual time with simulated IO" },
          { regex: "^(nats|@grpc/.*|pino)$", message: "the simulator uses simulated NATS and no real network" },
        ],
      },
    ],
  },
};
