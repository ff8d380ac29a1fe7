/**
 * `scorecrl k8s init`: writes the manifests that run a sweep on Kubernetes:
 * the config as a ConfigMap, a volume for the results, an Indexed Job whose
 * pod k runs shard k+1/N (N written once: `completions` and the pods' SHARDS
 * come from the same value), and a Job that merges and reports.
 *
 * Pods run `exec scorecrl sweep …` (node replaces the shell), so the SIGTERM
 * of an eviction or deletion makes scorecrl write its running trials and exit
 * 143 within the grace period. An eviction or preemption (the pod's
 * DisruptionTarget condition) does not count against the back-off limit; a
 * usage error (exit 2) fails the Job at once instead of retrying.
 */
import type { Command } from 'commander';
import { join } from 'node:path';
import { ConfigError } from '../sweep/config.js';
import {
  configText,
  describeSplit,
  initCommand,
  invokedAs,
  matching,
  type ShardedSweep,
  scriptPath,
  shardedSweep,
  shellQuote,
  writeScripts,
} from './job-scripts.js';
import { asUsage, integer, packageVersion } from './options.js';
import type { SweepFlags } from './sweep.js';

/** A Kubernetes object name (DNS label; room left for the -sweep/-results suffixes and pod hashes). */
const K8S_NAME = /^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$/;
/** A quantity: 2Gi, 512Mi, 1G. */
const K8S_QUANTITY = /^\d+(\.\d+)?(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)?$/;
/** An image reference: registry/path:tag or @digest (no spaces or quotes). */
const IMAGE = /^[A-Za-z0-9][A-Za-z0-9._/:@-]*$/;
const ACCESS_MODES = ['ReadWriteMany', 'ReadWriteOnce'] as const;

/** The settings that go into the manifests as given. */
interface K8sSettings {
  name: string;
  cpus: number;
  memory: string;
  storage: string;
  storageClass?: string;
  accessMode: string;
  grace: number;
}

export interface K8sFlags extends Partial<SweepFlags>, K8sSettings {
  shards: number;
  dir: string;
  image?: string;
  parallelism?: number;
  force?: boolean;
}

/** Everything the manifests are rendered from. */
export interface K8sPlan extends K8sSettings {
  sweep: ShardedSweep;
  dir: string;
  image: string;
  parallelism: number;
  /** Where the results go inside the pods. */
  out: string;
  command: string;
}

export function registerK8s(program: Command): void {
  initCommand(
    program.command('k8s').description('run a sweep on Kubernetes: an Indexed Job of shards and a merge Job'),
    'write the manifests (sweep.yaml: config, volume, Indexed Job; merge.yaml) for a sweep split into shards',
    'pods of the Indexed Job (completions): the sweep is split into N shards',
    100_000,
  )
    .option('-d, --dir <folder>', 'where the manifests go', 'k8s')
    .option(
      '--name <name>',
      'name prefix of the objects (<name>-sweep, -merge, -config, -results)',
      matching('--name', K8S_NAME, 'scorecrl'),
      'scorecrl',
    )
    .option(
      '--image <ref>',
      `the scorecrl image (built from the repository's Dockerfile)`,
      matching('--image', IMAGE, 'registry.example.org/scorecrl:0.1.0'),
    )
    .option('--cpus <k>', 'CPUs per pod (= worker threads; request and limit)', integer('--cpus', 1, 1024), 2)
    .option('--memory <size>', 'memory per pod (request and limit)', matching('--memory', K8S_QUANTITY, '2Gi'), '2Gi')
    .option('--parallelism <k>', 'pods running at once (default: all shards)', integer('--parallelism', 1, 100_000))
    .option('--storage <size>', 'size of the results volume', matching('--storage', K8S_QUANTITY, '1Gi'), '1Gi')
    .option(
      '--storage-class <name>',
      'storage class of the results volume (default: the cluster default)',
      matching('--storage-class', /^[a-z0-9][a-z0-9.-]*$/, 'nfs-client'),
    )
    .option(
      '--access-mode <mode>',
      `access mode of the results volume: ${ACCESS_MODES.join(' or ')} (pods on several nodes need ReadWriteMany; on a one-node cluster ReadWriteOnce will do)`,
      matching('--access-mode', /^(ReadWriteMany|ReadWriteOnce)$/, 'ReadWriteMany'),
      'ReadWriteMany',
    )
    .option('--grace <s>', 'seconds a pod has after SIGTERM to write its running trials', integer('--grace', 1, 86_400), 60)
    .option('--force', 'replace manifests that exist')
    .addHelpText(
      'after',
      `
The sweep is given as for 'scorecrl sweep' (--config and the grid flags); the
resolved config goes into the ConfigMap. Results go to /results/<name> on the
volume.

  scorecrl k8s init --shards 16 --cpus 4 --image registry.example.org/scorecrl:0.1.0 --config sweep.json
  kubectl apply -f k8s/sweep.yaml
  kubectl wait --for=condition=complete job/scorecrl-sweep --timeout=24h
  kubectl apply -f k8s/merge.yaml && kubectl logs -f job/scorecrl-merge`,
    )
    .action(async (flags: K8sFlags) => {
      const plan = await asUsage(() => k8sPlan(flags));
      const files = await asUsage(() => writeScripts(plan.dir, renderK8s(plan), flags.force ?? false));
      console.log(`${describeSplit(plan.sweep)}; ${plan.cpus} CPU${plan.cpus === 1 ? '' : 's'} per pod, ${plan.parallelism} at once`);
      console.log(`wrote ${files.join(', ')}`);
      console.log(`the image ${plan.image} must be where the cluster pulls from (push it, or kind load / minikube image load)`);
      console.log(`run:   kubectl apply -f ${join(plan.dir, 'sweep.yaml')}`);
      console.log(`       kubectl wait --for=condition=complete job/${plan.name}-sweep --timeout=24h`);
      console.log(`merge: kubectl apply -f ${join(plan.dir, 'merge.yaml')} && kubectl logs -f job/${plan.name}-merge`);
    });
}

export function k8sPlan(flags: K8sFlags): K8sPlan {
  const sweep = shardedSweep(flags, flags.shards);
  const parallelism = flags.parallelism ?? flags.shards;
  if (parallelism > flags.shards) throw new ConfigError(`--parallelism ${parallelism}: more than the ${flags.shards} shards`);
  const { name, cpus, memory, storage, storageClass, accessMode, grace } = flags;
  return {
    ...{ name, cpus, memory, storage, storageClass, accessMode, grace },
    sweep,
    dir: scriptPath('--dir', flags.dir, true),
    image: flags.image ?? `scorecrl:${packageVersion()}`,
    parallelism,
    out: `/results/${name}`,
    command: invokedAs(),
  };
}

/** A YAML scalar: strings double-quoted (JSON's escapes are YAML's). */
const y = (value: string | number) => (typeof value === 'number' ? String(value) : JSON.stringify(value));

/** Text indented by `spaces` (for a YAML block). */
const indent = (text: string, spaces: number) =>
  text
    .trimEnd()
    .split('\n')
    .map((line) => ' '.repeat(spaces) + line)
    .join('\n');

export function renderK8s(plan: K8sPlan): { name: string; text: string }[] {
  const { sweep, name } = plan;
  const N = sweep.shards;
  const labelLines = `app.kubernetes.io/name: scorecrl\nscorecrl/sweep: ${y(sweep.id)}`;
  const written = `# Written by: ${plan.command}\n# (run it again with --force to change the settings)`;
  const rerun = `kubectl delete job ${name}-sweep ${name}-merge --ignore-not-found && kubectl apply -f ${join(plan.dir, 'sweep.yaml')}`;
  const metadata = (object: string) => `metadata:\n  name: ${object}\n  labels:\n${indent(labelLines, 4)}`;
  /** A Job of one container of the image running `command` under /bin/sh, with the results volume (plus `volumes`). */
  const job = (o: {
    object: string;
    spec: string;
    pod: string;
    container: string;
    command: string;
    rest: string;
    volumes?: string;
  }) => `apiVersion: batch/v1
kind: Job
${metadata(o.object)}
spec:
${indent(o.spec, 2)}
  template:
    metadata:
      labels:
${indent(labelLines, 8)}
    spec:
${indent(o.pod, 6)}
      containers:
        - name: ${o.container}
          image: ${y(plan.image)}
          imagePullPolicy: IfNotPresent
          command: ["/bin/sh", "-c"]
          args:
            - >-
${indent(o.command, 14)}
${indent(o.rest, 10)}
      volumes:
        - name: results
          persistentVolumeClaim:
            claimName: ${name}-results
${o.volumes ? `${indent(o.volumes, 8)}\n` : ''}`;

  const sweepJob = job({
    object: `${name}-sweep`,
    spec: `completionMode: Indexed
completions: ${N}
parallelism: ${plan.parallelism}
backoffLimit: ${Math.max(6, 2 * N)}
podFailurePolicy:
  rules:
    # Evicted or preempted pods are replaced without counting as failures.
    - action: Ignore
      onPodConditions:
        - type: DisruptionTarget
          status: "True"
    # A usage error (a bad config) will not get better by retrying.
    - action: FailJob
      onExitCodes:
        containerName: sweep
        operator: In
        values: [2]`,
    pod: `restartPolicy: Never\nterminationGracePeriodSeconds: ${plan.grace}`,
    container: 'sweep',
    command: `exec scorecrl sweep --config /config/sweep.json --out ${plan.out} --shard "$((JOB_COMPLETION_INDEX + 1))/$SHARDS" --workers ${plan.cpus} --progress lines --progress-interval 30`,
    rest: `env:
  - name: SHARDS
    value: ${y(String(N))}
resources:
  requests:
    cpu: ${y(String(plan.cpus))}
    memory: ${y(plan.memory)}
  limits:
    cpu: ${y(String(plan.cpus))}
    memory: ${y(plan.memory)}
volumeMounts:
  - name: config
    mountPath: /config
    readOnly: true
  - name: results
    mountPath: /results`,
    volumes: `- name: config\n  configMap:\n    name: ${name}-config`,
  });

  const sweepYaml = `# scorecrl ${describeSplit(sweep)},
# as a Kubernetes Indexed Job: pod k (JOB_COMPLETION_INDEX, from 0) runs shard
# k+1/${N} into ${plan.out} on the volume ${name}-results.
${written}
#
# Needs: the image ${plan.image} where the cluster's nodes pull from (push it to
# a registry, or kind load docker-image / minikube image load), and a storage
# class that gives ${plan.accessMode} volumes (every pod mounts the results).
#   kubectl apply -f ${join(plan.dir, 'sweep.yaml')}
#   kubectl wait --for=condition=complete job/${name}-sweep --timeout=24h
#   kubectl apply -f ${join(plan.dir, 'merge.yaml')}
# A pod that is evicted or deleted gets SIGTERM, writes its running trials and
# exits 143; its replacement resumes the shard file. To run shards again after
# the Job failed (finished shards end at once, the others resume):
#   ${rerun}
apiVersion: v1
kind: ConfigMap
${metadata(`${name}-config`)}
data:
  sweep.json: |
${indent(configText(sweep), 4)}
---
apiVersion: v1
kind: PersistentVolumeClaim
${metadata(`${name}-results`)}
spec:
  accessModes: [${y(plan.accessMode)}]${plan.storageClass ? `\n  storageClassName: ${y(plan.storageClass)}` : ''}
  resources:
    requests:
      storage: ${y(plan.storage)}
---
${sweepJob}`;

  const mergeYaml = `# Merges the ${N} shard files of scorecrl ${describeSplit(sweep)}
# into ${plan.out}/trials.jsonl on the volume ${name}-results and writes the report beside it.
# Apply once job/${name}-sweep is complete. When trials are missing it fails
# (exit 3) naming the shards and the command that runs them again.
${written}
#   kubectl apply -f ${join(plan.dir, 'merge.yaml')} && kubectl logs -f job/${name}-merge
${job({
  object: `${name}-merge`,
  spec: 'backoffLimit: 0',
  pod: 'restartPolicy: Never',
  container: 'merge',
  command: `scorecrl merge ${plan.out} --rerun ${shellQuote(rerun)} && exec scorecrl report ${plan.out}`,
  rest: `resources:
  requests:
    cpu: "1"
    memory: ${y(plan.memory)}
  limits:
    memory: ${y(plan.memory)}
volumeMounts:
  - name: results
    mountPath: /results`,
})}`;
  return [
    { name: 'sweep.yaml', text: sweepYaml },
    { name: 'merge.yaml', text: mergeYaml },
  ];
}
