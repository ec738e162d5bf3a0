import { clone, create, fromBinary, toBinary, type DescFile, type DescMessage, type DescService } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import {
  ErrorResponseSchema,
  ExtensionNumberResponseSchema,
  FileDescriptorResponseSchema,
  ListServiceResponseSchema,
  ServerReflection,
  ServerReflectionRequestSchema,
  ServerReflectionResponseSchema,
  type ServerReflectionRequest,
  type ServerReflectionResponse,
} from "@messenger/proto/grpc/reflection/v1/reflection";
import * as v1alpha from "@messenger/proto/grpc/reflection/v1alpha/reflection";
import { route, type ServiceRoute } from "./service-routes.js";

/** One file as reflection serves it: its encoded FileDescriptorProto and the files it imports. */
interface ServedFile {
  readonly bytes: Uint8Array;
  readonly imports: readonly string[];
}

/**
 * The schema one listener advertises: the real FileDescriptorProtos protobuf-es generated
 * for its services (real file names, imports and fully qualified type names, well-known
 * types included), closed over their imports, so a tool can rebuild every request and
 * response type from reflection alone.
 */
export class ReflectionSchema {
  /** Sorted names of the advertised services. */
  readonly services: readonly string[];
  readonly #files = new Map<string, ServedFile>();
  /** Fully qualified name of every declared element -> the file declaring it. */
  readonly #symbols = new Map<string, string>();
  /** Extended message -> extension field number -> the file declaring the extension. */
  readonly #extensions = new Map<string, Map<number, string>>();

  /**
   * Only the given services are advertised: a file that declares others as well (a public
   * and an internal service side by side) is served without them, so a public port never
   * describes what it does not serve.
   */
  constructor(services: readonly DescService[]) {
    const advertised = new Set(services.map((s) => s.typeName));
    this.services = [...advertised].sort();
    const pending: DescFile[] = services.map((s) => s.file);
    while (pending.length > 0) {
      const file = pending.pop()!;
      if (this.#files.has(file.proto.name)) continue;
      const proto = clone(FileDescriptorProtoSchema, file.proto);
      const pkg = proto.package;
      proto.service = proto.service.filter((s) => advertised.has(pkg ? `${pkg}.${s.name}` : s.name));
      this.#files.set(file.proto.name, { bytes: toBinary(FileDescriptorProtoSchema, proto), imports: file.dependencies.map((d) => d.proto.name) });
      this.#index(file, advertised);
      pending.push(...file.dependencies);
    }
  }

  /** A file and its transitive imports, the file first, leaving out imports already in `sent`. */
  fileWithImports(name: string, sent: Set<string>): Uint8Array[] | undefined {
    if (!this.#files.has(name)) return undefined;
    const out: Uint8Array[] = [];
    const queue = [name];
    const queued = new Set(queue);
    for (let i = 0; i < queue.length; i++) {
      const current = queue[i]!;
      const file = this.#files.get(current)!;
      if (i === 0 || !sent.has(current)) {
        sent.add(current);
        out.push(file.bytes);
      }
      for (const imported of file.imports) {
        if (queued.has(imported)) continue;
        queued.add(imported);
        queue.push(imported);
      }
    }
    return out;
  }

  /** The file declaring a fully qualified name (a leading dot is accepted). */
  fileOfSymbol(symbol: string): string | undefined {
    return this.#symbols.get(symbol.startsWith(".") ? symbol.slice(1) : symbol);
  }

  fileOfExtension(extendee: string, fieldNumber: number): string | undefined {
    return this.#extensions.get(extendee)?.get(fieldNumber);
  }

  /** The extension numbers known for a message, or undefined when the message is unknown. */
  extensionNumbers(typeName: string): number[] | undefined {
    if (this.fileOfSymbol(typeName) === undefined) return undefined;
    return [...(this.#extensions.get(typeName)?.keys() ?? [])].sort((a, b) => a - b);
  }

  #index(file: DescFile, advertised: ReadonlySet<string>): void {
    const name = file.proto.name;
    const add = (symbol: string): void => void this.#symbols.set(symbol, name);
    const scope = (parent: DescMessage | undefined): string => parent?.typeName ?? file.proto.package;
    const qualify = (parent: DescMessage | undefined, local: string): string => (scope(parent) ? `${scope(parent)}.${local}` : local);
    const messages: DescMessage[] = [...file.messages];
    const enums = [...file.enums];
    const extensions = [...file.extensions];
    while (messages.length > 0) {
      const m = messages.pop()!;
      add(m.typeName);
      for (const f of m.fields) add(`${m.typeName}.${f.name}`);
      for (const o of m.oneofs) add(`${m.typeName}.${o.name}`);
      messages.push(...m.nestedMessages);
      enums.push(...m.nestedEnums);
      extensions.push(...m.nestedExtensions);
    }
    for (const e of enums) {
      add(e.typeName);
      // Enum values are scoped beside their enum, not inside it (C++ scoping rules).
      for (const v of e.values) add(qualify(e.parent, v.name));
    }
    for (const x of extensions) {
      add(x.typeName);
      let byNumber = this.#extensions.get(x.extendee.typeName);
      if (!byNumber) this.#extensions.set(x.extendee.typeName, (byNumber = new Map()));
      byNumber.set(x.number, name);
    }
    for (const s of file.services) {
      if (!advertised.has(s.typeName)) continue;
      add(s.typeName);
      for (const m of s.methods) add(`${s.typeName}.${m.name}`);
    }
  }
}

/**
 * Answers one reflection stream. Each file goes out with the imports not yet sent on this
 * stream, as grpc-go does, so a client that keeps the stream gets every file once and a
 * client that asks once gets all it needs.
 */
export function reflectionSession(schema: ReflectionSchema): (req: ServerReflectionRequest) => ServerReflectionResponse {
  const sent = new Set<string>();
  const files = (name: string | undefined, what: string): ServerReflectionResponse["messageResponse"] => {
    const found = name === undefined ? undefined : schema.fileWithImports(name, sent);
    return found
      ? { case: "fileDescriptorResponse", value: create(FileDescriptorResponseSchema, { fileDescriptorProto: found }) }
      : notFound(`${what} not found`);
  };
  return (req) => {
    let messageResponse: ServerReflectionResponse["messageResponse"];
    const r = req.messageRequest;
    switch (r.case) {
      case "fileByFilename":
        messageResponse = files(r.value, `file ${r.value}`);
        break;
      case "fileContainingSymbol":
        messageResponse = files(schema.fileOfSymbol(r.value), `symbol ${r.value}`);
        break;
      case "fileContainingExtension":
        messageResponse = files(schema.fileOfExtension(r.value.containingType, r.value.extensionNumber), `extension ${r.value.extensionNumber} of ${r.value.containingType}`);
        break;
      case "allExtensionNumbersOfType": {
        const numbers = schema.extensionNumbers(r.value);
        messageResponse = numbers
          ? { case: "allExtensionNumbersResponse", value: create(ExtensionNumberResponseSchema, { baseTypeName: r.value, extensionNumber: numbers }) }
          : notFound(`type ${r.value} not found`);
        break;
      }
      case "listServices":
        messageResponse = { case: "listServicesResponse", value: create(ListServiceResponseSchema, { service: schema.services.map((name) => ({ name })) }) };
        break;
      default:
        messageResponse = { case: "errorResponse", value: create(ErrorResponseSchema, { errorCode: Code.InvalidArgument, errorMessage: "the request names no message_request" }) };
    }
    return create(ServerReflectionResponseSchema, { validHost: req.host, originalRequest: req, messageResponse });
  };
}

function notFound(message: string): ServerReflectionResponse["messageResponse"] {
  return { case: "errorResponse", value: create(ErrorResponseSchema, { errorCode: Code.NotFound, errorMessage: message }) };
}

/**
 * grpc.reflection.v1 and v1alpha ServerReflection over the given schema. The two versions
 * are the same messages under two package names (identical on the wire), so v1alpha is
 * answered by re-reading each message as v1 and back.
 */
export function reflectionRoutes(schema: ReflectionSchema): ServiceRoute[] {
  return [
    route(
      ServerReflection,
      {
        async *serverReflectionInfo(requests: AsyncIterable<ServerReflectionRequest>) {
          const answer = reflectionSession(schema);
          for await (const req of requests) yield answer(req);
        },
      },
      "public",
    ),
    route(
      v1alpha.ServerReflection,
      {
        async *serverReflectionInfo(requests: AsyncIterable<v1alpha.ServerReflectionRequest>) {
          const answer = reflectionSession(schema);
          for await (const req of requests) {
            const res = answer(fromBinary(ServerReflectionRequestSchema, toBinary(v1alpha.ServerReflectionRequestSchema, req)));
            yield fromBinary(v1alpha.ServerReflectionResponseSchema, toBinary(ServerReflectionResponseSchema, res));
          }
        },
      },
      "public",
    ),
  ];
}
