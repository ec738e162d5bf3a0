import { once } from "node:events";
import { createServer, type AddressInfo, type Socket } from "node:net";
import { BSON, type Document } from "mongodb";

/*
 * A stand-in for a MongoDB server, on a real socket, that speaks just enough of the wire
 * protocol for the official driver to connect, send commands and read the replies: the
 * handshake (OP_QUERY / OP_REPLY) and commands (OP_MSG). No MongoDB server can run on this
 * machine (see /work/shared/ENV.md); this lets the setup's server check and its refusals run
 * through the real driver. It proves nothing about what a real server does with the
 * commands: the contract suites at MONGODB_URI do that.
 */

const OP_REPLY = 1;
const OP_QUERY = 2004;
const OP_MSG = 2013;

/** What the stand-in answers to a command (by its first key); unknown commands get CommandNotFound. */
export type CommandAnswers = Readonly<Record<string, (command: Document) => Document>>;

export interface WireStandIn {
  /** A connection string to it (direct connection: no replica set discovery). */
  readonly uri: string;
  /** Every command received after the handshake, in order (heartbeats and session ends left out). */
  readonly commands: readonly Document[];
  close(): Promise<void>;
}

function frame(requestId: number, responseTo: number, opCode: number, body: Buffer): Buffer {
  const header = Buffer.alloc(16);
  header.writeInt32LE(16 + body.length, 0);
  header.writeInt32LE(requestId, 4);
  header.writeInt32LE(responseTo, 8);
  header.writeInt32LE(opCode, 12);
  return Buffer.concat([header, body]);
}

function opReply(responseTo: number, doc: Document): Buffer {
  const fields = Buffer.alloc(20); // responseFlags, cursorID (8), startingFrom, numberReturned
  fields.writeInt32LE(1, 16);
  return frame(0, responseTo, OP_REPLY, Buffer.concat([fields, BSON.serialize(doc)]));
}

function opMsg(responseTo: number, doc: Document): Buffer {
  return frame(0, responseTo, OP_MSG, Buffer.concat([Buffer.alloc(5), BSON.serialize(doc)])); // flagBits, section kind 0
}

/** The command document of an OP_QUERY or OP_MSG body (kind-0 section; document sequences folded in). */
function commandOf(opCode: number, body: Buffer): Document {
  if (opCode === OP_QUERY) {
    const nameEnd = body.indexOf(0, 4);
    const at = nameEnd + 9; // past numberToSkip and numberToReturn
    return BSON.deserialize(body.subarray(at, at + body.readInt32LE(at)));
  }
  let command: Document = {};
  for (let at = 4; at < body.length; ) {
    const kind = body[at]!;
    const size = body.readInt32LE(at + 1);
    if (kind === 0) command = { ...BSON.deserialize(body.subarray(at + 1, at + 1 + size)), ...command };
    else {
      const idEnd = body.indexOf(0, at + 5);
      const id = body.toString("utf8", at + 5, idEnd);
      const docs: Document[] = [];
      for (let d = idEnd + 1; d < at + 1 + size; d += body.readInt32LE(d)) docs.push(BSON.deserialize(body.subarray(d, d + body.readInt32LE(d))));
      command = { ...command, [id]: docs };
    }
    at += 1 + size;
  }
  return command;
}

const handshakes = new Set(["isMaster", "ismaster", "hello"]);
const housekeeping = new Set(["endSessions", "ping"]);

/** Starts a stand-in on a free loopback port that answers `hello` with `hello` and the rest from `answers`. */
export async function startWireStandIn(hello: Document, answers: CommandAnswers = {}): Promise<WireStandIn> {
  const commands: Document[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    let pending = Buffer.alloc(0);
    socket.on("data", (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 4 && pending.length >= pending.readInt32LE(0)) {
        const message = pending.subarray(0, pending.readInt32LE(0));
        pending = pending.subarray(message.length);
        const requestId = message.readInt32LE(4);
        const opCode = message.readInt32LE(12);
        const command = commandOf(opCode, message.subarray(16));
        const name = Object.keys(command)[0] ?? "";
        let reply: Document;
        if (handshakes.has(name)) reply = { ...hello, ismaster: hello.isWritablePrimary, ok: 1 };
        else if (housekeeping.has(name)) reply = { ok: 1 };
        else {
          commands.push(command);
          const answer = answers[name];
          reply = answer ? { ok: 1, ...answer(command) } : { ok: 0, errmsg: `the stand-in does not answer ${name}`, code: 59, codeName: "CommandNotFound" };
        }
        socket.write(opCode === OP_QUERY ? opReply(requestId, reply) : opMsg(requestId, reply));
      }
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    uri: `mongodb://127.0.0.1:${port}/setup?directConnection=true&serverSelectionTimeoutMS=5000`,
    commands,
    async close() {
      for (const s of sockets) s.destroy();
      server.close();
      await once(server, "close");
    },
  };
}
