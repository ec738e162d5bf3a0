import { describe, expect, it } from "vitest";
import { s3OptionsFromEndpoint } from "./s3-endpoint.js";

const credentials = { accessKey: "ak", secretKey: "sk", region: "eu-west-1", bucket: "messenger" };

describe("s3OptionsFromEndpoint", () => {
  it("reads host, port and plain HTTP from an http URL", () => {
    expect(s3OptionsFromEndpoint("http://minio:9000", credentials)).toEqual({
      endPoint: "minio",
      port: 9000,
      useSSL: false,
      ...credentials,
    });
  });

  it("uses SSL for https and leaves the port to the client when the URL names none", () => {
    const opts = s3OptionsFromEndpoint("https://s3.example.com", credentials);
    expect(opts.useSSL).toBe(true);
    expect(opts.endPoint).toBe("s3.example.com");
    expect(opts).not.toHaveProperty("port");
  });

  it("rejects a value that is not a URL", () => {
    expect(() => s3OptionsFromEndpoint("minio", credentials)).toThrow(TypeError);
  });
});
