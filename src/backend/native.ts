import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from './paths.js';
import { collectBuffers } from './recycler.js';
import {
  abortError,
  checkAsyncOptions,
  errorOf,
  ScorecrlError,
  type AsyncOptions,
  type Engine,
  type EngineInfo,
  type OpInputs,
  type OpOutputs,
} from './engine.js';

interface NativeAddon {
  call(op: string, arrays: object, numbers: object, strings: object): OpOutputs;
  callAsync(
    op: string,
    arrays: object,
    numbers: object,
    strings: object,
    onProgress?: (fraction: number, message: string) => void,
    cancelFlag?: Int32Array,
  ): Promise<OpOutputs>;
  info(): Omit<EngineInfo, 'name'>;
  ops(): string[];
  release(buffer: ArrayBuffer): number;
}

/** The addon's Error (its `code` set by the core) as scorecrl's. */
function wrapError(error: unknown, op: string): Error {
  const code = (error as { code?: unknown } | null)?.code;
  return errorOf(op, error instanceof Error ? error.message : String(error), typeof code === 'string' ? code : undefined);
}

export class NativeEngine implements Engine {
  readonly name = 'native' as const;
  constructor(private readonly addon: NativeAddon) {}

  call(op: string, inputs: OpInputs): OpOutputs {
    try {
      return this.addon.call(op, inputs.arrays ?? {}, inputs.numbers ?? {}, inputs.strings ?? {});
    } catch (error) {
      throw wrapError(error, op);
    }
  }

  async callAsync(op: string, inputs: OpInputs, options: AsyncOptions = {}): Promise<OpOutputs> {
    const { signal, onProgress } = checkAsyncOptions(op, options);
    if (signal?.aborted) throw abortError(op);
    // Polled by the core on its thread; made here and never exposed, so it
    // cannot be detached while the call runs.
    const flag = new Int32Array(1);
    const abort = () => {
      flag[0] = 1;
    };
    // An onProgress that throws stops the call, which rejects with what it threw.
    let thrown: { error: unknown } | undefined;
    const progress =
      onProgress &&
      ((fraction: number, message: string) => {
        if (thrown) return;
        try {
          onProgress(fraction, message);
        } catch (error) {
          thrown = { error };
          flag[0] = 1;
        }
      });
    signal?.addEventListener('abort', abort, { once: true });
    try {
      const result = await this.addon.callAsync(op, inputs.arrays ?? {}, inputs.numbers ?? {}, inputs.strings ?? {}, progress, flag);
      if (thrown) throw thrown.error;
      return result;
    } catch (error) {
      if (thrown) throw thrown.error;
      throw wrapError(error, op);
    } finally {
      signal?.removeEventListener('abort', abort);
    }
  }

  info(): EngineInfo {
    return { name: 'native', ...this.addon.info() };
  }

  ops(): string[] {
    return this.addon.ops();
  }

  release(values: unknown[]): number {
    let bytes = 0;
    for (const buffer of collectBuffers(values)) bytes += this.addon.release(buffer);
    return bytes;
  }

  releaseMemory(): number {
    return this.call('releaseBuffers', {}).numbers.bytes!;
  }

  async close(): Promise<void> {}
}

/** Paths node-gyp-build looks in, for error messages. */
export function nativeSearchPaths(root: string = packageRoot): string[] {
  return [
    join(root, 'build', 'Release', 'scorecrl.node'),
    join(root, 'build', 'Debug', 'scorecrl.node'),
    join(root, 'prebuilds', `${process.platform}-${process.arch}`),
  ];
}

/**
 * Loads the addon from `root` (a matching prebuild, else the local build);
 * throws with the platform and the paths tried.
 */
export function loadNativeEngine(root: string = packageRoot): NativeEngine {
  const require = createRequire(import.meta.url);
  try {
    const load = require('node-gyp-build') as (dir: string) => NativeAddon;
    return new NativeEngine(load(root));
  } catch (error) {
    const tried = nativeSearchPaths(root)
      .map((p) => `  ${p}${existsSync(p) ? '' : ' (missing)'}`)
      .join('\n');
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new ScorecrlError(
      `the native scorecrl addon could not be loaded on ${process.platform}-${process.arch} ` +
        `(Node ${process.versions.node}, N-API ${process.versions.napi}): ${reason}\n` +
        `Paths tried:\n${tried}\n` +
        `Build it with \`npm rebuild scorecrl\` in the project that installed it (\`npm run build:native\` in a ` +
        `scorecrl checkout; either needs a C++17 compiler, make and Python), ` +
        `or use the WebAssembly backend: SCORECRL_BACKEND=wasm or loadBackend({ backend: 'wasm' }).`,
      undefined,
      'unsupported',
    );
  }
}
