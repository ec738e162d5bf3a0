import { create, createFileRegistry, fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema, FileDescriptorSetSchema, type FileDescriptorProto } from "@bufbuild/protobuf/wkt";
import { Code, createClient, createRouterTransport } from "@connectrpc/connect";
import { AccountsService } from "@messenger/proto/accounts/v1/accounts_service";
import { Health } from "@messenger/proto/grpc/health/v1/health";
import { ServerReflection, type ServerReflectionRequest, type ServerReflectionResponse } from "@messenger/proto/grpc/reflection/v1/reflection";
import * as v1alpha from "@messenger/proto/grpc/reflection/v1alpha/reflection";
import { PresenceService } from "@messenger/proto/presence/v1/presence_service";
import { describe, expect, it } from "vitest";
import { ServingState } from "./health.js";
import { ReflectionSchema, reflectionSession } from "./reflection.js";
import { route, type ServiceRoute } from "./service-routes.js";
import { withStandardServices } from "./standard-routes.js";

type RequestInit = ServerReflectionRequest["messageRequest"];

function ask(answer: (req: ServerReflectionRequest) => ServerReflectionResponse, messageRequest: RequestInit): ServerReflectionResponse {
  return answer({ $typeName: "grpc.reflection.v1.ServerReflectionRequest", host: "", messageRequest });
}

function filesOf(res: ServerReflectionResponse): FileDescriptorProto[] {
  if (res.messageResponse.case !== "fileDescriptorResponse") throw new Error(`expected files, got ${JSON.stringify(res.messageResponse)}`);
  return res.messageResponse.value.fileDescriptorProto.map((b) => fromBinary(FileDescriptorProtoSchema, b));
}

function errorOf(res: ServerReflectionResponse): { code: number; message: string } | undefined {
  return res.messageResponse.case === "errorResponse" ? { code: res.messageResponse.value.errorCode, message: res.messageResponse.value.errorMessage } : undefined;
}

/** A public route whose methods are never called: reflection only reads its descriptor. */
const mounted: ServiceRoute[] = [route(AccountsService, {} as never, "public"), route(PresenceService, {} as never, "public")];
const schema = new ReflectionSchema([AccountsService, PresenceService, Health, ServerReflection]);

describe("reflection schema", () => {
  it("lists exactly the advertised services", () => {
    const res = ask(reflectionSession(schema), { case: "listServices", value: "*" });
    expect(res.messageResponse.case).toBe("listServicesResponse");
    const names = res.messageResponse.case === "listServicesResponse" ? res.messageResponse.value.service.map((s) => s.name) : [];
    expect(names).toEqual(["grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "messenger.accounts.v1.AccountsService", "messenger.presence.v1.PresenceService"]);
  });

  it("answers a service with its real file first, then every transitive import, well-known types included", () => {
    const files = filesOf(ask(reflectionSession(schema), { case: "fileContainingSymbol", value: "messenger.accounts.v1.AccountsService" }));
    expect(files.map((f) => f.name)).toEqual(["messenger/accounts/v1/accounts_service.proto", "messenger/accounts/v1/types.proto", "google/protobuf/timestamp.proto"]);
    expect(files[0]?.dependency).toEqual(["messenger/accounts/v1/types.proto"]);
    expect(files[1]?.dependency).toEqual(["google/protobuf/timestamp.proto"]);
    // Field types are fully qualified, so the set links on its own (imports first, as a registry wants them).
    const registry = createFileRegistry(create(FileDescriptorSetSchema, { file: [...files].reverse() }));
    expect(registry.getMessage("messenger.accounts.v1.LoginResponse")?.field.tokens?.message?.typeName).toBe("messenger.accounts.v1.Tokens");
    expect(registry.getMessage("messenger.accounts.v1.Tokens")?.field.accessTokenExpiresAt?.message?.typeName).toBe("google.protobuf.Timestamp");
  });

  it("sends each import once per stream, and the requested file every time", () => {
    const answer = reflectionSession(schema);
    expect(filesOf(ask(answer, { case: "fileByFilename", value: "messenger/accounts/v1/types.proto" })).map((f) => f.name)).toEqual([
      "messenger/accounts/v1/types.proto",
      "google/protobuf/timestamp.proto",
    ]);
    expect(filesOf(ask(answer, { case: "fileContainingSymbol", value: "messenger.accounts.v1.AccountsService" })).map((f) => f.name)).toEqual([
      "messenger/accounts/v1/accounts_service.proto",
    ]);
    expect(filesOf(ask(answer, { case: "fileByFilename", value: "messenger/accounts/v1/types.proto" })).map((f) => f.name)).toEqual(["messenger/accounts/v1/types.proto"]);
  });

  it("finds methods, messages, fields, nested enums and enum values", () => {
    const cases: [string, string][] = [
      ["messenger.accounts.v1.AccountsService.Login", "messenger/accounts/v1/accounts_service.proto"],
      ["messenger.accounts.v1.LoginRequest", "messenger/accounts/v1/accounts_service.proto"],
      [".messenger.accounts.v1.LoginRequest", "messenger/accounts/v1/accounts_service.proto"],
      ["messenger.accounts.v1.LoginRequest.device_id", "messenger/accounts/v1/accounts_service.proto"],
      ["grpc.health.v1.HealthCheckResponse.ServingStatus", "grpc/health/v1/health.proto"],
      ["grpc.health.v1.HealthCheckResponse.SERVING", "grpc/health/v1/health.proto"],
      ["google.protobuf.Timestamp", "google/protobuf/timestamp.proto"],
    ];
    for (const [symbol, file] of cases) {
      expect([symbol, filesOf(ask(reflectionSession(schema), { case: "fileContainingSymbol", value: symbol }))[0]?.name]).toEqual([symbol, file]);
    }
  });

  it("describes no service that is not mounted, even one declared in the same file as a mounted one", () => {
    const [presence] = filesOf(ask(reflectionSession(schema), { case: "fileContainingSymbol", value: "messenger.presence.v1.PresenceService" }));
    expect(presence?.name).toBe("messenger/presence/v1/presence_service.proto");
    expect(presence?.service.map((s) => s.name)).toEqual(["PresenceService"]);
    for (const hidden of ["messenger.presence.v1.SessionService", "messenger.presence.v1.SessionService.Register", "messenger.store.v1.StoreService"]) {
      expect(errorOf(ask(reflectionSession(schema), { case: "fileContainingSymbol", value: hidden }))?.code).toBe(Code.NotFound);
    }
    expect(errorOf(ask(reflectionSession(schema), { case: "fileByFilename", value: "messenger/store/v1/store_service.proto" }))?.code).toBe(Code.NotFound);
  });

  it("answers unknown names and extension queries with NOT_FOUND or an empty list", () => {
    const answer = reflectionSession(schema);
    expect(errorOf(ask(answer, { case: "fileContainingSymbol", value: "no.such.Thing" }))).toEqual({ code: Code.NotFound, message: "symbol no.such.Thing not found" });
    expect(errorOf(ask(answer, { case: "fileByFilename", value: "no/such.proto" }))?.code).toBe(Code.NotFound);
    const ext = ask(answer, {
      case: "fileContainingExtension",
      value: { $typeName: "grpc.reflection.v1.ExtensionRequest", containingType: "messenger.accounts.v1.User", extensionNumber: 100 },
    });
    expect(errorOf(ext)?.code).toBe(Code.NotFound);
    const numbers = ask(answer, { case: "allExtensionNumbersOfType", value: "messenger.accounts.v1.User" });
    expect(numbers.messageResponse.case).toBe("allExtensionNumbersResponse");
    expect(numbers.messageResponse.value).toMatchObject({ baseTypeName: "messenger.accounts.v1.User", extensionNumber: [] });
    expect(errorOf(ask(answer, { case: "allExtensionNumbersOfType", value: "no.such.Type" }))?.code).toBe(Code.NotFound);
    expect(errorOf(ask(answer, { case: undefined }))?.code).toBe(Code.InvalidArgument);
  });
});

describe("reflection routes", () => {
  const transport = createRouterTransport((router) => {
    for (const r of withStandardServices(mounted, new ServingState())) router.service(r.service, r.impl);
  });

  it("keeps one v1 stream going across requests, an unknown symbol included", async () => {
    const client = createClient(ServerReflection, transport);
    async function* requests(): AsyncGenerator<{ host: string; messageRequest: RequestInit }> {
      yield { host: "h", messageRequest: { case: "listServices", value: "" } };
      yield { host: "h", messageRequest: { case: "fileContainingSymbol", value: "no.such.Service" } };
      yield { host: "h", messageRequest: { case: "fileContainingSymbol", value: "grpc.health.v1.Health" } };
    }
    const got: ServerReflectionResponse[] = [];
    for await (const res of client.serverReflectionInfo(requests())) got.push(res);
    expect(got.map((r) => r.messageResponse.case)).toEqual(["listServicesResponse", "errorResponse", "fileDescriptorResponse"]);
    expect(got[0]?.messageResponse.value).toMatchObject({
      service: [
        { name: "grpc.health.v1.Health" },
        { name: "grpc.reflection.v1.ServerReflection" },
        { name: "grpc.reflection.v1alpha.ServerReflection" },
        { name: "messenger.accounts.v1.AccountsService" },
        { name: "messenger.presence.v1.PresenceService" },
      ],
    });
    expect(got[1]?.originalRequest?.messageRequest).toEqual({ case: "fileContainingSymbol", value: "no.such.Service" });
    expect(got[2]?.validHost).toBe("h");
    expect(filesOf(got[2]!).map((f) => f.name)).toEqual(["grpc/health/v1/health.proto"]);
  });

  it("answers v1alpha with the same files", async () => {
    const client = createClient(v1alpha.ServerReflection, transport);
    async function* requests(): AsyncGenerator<{ messageRequest: v1alpha.ServerReflectionRequest["messageRequest"] }> {
      yield { messageRequest: { case: "fileContainingSymbol", value: "messenger.accounts.v1.AccountsService.Register" } };
    }
    const got: v1alpha.ServerReflectionResponse[] = [];
    for await (const res of client.serverReflectionInfo(requests())) got.push(res);
    const res = got[0]!;
    expect(res.messageResponse.case).toBe("fileDescriptorResponse");
    const names = res.messageResponse.case === "fileDescriptorResponse" ? res.messageResponse.value.fileDescriptorProto.map((b) => fromBinary(FileDescriptorProtoSchema, b).name) : [];
    expect(names).toEqual(["messenger/accounts/v1/accounts_service.proto", "messenger/accounts/v1/types.proto", "google/protobuf/timestamp.proto"]);
  });
});
