/**
 * Helm template actions inside cdk8s objects. cdk8s writes plain YAML, and a YAML writer
 * quotes and escapes whatever a string holds, which would break a Go template action (`{{
 * default "x" .Values.y }}` inside a double-quoted scalar). So an action is carried through
 * the object as an opaque marker of base64url text, and the template writer
 * (helm-templates.ts) puts the action back after the YAML is written, where Helm needs it:
 *
 * - `tpl(expr)`: the action inside a string (`name: "{{ .Release.Name }}-gateway"`);
 * - `num(expr)`: a whole scalar that renders unquoted (a number or a boolean);
 * - `block(pipeline)`: a whole value rendered from YAML text (`resources: {{- toYaml … | nindent 12 }}`);
 * - `when(cond, expr)`: a key present only when `cond` holds (`{{- if cond }} key: … {{- end }}`);
 * - `onlyIf(cond, item)`: a list item present only when `cond` holds;
 * - `spread(expr)`: a map from the values merged into a map of the object's own.
 */

const encode = (text: string): string => Buffer.from(text, "utf8").toString("base64url");

/** The marker grammar shared with the writer: `@@<kind><base64url>[.<base64url>]@@`. */
export const markerPattern = /@@([TRBOIM])([A-Za-z0-9_-]*)(?:\.([A-Za-z0-9_-]*))?@@/g;

export const decode = (text: string): string => Buffer.from(text, "base64url").toString("utf8");

/** A template action inside a string: `tpl(".Release.Name") + "-gateway"`. */
export function tpl(expr: string): string {
  return `@@T${encode(expr)}@@`;
}

/**
 * A value rendered unquoted (numbers, booleans). Typed as `number` so it fits typed fields
 * such as `replicas`; it is a marker string until the writer replaces it.
 */
export function num(expr: string): number {
  return `@@R${encode(expr)}@@` as unknown as number;
}

/** A whole value: the YAML text `pipeline` renders (e.g. `toYaml .Values.x.resources`), indented under its key. */
export function block<T>(pipeline: string): T {
  return `@@B${encode(pipeline)}@@` as unknown as T;
}

/** A key present only when `cond` holds, rendered unquoted from `expr`. */
export function when<T>(cond: string, expr: string): T {
  return `@@O${encode(cond)}.${encode(expr)}@@` as unknown as T;
}

/** `.Values.<path>` as an action; `T` narrows it for enum-typed fields (`imagePullPolicy`). */
export const value = <T extends string = string>(path: string): T => tpl(`.Values.${path}`) as T;

/** The release's name, the prefix of every object's name. */
export const releaseName = tpl(".Release.Name");

/** `<release>-<suffix>`: the name of one of the release's objects. */
export const nameOf = (suffix: string): string => `${releaseName}-${suffix}`;

/** The key that carries onlyIf's condition through the YAML writer. */
export const itemConditionKey = "__if";

/**
 * Keys from the values merged into a map that has keys of its own (labels): a sentinel key
 * the writer replaces with the values' map as YAML, nothing when it is empty. (A whole-map
 * `block` would not survive cdk8s, which copies metadata maps key by key.)
 */
export function spread(expr: string): Record<string, string> {
  return { [`@@M${encode(expr)}@@`]: "" };
}

/** A list item (an env var, a volume) present only when `cond` holds. */
export function onlyIf<T extends object>(cond: string, item: T): T {
  return { [itemConditionKey]: `@@I${encode(cond)}@@`, ...item };
}
