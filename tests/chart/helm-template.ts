// `helm template` for a machine without helm: renders a chart directory through
// tests/chart/helm-render, a Go program that runs Helm 3's template engine code over the
// libraries Helm uses (sprig, sigs.k8s.io/yaml, ...), taken from Debian packages. The
// binary is built once per source version into node_modules/.cache/helm-render.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const sourceDir = join(root, "tests", "chart", "helm-render");

/** The Debian packages that building helm-render needs (Go 1.19+ and Helm's libraries). */
export const HELM_RENDER_DEBIAN_PACKAGES = [
  "golang-go",
  "golang-github-masterminds-sprig-dev",
  "golang-github-masterminds-semver-dev",
  "golang-github-mitchellh-copystructure-dev",
  "golang-k8s-sigs-yaml-dev",
  "golang-gopkg-yaml.v3-dev",
  "golang-github-burntsushi-toml-dev",
  "golang-github-gobwas-glob-dev",
] as const;

/** What to render; the option names follow `helm template`'s flags. */
export interface HelmTemplateOptions {
  chartDir: string;
  /** `-f` files, merged in order: later files win, a null deletes a chart default. */
  valuesFiles?: readonly string[];
  releaseName: string;
  namespace: string;
  /** `--kube-version`, e.g. "1.31" or "v1.31.4" (default v1.36.0, as Helm 3.21). */
  kubeVersion?: string;
  /** `--api-versions`: extra entries for .Capabilities.APIVersions.Has. */
  apiVersions?: readonly string[];
  /** `--is-upgrade`: .Release.IsUpgrade true, IsInstall false. */
  isUpgrade?: boolean;
  /** `--include-crds`: the chart's crds/ files first. */
  includeCrds?: boolean;
  /** Also return the rendered templates/NOTES.txt. */
  notes?: boolean;
}

/** A Kubernetes object as the API client decodes it (YAML 1.1, through JSON). */
export type KubeManifest = Record<string, unknown>;

/** One printed document and the template it came from ("<chart>/templates/<file>"). */
export interface RenderedDocument {
  source: string;
  manifest: KubeManifest;
}

export interface HelmTemplateResult {
  /** Exactly what `helm template` prints. */
  text: string;
  /** Every Kubernetes object in `text`, in its order (documents with only comments are none). */
  manifests: KubeManifest[];
  documents: RenderedDocument[];
  /** The rendered NOTES.txt ("" when the chart has none); set when `notes` was asked. */
  notes?: string;
  /** What helm would log while rendering (values that could not be merged, ...). */
  warnings: string[];
}

/** The render failed as `helm template` would fail; the message is Helm's ("execution error at (...): ..."). */
export class HelmTemplateError extends Error {
  override readonly name = "HelmTemplateError";
  constructor(
    message: string,
    readonly stderr: string,
  ) {
    super(message);
  }
}

/** helm-render cannot be built here: Go or one of Helm's libraries is not installed. */
export class HelmRendererUnavailableError extends Error {
  override readonly name = "HelmRendererUnavailableError";
}

export interface BuildHelmRendererOptions {
  /** Where binaries and Go's build cache live (default node_modules/.cache/helm-render). */
  cacheDir?: string;
  /** The go command (default "go" on PATH). */
  goCommand?: string;
  /** Where the Go libraries are, as a GOPATH (default Debian's /usr/share/gocode). */
  libraryPath?: string;
}

interface ExecFailure {
  code?: number | string;
  stderr?: string;
  stdout?: string;
}

const unavailable = (what: string, detail = "") =>
  new HelmRendererUnavailableError(
    `${what}: helm-render (tests/chart/helm-render) is built with Go from Helm's template libraries. ` +
      `Install them with: apt-get install ${HELM_RENDER_DEBIAN_PACKAGES.join(" ")}${detail ? `\n${detail}` : ""}`,
  );

function sourceFiles(): string[] {
  return readdirSync(sourceDir)
    .filter((f) => f.endsWith(".go") && !f.endsWith("_test.go"))
    .sort();
}

function sourceHash(files: readonly string[]): string {
  const hash = createHash("sha256").update(`${process.platform}-${process.arch}\n`);
  for (const f of files) hash.update(`${f}\n`).update(readFileSync(join(sourceDir, f))).update("\n");
  return hash.digest("hex").slice(0, 16);
}

/**
 * Builds helm-render unless a binary of the same sources is cached, and returns its path.
 * Concurrent builders (parallel test files) each build in their own directory and rename
 * into place, so no one ever runs a half-written binary.
 */
export async function buildHelmRenderer(options: BuildHelmRendererOptions = {}): Promise<string> {
  const cacheDir = options.cacheDir ?? join(root, "node_modules", ".cache", "helm-render");
  const files = sourceFiles();
  const binary = join(cacheDir, sourceHash(files), "helm-render");
  if (existsSync(binary)) return binary;

  mkdirSync(cacheDir, { recursive: true });
  const work = mkdtempSync(join(cacheDir, "build-"));
  try {
    // GOPATH mode resolves Debian's /usr/share/gocode offline; the package must sit in a
    // GOPATH and have a go.mod for imports like sprig/v3 to map onto Debian's directories.
    const pkg = join(work, "src", "helm-render");
    mkdirSync(pkg, { recursive: true });
    for (const f of files) copyFileSync(join(sourceDir, f), join(pkg, f));
    writeFileSync(join(pkg, "go.mod"), "module helm-render\n");
    const out = join(work, "helm-render");
    try {
      await run(options.goCommand ?? "go", ["build", "-o", out, "."], {
        cwd: pkg,
        env: {
          ...process.env,
          GO111MODULE: "off",
          GOPATH: `${work}:${options.libraryPath ?? "/usr/share/gocode"}`,
          GOCACHE: join(cacheDir, "go-build"),
          GOFLAGS: "",
          GOPROXY: "off",
          GOTOOLCHAIN: "local",
        },
        maxBuffer: 16 * 1024 * 1024,
      });
    } catch (err) {
      const failure = err as ExecFailure;
      if (failure.code === "ENOENT") throw unavailable("Go is not installed (no `go` command)");
      const stderr = failure.stderr ?? String(err);
      if (/cannot find package/.test(stderr)) throw unavailable("Go libraries that Helm's engine uses are missing", stderr.trim());
      throw new Error(`building helm-render failed:\n${stderr.trim()}`, { cause: err });
    }
    mkdirSync(dirname(binary), { recursive: true });
    renameSync(out, binary);
    return binary;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

let defaultBuild: Promise<string> | undefined;

interface RendererOutput {
  text: string;
  documents: { source: string; object: KubeManifest }[];
  notes: string | null;
}

function isRendererOutput(v: unknown): v is RendererOutput {
  if (typeof v !== "object" || v === null) return false;
  const o = v as Record<string, unknown>;
  return (
    typeof o.text === "string" &&
    Array.isArray(o.documents) &&
    o.documents.every((d: unknown) => typeof d === "object" && d !== null && typeof (d as { source?: unknown }).source === "string" && typeof (d as { object?: unknown }).object === "object")
  );
}

/**
 * Renders a chart as `helm template` (Helm 3.21, client-only) does and returns the text it
 * would print with the objects in it. Rejects with HelmTemplateError carrying Helm's
 * message when rendering fails (required, fail, template syntax, invalid YAML).
 */
export async function helmTemplate(options: HelmTemplateOptions): Promise<HelmTemplateResult> {
  defaultBuild ??= buildHelmRenderer();
  let binary: string;
  try {
    binary = await defaultBuild;
  } catch (err) {
    defaultBuild = undefined;
    throw err;
  }
  const args = ["--output", "json", "--name", options.releaseName, "--namespace", options.namespace];
  for (const f of options.valuesFiles ?? []) args.push("--values", f);
  if (options.kubeVersion !== undefined) args.push("--kube-version", options.kubeVersion);
  for (const a of options.apiVersions ?? []) args.push("--api-versions", a);
  if (options.isUpgrade) args.push("--is-upgrade");
  if (options.includeCrds) args.push("--include-crds");
  if (options.notes) args.push("--notes");
  args.push("--", options.chartDir);

  let stdout: string;
  let stderr: string;
  try {
    ({ stdout, stderr } = await run(binary, args, { maxBuffer: 256 * 1024 * 1024 }));
  } catch (err) {
    const failure = err as ExecFailure;
    if (typeof failure.code !== "number") throw err;
    const text = (failure.stderr ?? "").trim();
    // Warnings may come first; Helm's error is the rest, from "Error: " on.
    const lines = text.split("\n");
    const at = lines.findIndex((l) => l.startsWith("Error: "));
    const message = at === -1 ? text : lines.slice(at).join("\n").slice("Error: ".length);
    throw new HelmTemplateError(message, text);
  }
  const parsed: unknown = JSON.parse(stdout);
  if (!isRendererOutput(parsed)) throw new Error("helm-render printed output of an unexpected shape");
  const documents = parsed.documents.map((d) => ({ source: d.source, manifest: d.object }));
  return {
    text: parsed.text,
    manifests: documents.map((d) => d.manifest),
    documents,
    ...(parsed.notes !== null ? { notes: parsed.notes } : {}),
    warnings: stderr.split("\n").filter((l) => l.trim() !== ""),
  };
}
