import type { Command } from 'commander';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { aggregate, compareWithReference, parseReferenceCsv, type ReferenceRow } from '../sweep/aggregate.js';
import { ConfigError, configFromJson, expandCells, type Cell } from '../sweep/config.js';
import { withPath } from '../io/files.js';
import { expandInputs } from '../sweep/merge.js';
import { BUILTIN_REFERENCE_CSV, BUILTIN_REFERENCE_NAME } from '../sweep/reference-table.js';
import { writeReport } from '../sweep/report.js';
import { readResults, type TrialRecord } from '../sweep/store.js';
import { formatComparison, formatRateMatrix, formatTable } from '../sweep/table.js';
import { asUsage, positiveNumber } from './options.js';

export interface Reference {
  name: string;
  rows: ReferenceRow[];
}

/** 'builtin' (the NeurIPS 2024 reference table), 'none', or a CSV file. */
export function loadReference(spec: string | undefined): Reference | undefined {
  if (!spec || spec === 'none') return undefined;
  if (spec === 'builtin') return { name: BUILTIN_REFERENCE_NAME, rows: parseReferenceCsv(BUILTIN_REFERENCE_CSV) };
  if (!existsSync(spec)) throw new ConfigError(`--reference: ${spec} does not exist`);
  try {
    return { name: spec, rows: parseReferenceCsv(readFileSync(spec, 'utf8')) };
  } catch (error) {
    throw new ConfigError(`--reference ${spec}: ${(error as Error).message}`);
  }
}

export interface SummariseOptions {
  reference?: Reference;
  tolerance: number;
  /** Write summary.csv/json, figures and report.html into the output directory. */
  write: boolean;
  figures: boolean;
  /** Print JSON instead of text tables. */
  json?: boolean;
}

/** Reads result files, prints the tables and (optionally) writes the report. */
export async function summarise(files: string[], outDir: string, options: SummariseOptions): Promise<void> {
  const records = new Map<string, TrialRecord>();
  let sweepId: string | undefined;
  let planned: number | undefined;
  let order: Cell[] | undefined;
  for (const file of files) {
    const read = withPath(file, 'read', () => readResults(file));
    if (!read.header && read.records.size === 0) {
      throw new ConfigError(
        read.totalBytes === 0
          ? `${file} is empty: not a scorecrl result file`
          : `${file} is not a scorecrl result file (no sweep header and no trial records; give the trials.jsonl of a sweep, or its folder)`,
      );
    }
    for (const p of read.problems) process.stderr.write(`warning: ${p}\n`);
    if (read.header) {
      if (sweepId && read.header.sweepId !== sweepId) {
        throw new ConfigError(`${file} is from a different sweep (${read.header.sweepId}) than the other files (${sweepId})`);
      }
      sweepId = read.header.sweepId;
      try {
        const config = configFromJson(read.header.config, `${file} header`);
        order = expandCells(config);
        planned = order.length * config.runs;
      } catch {
        // An unreadable config only loses the plan order.
      }
    }
    for (const [id, r] of read.records) {
      const previous = records.get(id);
      if (!previous || (previous.status === 'error' && r.status === 'ok')) records.set(id, r);
    }
  }
  const rows = aggregate(records.values(), order);
  const errors = [...records.values()].filter((r) => r.status === 'error');
  const comparisons = options.reference ? compareWithReference(rows, options.reference.rows) : [];
  if (options.json) {
    console.log(JSON.stringify({ sweepId, trials: records.size, planned, errors: errors.length, comparisons }, null, 2));
  } else {
    console.log(
      `\n${records.size} trials${planned ? ` of ${planned}` : ''} in ${rows.length} cells` +
        (errors.length ? `, ${errors.length} failed` : ''),
    );
    if (errors.length) {
      const first = errors[0]!;
      console.log(`first failure: n=${first.cell.n} d=${first.cell.d} N=${first.cell.samples} run ${first.run}: ${first.error}`);
    }
    console.log(
      `\nCorrect-graph rate (share of runs with SHD 0: of the transitive closure for finite-sample and soft interventions, of the DAG for hard lscale, umni and gscale cells)` +
        (comparisons.length ? `; in parentheses: ${options.reference!.name}` : '') +
        `\n`,
    );
    console.log(formatRateMatrix(rows, comparisons));
    if (comparisons.length) console.log(`\n${formatComparison(comparisons, options.tolerance)}`);
    console.log('\nAll cells (mean ± standard error)\n');
    console.log(formatTable(rows));
  }
  if (options.write && rows.length > 0) {
    const written = await writeReport(outDir, rows, {
      sources: files,
      sweepId,
      trials: records.size,
      errors: errors.length,
      planned,
      reference: options.reference
        ? { file: options.reference.name, rows: options.reference.rows, comparisons, tolerance: options.tolerance }
        : undefined,
    });
    process.stderr.write(
      `report: ${written.csv}, ${written.json}, ${written.html}, ${written.figures.length} figures in ${dirname(written.figures[0]!)}\n`,
    );
  }
}

export function registerReport(program: Command): void {
  program
    .command('report')
    .description(
      'aggregate sweep results: table (mean ± s.e. per cell, correct-graph rate) printed and written as CSV/JSON, SVG figures and an HTML page',
    )
    .argument('<inputs...>', 'result files (.jsonl) or directories holding them')
    .option('-o, --out <dir>', "where to write summary.csv, summary.json, figures/ and report.html (default: the first input's directory)")
    .option('--reference <csv>', "reference table to compare correct-graph rates with ('builtin' or 'none')", 'builtin')
    .option('--tolerance <x>', 'allowed |difference| from the reference rate', positiveNumber, 0.15)
    .option('--no-write', 'only print the tables')
    .option('--json', 'print a JSON summary instead of the tables')
    .action(async (inputs: string[], flags: { out?: string; reference: string; tolerance: number; write: boolean; json?: boolean }) => {
      const { files, reference } = await asUsage(() => {
        // A directory holding a merged trials.jsonl: use it alone, not the shards beside it.
        const expanded = inputs.flatMap((p) =>
          existsSync(p) && statSync(p).isDirectory() && existsSync(`${p}/trials.jsonl`) ? [`${p}/trials.jsonl`] : [p],
        );
        return { files: expandInputs(expanded), reference: loadReference(flags.reference) };
      });
      const out = flags.out ?? (statSync(inputs[0]!).isDirectory() ? inputs[0]! : dirname(inputs[0]!));
      await asUsage(() =>
        summarise(files, out, { reference, tolerance: flags.tolerance, write: flags.write, figures: true, json: flags.json }),
      );
    });
}
