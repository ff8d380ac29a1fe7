// Types of the Emscripten ES module wasm/dist/scorecrl.mjs (MODULARIZE, EXPORT_ES6),
// as the browser worker imports it: the module interface of src/backend/wasm-core.ts.
declare module '*/wasm/dist/scorecrl.mjs' {
  export type ScorecrlModule = import('../backend/wasm-core.js').WasmModule;

  /** Options: wasmBinary, instantiateWasm, ... (Emscripten's Module object, filled in by the factory). */
  const createScorecrlModule: (options: object) => Promise<ScorecrlModule>;
  export default createScorecrlModule;
}
