// A child process holding many Subscribe calls that never read (issue 10's memory test): raw
// HTTP/2 streams, spread over several connections, whose data is never consumed, so the client's
// flow-control windows fill and the broker must hold, cap or end what it wants to send.
// Usage: node idle-subscribers.js <host:port> <stream> <count> <connections> <startPosition>
// Prints "opened <n>" once every call has its response headers, then "ended <n> <code>" lines as
// calls end; exits when stdin closes.
import { connect, constants, type ClientHttp2Session } from "node:http2";

/** A gRPC-framed SubscribeRequest{stream, partition: 0, startPosition}. */
function subscribeFrame(stream: string, startPosition: number): Buffer {
  const name = Buffer.from(stream, "utf8");
  const body = Buffer.concat([Buffer.from([0x0a, name.length]), name, Buffer.from([0x18, startPosition])]);
  const header = Buffer.alloc(5);
  header.writeUInt32BE(body.length, 1);
  return Buffer.concat([header, body]);
}

function main(): void {
  const [address, stream, countArg, connectionsArg, startArg] = process.argv.slice(2);
  const count = Number(countArg);
  const sessions: ClientHttp2Session[] = [];
  for (let i = 0; i < Number(connectionsArg); i++) {
    const s = connect(`http://${address}`, { settings: { enablePush: false } });
    s.on("error", () => undefined);
    sessions.push(s);
  }
  const frame = subscribeFrame(stream!, Number(startArg));
  let opened = 0;
  const ended = new Map<string, number>();
  for (let i = 0; i < count; i++) {
    const req = sessions[i % sessions.length]!.request({
      [constants.HTTP2_HEADER_METHOD]: "POST", [constants.HTTP2_HEADER_PATH]: "/proto.API/Subscribe",
      "content-type": "application/grpc", te: "trailers",
    });
    req.on("error", () => undefined);
    req.once("response", () => {
      if (++opened === count) process.stdout.write(`opened ${opened}\n`);
    });
    req.on("close", () => {
      const key = `rst=${req.rstCode}`;
      ended.set(key, (ended.get(key) ?? 0) + 1);
      process.stdout.write(`ended ${[...ended].map(([k, n]) => `${k}x${n}`).join(",")}\n`);
    });
    req.end(frame);
    req.pause(); // never read: no data listener, no window updates
  }
  process.stdin.resume();
  process.stdin.on("end", () => process.exit(0));
}

main();
