// Sweeps beyond one machine: merge refuses missing trials (naming the shards
// and how to rerun them) unless told --allow-partial; `scorecrl slurm init`
// writes job scripts with the values given, which bash parses and which run
// the right shard and queue the merge after every task (with stand-ins for
// srun, sbatch and sinfo; scripts/ci-slurm.sh runs them on a real Slurm);
// `scorecrl k8s init` writes manifests that the Kubernetes schemas accept
// (and kubectl parses, where it is installed), whose pod commands run; the
// Docker build context holds what the image's build reads.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { batch, v1 } from 'kubernetes-models';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { readResults, recordOutcome } from '../src/sweep/store.js';
import { BIN, ROOT, runCli } from './helpers/cli.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'scorecrl-scale-'));

/** A small sweep: 4 cells x 10 runs = 40 trials of well under a millisecond each. */
const TINY = ['--quick', '--nd', '2x2,3x3', '--samples', '200,400', '--seed', '5'];
const QUIET = ['--progress', 'none', '--no-report', '--reference', 'none'];

const trialLines = (file: string) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.includes('"type":"trial"'));
const outcomes = (file: string) => new Map([...readResults(file).records.values()].map((r) => [r.id, recordOutcome(r)]));

/** A folder of executables standing in for Slurm's commands. */
function fakeCommands(dir: string, commands: Record<string, string>): string {
  const bin = join(dir, 'fake-bin');
  mkdirSync(bin, { recursive: true });
  for (const [name, body] of Object.entries(commands)) {
    writeFileSync(join(bin, name), `#!/bin/bash\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  }
  return bin;
}

function bash(script: string, args: string[], env: Record<string, string>, cwd?: string) {
  const r = spawnSync('bash', [script, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, cwd, timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('merge with missing trials', () => {
  it('exits 3 naming the shards that lack trials (also one with no file) and writes nothing; --allow-partial writes', () => {
    const dir = tmp();
    const out = join(dir, 'r');
    for (const k of [1, 3]) expect(runCli(['sweep', ...TINY, ...QUIET, '--shard', `${k}/4`, '-o', out]).code).toBe(0);
    // Shard 3 lost its last trial (e.g. a task killed mid-write).
    const shard3 = join(out, 'trials-shard-3-of-4.jsonl');
    const lines = readFileSync(shard3, 'utf8').trimEnd().split('\n');
    writeFileSync(shard3, `${lines.slice(0, -1).join('\n')}\n`);

    const m = runCli(['merge', out]);
    expect(m.code).toBe(3);
    expect(m.stderr).toMatch(
      /21 of the 40 trials of sweep \w+ are missing: shard 2\/4 lacks all its 10 trials, shard 3\/4 lacks 1 of its 10 trials, shard 4\/4 lacks all its 10 trials; nothing was written/,
    );
    expect(m.stderr).toMatch(/scorecrl sweep … --shard 2\/4 -o .*r; scorecrl sweep … --shard 3\/4/);
    expect(existsSync(join(out, 'trials.jsonl'))).toBe(false);

    // The command that reruns them, with the shards as a Slurm array list.
    const r = runCli(['merge', out, '--rerun', 'bash slurm/submit.sh {shards}']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('rerun the missing shards (2-4): bash slurm/submit.sh 2-4\nthen merge again');

    const partial = runCli(['merge', out, '--allow-partial']);
    expect(partial.code, partial.stderr).toBe(0);
    expect(partial.stdout).toMatch(/19\/40 trials/);
    expect(partial.stderr).toMatch(/warning: 21 of the 40 trials .* are missing: shard 2\/4/);
    expect(trialLines(join(out, 'trials.jsonl'))).toHaveLength(19);

    // Rerunning the named shards completes the sweep: merge then succeeds and equals one whole run.
    for (const k of [2, 3, 4]) expect(runCli(['sweep', ...TINY, ...QUIET, '--shard', `${k}/4`, '-o', out]).code).toBe(0);
    const done = runCli(['merge', out]);
    expect(done.code, done.stderr).toBe(0);
    expect(done.stdout).toMatch(/40\/40 trials/);
    const whole = join(dir, 'whole');
    expect(runCli(['sweep', ...TINY, ...QUIET, '-o', whole]).code).toBe(0);
    expect(outcomes(join(out, 'trials.jsonl'))).toEqual(outcomes(join(whole, 'trials.jsonl')));
  });

  it('without shard files, says how to fill the trials in', () => {
    const dir = tmp();
    const out = join(dir, 'r');
    expect(runCli(['sweep', ...TINY, ...QUIET, '-o', out]).code).toBe(0);
    const file = join(out, 'trials.jsonl');
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    const cut = join(dir, 'cut.jsonl');
    writeFileSync(cut, `${lines.slice(0, 30).join('\n')}\n`);
    const m = runCli(['merge', cut, '-o', join(dir, 'm.jsonl')]);
    expect(m.code).toBe(3);
    expect(m.stderr).toMatch(
      /11 of the 40 trials .* are missing; nothing was written\nfill them in: merge what there is with --allow-partial/,
    );
  });
});

/** Runs `slurm init` in a fresh folder; returns the folder and the command's result. */
function slurmInit(args: string[]) {
  const dir = tmp();
  const r = runCli(['slurm', 'init', ...args], { cwd: dir });
  return { dir, ...r };
}

describe('scorecrl slurm init', () => {
  const ARGS = [
    ...TINY,
    '--shards',
    '4',
    '--cpus',
    '2',
    '--mem-per-cpu',
    '1500M',
    '--time',
    '0-02:30:00',
    '--partition',
    'short',
    '--account',
    'proj42',
    '--qos',
    'normal',
    '--max-running',
    '3',
    '--sbatch=--constraint=avx2',
    '-o',
    'results/tiny',
  ];

  it('writes the scripts with the values given; bash parses them; the config is the sweep asked for', () => {
    const { dir, code, stdout, stderr } = slurmInit(ARGS);
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(/sweep \w+: 4 cells x 10 runs = 40 trials in 4 shards \(10 each\); 2 CPUs per task/);
    const slurm = join(dir, 'slurm');
    expect(readdirSync(slurm).sort()).toEqual(['logs', 'merge.sbatch', 'submit.sh', 'sweep.json', 'sweep.sbatch']);
    for (const f of ['sweep.sbatch', 'merge.sbatch', 'submit.sh']) {
      const parse = spawnSync('bash', ['-n', join(slurm, f)], { encoding: 'utf8' });
      expect(parse.status, `${f}: ${parse.stderr}`).toBe(0);
    }
    const task = readFileSync(join(slurm, 'sweep.sbatch'), 'utf8');
    const directives = task.split('\n').filter((l) => l.startsWith('#SBATCH '));
    expect(directives).toEqual([
      '#SBATCH --job-name=scorecrl-sweep',
      '#SBATCH --array=1-4%3',
      '#SBATCH --ntasks=1',
      '#SBATCH --cpus-per-task=2',
      '#SBATCH --mem-per-cpu=1500M',
      '#SBATCH --time=0-02:30:00',
      '#SBATCH --partition=short',
      '#SBATCH --account=proj42',
      '#SBATCH --qos=normal',
      '#SBATCH --constraint=avx2',
      '#SBATCH --requeue',
      '#SBATCH --signal=TERM@60',
      '#SBATCH --open-mode=append',
      `#SBATCH --output=${slurm}/logs/%x-%A_%a.out`,
    ]);
    // node runs scorecrl's own entry point under srun, with exec: nothing between Slurm's signal and scorecrl.
    expect(task).toContain(`exec srun --ntasks=1 --cpus-per-task="\${SLURM_CPUS_PER_TASK}" \\\n  ${process.execPath} ${BIN} sweep`);
    const commands = task.split('\n').filter((l) => !l.startsWith('#'));
    expect(commands.join('\n')).not.toMatch(/npx|npm exec/);
    expect(task).toContain('SHARDS=4\n');
    const merge = readFileSync(join(slurm, 'merge.sbatch'), 'utf8');
    expect(merge).toContain('#SBATCH --partition=short\n#SBATCH --account=proj42\n#SBATCH --qos=normal\n#SBATCH --constraint=avx2\n');
    expect(merge).toContain(`merge ${dir}/results/tiny --rerun 'bash ${slurm}/submit.sh {shards}'`);
    // The config the jobs read is the sweep the flags describe.
    const viaConfig = runCli(['sweep', '--config', join(slurm, 'sweep.json'), '--dry-run']);
    const viaFlags = runCli(['sweep', ...TINY, '--dry-run']);
    expect(viaConfig.stdout.split(';')[0]).toBe(viaFlags.stdout.split(';')[0]);

    // Scripts are not replaced unless --force.
    const again = runCli(['slurm', 'init', ...ARGS], { cwd: dir });
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already exist.*--force/);
    expect(runCli(['slurm', 'init', ...ARGS, '--force'], { cwd: dir }).code).toBe(0);
  });

  it('refuses values Slurm would refuse or that cannot work, before writing anything', () => {
    for (const [args, message] of [
      [['--shards', '4', '--time', '2h'], /--time: '2h' is not valid/],
      [['--shards', '4', '--mem-per-cpu', '1 G'], /--mem-per-cpu: '1 G' is not valid/],
      [['--shards', '4', '--partition', 'a b'], /--partition: 'a b' is not valid/],
      [['--shards', '0'], /--shards must be a whole number/],
      [['--shards', '41'], /--shards 41: the sweep has only 40 trials/],
      [['--shards', '4', '--max-running', '5'], /--max-running 5: more than the 4 tasks/],
      [['--shards', '4', '-o', 'my results'], /--out .*my results: use a path of letters/],
      [['--shards', '4', '--sbatch=--x=$(id)'], /--sbatch: '--x=\$\(id\)' is not valid/],
      [['--shards', '4', '--config', '/dev/zero'], /--config: \/dev\/zero is not a regular file/],
      [['--shards', '4', '--nd', '2x1'], /--nd 2x1: d \(1\) must be >= n \(2\)/],
      [[], /required option '--shards <N>'/],
    ] as const) {
      const r = slurmInit([...TINY, ...args]);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(existsSync(join(r.dir, 'slurm')), args.join(' ')).toBe(false);
    }
  });

  it('a task runs its shard k/N with the CPUs Slurm gave it; a task outside 1..N is refused', () => {
    const { dir, code } = slurmInit([...TINY, '--shards', '4', '--cpus', '1', '-o', 'results']);
    expect(code).toBe(0);
    // srun stand-in: drops srun's own options and runs the command, as srun does on the node.
    const bin = fakeCommands(dir, { srun: 'while [[ $1 == --* ]]; do shift; done\necho "srun ran: $*" >&2\nexec "$@"' });
    const env = { PATH: `${bin}:${process.env.PATH}`, SLURM_CPUS_PER_TASK: '1', SLURM_JOB_ID: '7' };
    const script = join(dir, 'slurm', 'sweep.sbatch');
    const t3 = bash(script, [], { ...env, SLURM_ARRAY_TASK_ID: '3' });
    expect(t3.code, t3.stderr).toBe(0);
    expect(t3.stderr).toMatch(/srun ran: .* sweep --config .*slurm\/sweep.json --out .*results --shard 3\/4 --workers 1/);
    expect(trialLines(join(dir, 'results', 'trials-shard-3-of-4.jsonl'))).toHaveLength(10);
    const t5 = bash(script, [], { ...env, SLURM_ARRAY_TASK_ID: '5' });
    expect(t5.code).toBe(2);
    expect(t5.stderr).toMatch(/array task 5 is outside 1..4: this sweep has 4 shards/);
    const none = bash(script, [], env);
    expect(none.code).not.toBe(0);
    expect(none.stderr).toMatch(/submit this script as a job array task/);
  });

  it('submit.sh queues the array then the merge (afterany), reruns a subset, and refuses what would pend forever', () => {
    const { dir, code } = slurmInit([...TINY, '--shards', '4', '--cpus', '2', '--partition', 'short', '-o', 'results']);
    expect(code).toBe(0);
    const calls = join(dir, 'sbatch-calls');
    const bin = fakeCommands(dir, {
      sbatch: `echo "$*" >> ${calls}\necho "$(( $(wc -l < ${calls}) + 100 ));cluster"`,
      sinfo: `echo "$*" >> sinfo-calls\necho "\${FAKE_NODES:-8 16000}"`,
    });
    const env = { PATH: `${bin}:${process.env.PATH}` };
    const submit = join(dir, 'slurm', 'submit.sh');
    const all = bash(submit, [], env, dir);
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout).toMatch(/queued array job 101 \(shards 1-4 of 4\) and merge job 102/);
    expect(existsSync(join(dir, 'slurm', 'logs'))).toBe(true);
    expect(existsSync(join(dir, 'results'))).toBe(true);
    expect(readFileSync(join(dir, 'sinfo-calls'), 'utf8')).toContain('--partition=short');
    const rerun = bash(submit, ['2,4'], env, dir);
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(readFileSync(calls, 'utf8').trim().split('\n')).toEqual([
      `--parsable --array=1-4 ${dir}/slurm/sweep.sbatch`,
      `--parsable --dependency=afterany:101 ${dir}/slurm/merge.sbatch`,
      `--parsable --array=2,4 ${dir}/slurm/sweep.sbatch`,
      `--parsable --dependency=afterany:103 ${dir}/slurm/merge.sbatch`,
    ]);
    for (const [args, extra, message] of [
      [['5'], {}, /shard 5 is outside 1..4/],
      [['a'], {}, /usage: .*e.g. 3 or 3,7 or 1-4/],
      [
        [],
        { FAKE_NODES: '1 16000' },
        /a task asks for 2 CPUs but the largest node of partition short has 1; write the scripts again with --cpus 1/,
      ],
      [[], { FAKE_NODES: '8 1000' }, /a task asks for 2048 MB/],
    ] as const) {
      const r = bash(submit, [...args], { ...env, ...extra }, dir);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
    }
    expect(readFileSync(calls, 'utf8').trim().split('\n')).toHaveLength(4);
  });
});

/** The objects of a YAML file, each checked against the Kubernetes schema of its kind. */
function validated(file: string): Record<string, any>[] {
  const models: Record<string, new (data: any) => { validate(): void }> = {
    ConfigMap: v1.ConfigMap,
    PersistentVolumeClaim: v1.PersistentVolumeClaim,
    Job: batch.v1.Job,
  };
  return parseAllDocuments(readFileSync(file, 'utf8')).map((doc) => {
    expect(doc.errors, file).toEqual([]);
    const object = doc.toJS();
    const Model = models[object.kind];
    expect(Model, `${file}: kind ${object.kind}`).toBeDefined();
    new Model!(object).validate();
    return object;
  });
}

describe('scorecrl k8s init', () => {
  it('writes manifests the Kubernetes schemas accept, with the shard count given once', () => {
    const dir = tmp();
    const r = runCli(
      [
        'k8s',
        'init',
        ...TINY,
        '--shards',
        '3',
        '--cpus',
        '4',
        '--memory',
        '3Gi',
        '--image',
        'registry.example.org/scorecrl:0.1.0',
        '--storage-class',
        'nfs-client',
        '--parallelism',
        '2',
        '--name',
        'tiny',
      ],
      { cwd: dir },
    );
    expect(r.code, r.stderr).toBe(0);
    const [config, claim, job] = validated(join(dir, 'k8s', 'sweep.yaml'));
    const [merge] = validated(join(dir, 'k8s', 'merge.yaml'));
    expect(claim).toMatchObject({
      metadata: { name: 'tiny-results' },
      spec: { accessModes: ['ReadWriteMany'], storageClassName: 'nfs-client' },
    });
    expect(job.spec).toMatchObject({ completionMode: 'Indexed', completions: 3, parallelism: 2 });
    const pod = job.spec.template.spec;
    const container = pod.containers[0];
    expect(container.env).toEqual([{ name: 'SHARDS', value: '3' }]);
    expect(container.image).toBe('registry.example.org/scorecrl:0.1.0');
    expect(container.resources).toEqual({ requests: { cpu: '4', memory: '3Gi' }, limits: { cpu: '4', memory: '3Gi' } });
    expect(container.args[0]).toMatch(/^exec scorecrl sweep .*--shard "\$\(\(JOB_COMPLETION_INDEX \+ 1\)\)\/\$SHARDS" --workers 4/);
    expect(pod.volumes.map((v: any) => v.persistentVolumeClaim?.claimName ?? v.configMap?.name)).toEqual(['tiny-results', 'tiny-config']);
    expect(merge.spec.template.spec.volumes[0].persistentVolumeClaim.claimName).toBe('tiny-results');

    // The pods' commands run as written (paths of the volume and the ConfigMap mapped to folders here).
    const volume = join(dir, 'volume');
    const configDir = join(dir, 'config');
    mkdirSync(configDir);
    writeFileSync(join(configDir, 'sweep.json'), config.data['sweep.json']);
    const bin = fakeCommands(dir, { scorecrl: `exec ${process.execPath} ${BIN} "$@"` });
    const inPod = (command: string, env: Record<string, string>) =>
      spawnSync('/bin/sh', ['-c', command.replaceAll('/config/', `${configDir}/`).replaceAll('/results/', `${volume}/`)], {
        encoding: 'utf8',
        env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, ...env },
      });
    for (const index of [0, 2]) {
      const p = inPod(container.args[0], { JOB_COMPLETION_INDEX: String(index), SHARDS: '3' });
      expect(p.status, p.stderr).toBe(0);
      expect(existsSync(join(volume, 'tiny', `trials-shard-${index + 1}-of-3.jsonl`))).toBe(true);
    }
    const missing = inPod(merge.spec.template.spec.containers[0].args[0], {});
    expect(missing.status).toBe(3);
    expect(missing.stderr).toContain(
      'rerun the missing shards (2): kubectl delete job tiny-sweep tiny-merge --ignore-not-found && kubectl apply -f k8s/sweep.yaml',
    );
    expect(inPod(container.args[0], { JOB_COMPLETION_INDEX: '1', SHARDS: '3' }).status).toBe(0);
    const merged = inPod(merge.spec.template.spec.containers[0].args[0], {});
    expect(merged.status, merged.stderr).toBe(0);
    expect(existsSync(join(volume, 'tiny', 'report.html'))).toBe(true);

    // kubectl reads them as objects without a cluster (--local), where it is installed.
    const kubectl = spawnSync('kubectl', ['label', '--local', '-f', join(dir, 'k8s'), 'checked=yes', '-o', 'name'], { encoding: 'utf8' });
    if (kubectl.error) {
      console.log(`kubectl not installed (${kubectl.error.message}): its parse of the manifests is skipped`);
    } else {
      expect(kubectl.status, kubectl.stderr).toBe(0);
      expect(kubectl.stdout.trim().split('\n').sort()).toEqual([
        'configmap/tiny-config',
        'job.batch/tiny-merge',
        'job.batch/tiny-sweep',
        'persistentvolumeclaim/tiny-results',
      ]);
    }
  });

  it('refuses names and sizes Kubernetes would refuse', () => {
    for (const [args, message] of [
      [['--name', 'My_Sweep'], /--name: 'My_Sweep' is not valid/],
      [['--memory', '2GB'], /--memory: '2GB' is not valid/],
      [['--image', 'a b'], /--image: 'a b' is not valid/],
      [['--access-mode', 'ReadOnlyMany'], /--access-mode: 'ReadOnlyMany' is not valid/],
      [['--parallelism', '9'], /--parallelism 9: more than the 3 shards/],
    ] as const) {
      const dir = tmp();
      const r = runCli(['k8s', 'init', ...TINY, '--shards', '3', ...args], { cwd: dir });
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(existsSync(join(dir, 'k8s'))).toBe(false);
    }
  });
});

describe('the Docker build context', () => {
  it('lets in every source the image build reads, and nothing it builds itself', () => {
    const rules = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .filter((l) => l.trim() && !l.startsWith('#'));
    expect(rules[0]).toBe('*');
    const allowed = rules.slice(1).map((r) => r.replace(/^!/, ''));
    const inContext = (path: string) => allowed.some((a) => path === a.replace(/\/$/, '') || (a.endsWith('/') && path.startsWith(a)));
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    // What npm pack ships, less what the build makes (dist/ by tsc, prebuilds/ by prebuildify).
    for (const entry of pkg.files as string[]) {
      if (entry === 'dist/' || entry === 'prebuilds/') continue;
      expect(inContext(entry.replace(/\/$/, '')) || inContext(entry), entry).toBe(true);
    }
    for (const needed of ['package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'src/cli/main.ts'])
      expect(inContext(needed), needed).toBe(true);
    for (const built of [
      'dist/index.js',
      'build/Release/scorecrl.node',
      'prebuilds/linux-x64/scorecrl.node',
      'node_modules/commander/package.json',
      '.git/HEAD',
    ]) {
      expect(inContext(built), built).toBe(false);
    }
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/npm run build:prebuilds/);
    expect(dockerfile).toMatch(/npm install --omit=dev --ignore-scripts/);
  });
});
