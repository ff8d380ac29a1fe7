// Types of the Emscripten ES module wasm/dist/scorecrl.mjs (MODULARIZE, EXPORT_ES6),
// as the browser worker imports it. Structural copies of OpOutputs / EngineInfo
// (src/backend/engine.ts): an ambient module cannot import relative paths.
declare module '*/wasm/dist/scorecrl.mjs' {
  export interface ScorecrlModule {
    call(
      op: string,
      arrays: object,
      numbers: object,
      strings: object,
      onProgress?: (fraction: number, message: string) => void,
      isCancelled?: () => boolean,
      allocate?: (length: number) => Float64Array,
    ):
      | {
          arrays: Record<string, { data: Float64Array; shape: number[] }>;
          numbers: Record<string, number>;
          strings: Record<string, string>;
        }
      | { error: string };
    info(): { version: string; simd: string; blas: boolean; threads: number; eigen: string };
    ops(): string[];
  }

  const createScorecrlModule: (options: { wasmBinary?: ArrayBuffer | Uint8Array }) => Promise<ScorecrlModule>;
  export default createScorecrlModule;
}
