import { readFileSync } from 'node:fs';
import { join } from 'node:path';

// Just enough of Bicep to check infra/ here, where no Bicep compiler can be installed: comments
// and string contents are blanked out (same length, so offsets still point into the source), and
// the structure is read from what is left. Values are read back from the original text.

export const ROOT = join(__dirname, '..', '..');
export const INFRA = join(ROOT, 'infra');

export interface BicepFile {
  readonly path: string;
  /** The file as written. */
  readonly text: string;
  /** The same, with comments and the insides of strings replaced by spaces. */
  readonly code: string;
}

export function readBicep(relativeToInfra: string): BicepFile {
  const path = join(INFRA, relativeToInfra);
  const text = readFileSync(path, 'utf8');
  return { path, text, code: blank(text) };
}

/** Replaces comments and string contents (interpolations included) by spaces; newlines stay. */
export function blank(text: string): string {
  const out = text.split('');
  const clear = (from: number, to: number) => {
    for (let k = from; k < to; k++) if (out[k] !== '\n') out[k] = ' ';
  };
  let i = 0;
  while (i < text.length) {
    if (text.startsWith('//', i)) {
      const end = text.indexOf('\n', i);
      const stop = end < 0 ? text.length : end;
      clear(i, stop);
      i = stop;
    } else if (text.startsWith('/*', i)) {
      const end = text.indexOf('*/', i + 2);
      const stop = end < 0 ? text.length : end + 2;
      clear(i, stop);
      i = stop;
    } else if (text.startsWith("'''", i)) {
      const end = text.indexOf("'''", i + 3);
      const stop = end < 0 ? text.length : end;
      clear(i + 3, stop);
      i = stop + 3;
    } else if (text[i] === "'") {
      const end = stringEnd(text, i);
      clear(i + 1, end - 1);
      i = end;
    } else {
      i++;
    }
  }
  return out.join('');
}

/** Index just after the closing quote of the single-quoted string opening at `start`. */
function stringEnd(text: string, start: number): number {
  let i = start + 1;
  while (i < text.length) {
    const c = text[i];
    if (c === '\\') i += 2;
    else if (c === "'") return i + 1;
    else if (text.startsWith('${', i)) i = interpolationEnd(text, i + 2);
    else i++;
  }
  return text.length;
}

/** Index just after the `}` closing an interpolation whose expression starts at `start`. */
function interpolationEnd(text: string, start: number): number {
  let depth = 1;
  let i = start;
  while (i < text.length) {
    const c = text[i];
    if (c === "'") i = stringEnd(text, i);
    else {
      if (c === '{') depth++;
      if (c === '}' && --depth === 0) return i + 1;
      i++;
    }
  }
  return text.length;
}

const OPEN = '{[(';
const CLOSE = '}])';

/** [start, end) of the block opened by the first `opener` at or after `from`. */
export function blockAt(file: BicepFile, from: number, opener: '{' | '[' | '(' = '{'): { start: number; end: number } {
  const start = file.code.indexOf(opener, from);
  if (start < 0) throw new Error(`no ${opener} after offset ${from} in ${file.path}`);
  let depth = 0;
  for (let i = start; i < file.code.length; i++) {
    if (OPEN.includes(file.code[i])) depth++;
    if (CLOSE.includes(file.code[i]) && --depth === 0) return { start, end: i + 1 };
  }
  throw new Error(`unclosed block at offset ${start} in ${file.path}`);
}

export interface Entry {
  /** The value as written (comments left out). */
  readonly value: string;
  /** Where the value starts in the file. */
  readonly offset: number;
}

/** The top-level `key: value` pairs of the object literal opening at or after `from`. */
export function objectEntries(file: BicepFile, from: number): Map<string, Entry> {
  const { start, end } = blockAt(file, from);
  const entries = new Map<string, Entry>();
  let depth = 0;
  let lineStart = start + 1;
  let key: string | undefined;
  let valueStart = 0;
  const finish = (at: number) => {
    if (key === undefined) return;
    let stop = at;
    while (stop > valueStart && /[\s,]/.test(file.code[stop - 1])) stop--;
    entries.set(key, { value: file.text.slice(valueStart, stop).trim(), offset: valueStart });
    key = undefined;
  };
  for (let i = start + 1; i < end - 1; i++) {
    const c = file.code[i];
    if (depth === 0 && i === lineStart) {
      const lineEnd = file.code.indexOf('\n', i);
      const match = /^\s*([A-Za-z_]\w*|'[^']*')\s*:/.exec(file.code.slice(i, lineEnd < 0 ? end : lineEnd));
      if (match) {
        finish(i);
        const raw = file.text.slice(i, i + match[0].length);
        key = /^\s*'?([^':]*?)'?\s*:/.exec(raw)![1];
        valueStart = i + match[0].length;
      }
    }
    if (OPEN.includes(c)) depth++;
    else if (CLOSE.includes(c)) depth--;
    // A new entry starts on a new line, or after a comma in a one-line object.
    else if ((c === '\n' || c === ',') && depth === 0) lineStart = i + 1;
  }
  finish(end - 1);
  return entries;
}

/** Offset of `var|param|output|resource|module <name>` at the start of a line. */
export function declarationOffset(file: BicepFile, kind: 'var' | 'param' | 'output' | 'resource' | 'module', name: string): number {
  const match = new RegExp(`^${kind}\\s+${name}\\b`, 'm').exec(file.code);
  if (!match) throw new Error(`${kind} ${name} is not declared in ${file.path}`);
  return match.index;
}

/** The top-level entries of `var <name> = { ... }`. */
export function varObject(file: BicepFile, name: string): Map<string, Entry> {
  return objectEntries(file, declarationOffset(file, 'var', name));
}

/** The entries of `params: { ... }` of `module <symbol>`. */
export function moduleParams(file: BicepFile, symbol: string): Map<string, Entry> {
  return nested(file, objectEntries(file, declarationOffset(file, 'module', symbol)), 'params');
}

/** The entries of the object that is the value of `key` among `entries`. */
export function nested(file: BicepFile, entries: Map<string, Entry>, key: string): Map<string, Entry> {
  const entry = entries.get(key);
  if (entry === undefined) throw new Error(`no '${key}' in the object read from ${file.path}`);
  return objectEntries(file, entry.offset);
}

export interface Reference {
  readonly symbol: string;
  /** What is between the quotes: a relative path, or br/public:avm/...:<version>. */
  readonly target: string;
  readonly existing: boolean;
  /** The expression of `= if (<condition>)`, as written; undefined when the declaration is unconditional. */
  readonly condition: string | undefined;
  readonly offset: number;
}

/** Every `module <symbol> '<target>'` or `resource <symbol> '<type@version>'` of the file. */
export function declarations(file: BicepFile, kind: 'module' | 'resource'): Reference[] {
  const found: Reference[] = [];
  const pattern = new RegExp(`^${kind}\\s+(\\w+)\\s+'`, 'gm');
  for (let m = pattern.exec(file.code); m; m = pattern.exec(file.code)) {
    const quote = m.index + m[0].length;
    const target = file.text.slice(quote, file.text.indexOf("'", quote));
    const equals = file.code.indexOf('=', quote + target.length + 1);
    const rest = file.code.slice(quote + target.length + 1, equals);
    const guarded = /^\s*if\s*\(/.exec(file.code.slice(equals + 1));
    let condition: string | undefined;
    if (guarded) {
      const { start, end } = blockAt(file, equals + 1, '(');
      condition = file.text.slice(start + 1, end - 1).trim();
    }
    found.push({ symbol: m[1], target, existing: /\bexisting\b/.test(rest), condition, offset: m.index });
  }
  return found;
}

export interface Param {
  readonly name: string;
  readonly type: string;
  readonly hasDefault: boolean;
}

export function params(file: BicepFile): Param[] {
  const found: Param[] = [];
  const pattern = /^param\s+(\w+)\s+([^=\n]+?)\s*(=.*)?$/gm;
  for (let m = pattern.exec(file.code); m; m = pattern.exec(file.code)) {
    found.push({ name: m[1], type: m[2].trim(), hasDefault: m[3] !== undefined || m[2].trim().endsWith('?') });
  }
  return found;
}
