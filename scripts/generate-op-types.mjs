#!/usr/bin/env node
// Writes src/ops/generated/op-types.ts: the TypeScript inputs and outputs of
// every core operation, from the specs the core declares (the describeOps
// operation; see native/include/scorecrl/runtime/op_spec.hpp). Reads the
// built native addon, or the committed WebAssembly module when there is none.
//
//   node scripts/generate-op-types.mjs           write the file
//   node scripts/generate-op-types.mjs --check   exit 1 if the file is stale
//   ... --wasm                                    read the WebAssembly module even if the addon is built
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * One operation's spec as describeOps exports it (native/src/runtime/op_spec.cpp).
 * @typedef {{ name: string, kind: Kind, required: boolean, doc: string, dims?: string[] | null,
 *   default?: number | string, defaultText?: string, allowed?: string[],
 *   range?: { min?: number, max?: number, minOpen?: boolean, maxOpen?: boolean } }} InputSpec
 * @typedef {{ name: string, kind: Kind, optional: boolean, doc: string, dims?: string[] }} OutputSpec
 * @typedef {{ name: string, doc: string, inputs: InputSpec[], outputs: OutputSpec[] }} OpSpec
 * @typedef {'array' | 'number' | 'integer' | 'flag' | 'string'} Kind
 */

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const target = join(root, 'src/ops/generated/op-types.ts');

/** @returns {Promise<OpSpec[]>} */
async function loadSpecs() {
  const addon = join(root, 'build/Release/scorecrl.node');
  if (existsSync(addon) && !process.argv.includes('--wasm')) {
    const out = createRequire(import.meta.url)(addon).call('describeOps', {}, {}, {});
    return JSON.parse(out.strings.json);
  }
  const factory = (await import(join(root, 'wasm/dist/scorecrl.mjs'))).default;
  const module = await factory({ wasmBinary: readFileSync(join(root, 'wasm/dist/scorecrl.wasm')) });
  const out = module.call('describeOps', {}, {}, {}, undefined, undefined, (/** @type {number} */ length) => new Float64Array(length));
  if (out.error) throw new Error(out.error);
  return JSON.parse(out.strings.json);
}

/** @param {string} name */
const pascal = (name) => name[0].toUpperCase() + name.slice(1);
/** @param {string} name */
const quote = (name) => (/^[A-Za-z_$][\w$]*$/.test(name) ? name : `'${name}'`);
/** @param {string} text @param {string} indent */
const comment = (text, indent) => `${indent}/** ${text.replaceAll('*/', '* /')} */\n`;
/** @param {string[] | null | undefined} dims */
const shape = (dims) => (dims === null || dims === undefined ? 'any shape' : dims.length ? dims.join(' × ') : 'scalar');

/** @param {InputSpec} input */
function inputDoc(input) {
  const sentence = (/** @type {string} */ text) => (/[.)]$/.test(text) ? text : `${text}.`);
  const parts = [sentence(input.kind === 'array' ? `${shape(input.dims)}: ${input.doc}` : input.doc)];
  if (input.allowed?.length) parts.push(`One of ${input.allowed.map((a) => `'${a}'`).join(', ')}.`);
  if (input.range) {
    const { min, max, minOpen, maxOpen } = input.range;
    if (min !== undefined && max !== undefined) parts.push(`In ${minOpen ? '(' : '['}${min}, ${max}${maxOpen ? ')' : ']'}.`);
    else if (min !== undefined) parts.push(`${minOpen ? '>' : '>='} ${min}.`);
    else parts.push(`${maxOpen ? '<' : '<='} ${max}.`);
  }
  if (input.default !== undefined)
    parts.push(`Default ${input.kind === 'flag' ? String(input.default !== 0) : JSON.stringify(input.default)}.`);
  else if (input.defaultText) parts.push(`Default: ${input.defaultText}.`);
  return parts.join(' ');
}

/** @param {InputSpec} input */
function inputType(input) {
  if (input.kind === 'array') return 'NDArray';
  if (input.kind === 'flag') return 'number | boolean';
  if (input.kind === 'string') return input.allowed?.length ? input.allowed.map((a) => `'${a}'`).join(' | ') : 'string';
  return 'number';
}

/** @type {[string, (kind: Kind) => boolean][]} */
const SLOTS = [
  ['arrays', (k) => k === 'array'],
  ['numbers', (k) => k === 'number' || k === 'integer' || k === 'flag'],
  ['strings', (k) => k === 'string'],
];

/** @param {OpSpec} spec */
function inputsInterface(spec) {
  let out = `${comment(`Inputs of '${spec.name}': ${spec.doc}`, '')}export interface ${pascal(spec.name)}Inputs {\n`;
  for (const [slot, matches] of SLOTS) {
    const members = spec.inputs.filter((i) => matches(i.kind));
    if (!members.length) continue;
    const required = members.some((i) => i.required);
    out += `  ${slot}${required ? '' : '?'}: {\n`;
    for (const i of members) out += `${comment(inputDoc(i), '    ')}    ${quote(i.name)}${i.required ? '' : '?'}: ${inputType(i)};\n`;
    out += '  };\n';
  }
  return `${out}}\n`;
}

/** @param {OpSpec} spec */
function outputsInterface(spec) {
  let out = `${comment(`Outputs of '${spec.name}'.`, '')}export interface ${pascal(spec.name)}Outputs {\n`;
  for (const [slot, matches] of SLOTS) {
    const members = spec.outputs.filter((o) => matches(o.kind));
    const type = slot === 'arrays' ? 'NDArray' : slot === 'numbers' ? 'number' : 'string';
    if (!members.length) {
      out += `  ${slot}: Record<string, never>;\n`;
      continue;
    }
    out += `  ${slot}: {\n`;
    for (const o of members) {
      const doc = o.kind === 'array' ? `${shape(o.dims)}: ${o.doc}` : o.doc;
      if (o.name.includes('*')) {
        const [head, tail] = o.name.split('*');
        out += `${comment(doc, '    ')}    [name: \`${head}\${number}${tail}\`]: ${type};\n`;
      } else {
        out += `${comment(doc, '    ')}    ${quote(o.name)}${o.optional ? '?' : ''}: ${type};\n`;
      }
    }
    out += '  };\n';
  }
  return `${out}}\n`;
}

/** @param {OpSpec[]} specs */
function generate(specs) {
  let out = `// Generated by scripts/generate-op-types.mjs from the core's operation specs
// (native/src/ops/*.cpp). Do not edit: change the spec, rebuild, and run
// \`npm run generate\`.
import type { NDArray } from '../../types.js';

`;
  for (const spec of specs) out += `${inputsInterface(spec)}\n${outputsInterface(spec)}\n`;
  out += '/** Every core operation, by name: its inputs and outputs. */\nexport interface OpTypes {\n';
  for (const spec of specs) out += `  ${spec.name}: { inputs: ${pascal(spec.name)}Inputs; outputs: ${pascal(spec.name)}Outputs };\n`;
  out += '}\n\nexport type OpName = keyof OpTypes;\n';
  return out;
}

const text = generate(await loadSpecs());
if (process.argv.includes('--check')) {
  const current = existsSync(target) ? readFileSync(target, 'utf8') : '';
  if (current !== text) {
    console.error(`${target} is stale: the core's operation specs changed. Run \`npm run generate\` and commit the result.`);
    process.exit(1);
  }
  console.log('op types up to date');
} else {
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, text);
  console.log(`wrote ${target}`);
}
