import { stringify } from "yaml";
import { decode, itemConditionKey, markerPattern } from "./helm-markers.js";

/** One Kubernetes object of a template file, emitted only when `condition` holds. */
export interface TemplateDoc {
  readonly object: unknown;
  /** A Go template condition (`.Values.metrics.serviceMonitor.enabled`); none: always. */
  readonly condition?: string | undefined;
}

const blockOrOptional = /^(\s*)(- )?([^\s"'][^:"']*): "?@@([BO])([A-Za-z0-9_-]*)(?:\.([A-Za-z0-9_-]*))?@@"?$/;

const spreadKey = /^(\s*)"?@@M([A-Za-z0-9_-]*)@@"?: ""$/;

/** Puts each marker's action back into one line (see helm-markers.ts). */
function restoreLine(line: string): string {
  const spread = spreadKey.exec(line);
  if (spread) return `{{- with ${decode(spread[2] ?? "")} }}\n{{- toYaml . | nindent ${(spread[1] ?? "").length} }}\n{{- end }}`;
  const whole = blockOrOptional.exec(line);
  if (whole) {
    const [, indent = "", dash = "", key = "", kind, first = "", second = ""] = whole;
    const column = indent.length + dash.length;
    if (kind === "B") return `${indent}${dash}${key}: {{- ${decode(first)} | nindent ${column + 2} }}`;
    return `{{- if ${decode(first)} }}\n${indent}${dash}${key}: {{ ${decode(second)} }}\n{{- end }}`;
  }
  if (!line.includes("@@")) return line;
  // The scalar holding the markers: a double-quoted one as the YAML writer quoted it, or
  // the plain rest of the line after the key or the list dash.
  const quoted = /^(.*?)"(.*)"$/.exec(line);
  const plain = /^(\s*(?:- )?(?:[^\s"'][^:"']*: )?)(.*)$/.exec(line);
  const [, head = "", body = ""] = quoted ?? plain ?? [];
  const only = /^@@R([A-Za-z0-9_-]*)@@$/.exec(body);
  if (only) return `${head}{{ ${decode(only[1] ?? "")} }}`;
  const escape = (s: string): string => (quoted ? s : s.replace(/[\\"]/g, (c) => `\\${c}`));
  let out = "";
  let last = 0;
  for (const m of body.matchAll(markerPattern)) {
    if (m[1] !== "T" && m[1] !== "R") throw new Error(`a ${m[1]} marker must be a whole value: ${line}`);
    out += escape(body.slice(last, m.index)) + `{{ ${decode(m[2] ?? "")} }}`;
    last = (m.index ?? 0) + m[0].length;
  }
  return `${head}"${out}${escape(body.slice(last))}"`;
}

const conditionalItem = new RegExp(`^(\\s*)- ${itemConditionKey}: "?@@I([A-Za-z0-9_-]*)@@"?$`);

/**
 * Wraps each onlyIf item in `{{- if }}`/`{{- end }}`: the condition key goes, the item's
 * next key takes its dash, and the item ends at the first line not indented deeper than it.
 */
function restoreConditionalItems(lines: readonly string[]): string[] {
  const out: string[] = [];
  const open: number[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? "";
    const depth = line.length - line.trimStart().length;
    while (open.length > 0 && depth <= (open.at(-1) ?? 0) && line.trim() !== "") {
      open.pop();
      out.push("{{- end }}");
    }
    const m = conditionalItem.exec(line);
    if (!m) {
      out.push(line);
      continue;
    }
    const indent = m[1] ?? "";
    out.push(`{{- if ${decode(m[2] ?? "")} }}`);
    const next = lines[++i] ?? "";
    out.push(`${indent}- ${next.slice(indent.length + 2)}`);
    open.push(indent.length);
  }
  while (open.pop() !== undefined) out.push("{{- end }}");
  return out;
}

/** A Kubernetes object as template text: YAML with the markers turned back into actions. */
export function objectTemplate(object: unknown): string {
  // A literal "{{" (a Grafana legend) would start a template action: Helm must print it.
  const text = stringify(object, { lineWidth: 0, aliasDuplicateObjects: false }).replace(/\{\{/g, '{{ "{{" }}');
  const restored = restoreConditionalItems(text.trimEnd().split("\n")).map(restoreLine).join("\n");
  if (restored.includes("@@")) throw new Error(`a marker was left in a template:\n${restored}`);
  return restored;
}

/** A template file: each object its own YAML document, conditional ones inside `if`. */
export function templateFile(docs: readonly TemplateDoc[]): string {
  return docs
    .map(({ object, condition }) => {
      const body = `---\n${objectTemplate(object)}\n`;
      return condition ? `{{- if ${condition} }}\n${body}{{- end }}\n` : body;
    })
    .join("");
}
