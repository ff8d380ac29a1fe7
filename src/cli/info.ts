import type { Command } from 'commander';
import { loadBackend, nativeLoadError } from '../backend/load.js';
import type { BackendName } from '../backend/engine.js';

export function backendOption(program: Command): BackendName | 'auto' | undefined {
  return program.opts().backend as BackendName | 'auto' | undefined;
}

export function registerInfo(program: Command): void {
  program
    .command('info')
    .description('print the backend in use and run a small end-to-end check of the core')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const crl = await loadBackend({ backend: backendOption(program) });
      const info = crl.info();
      // A tiny end-to-end call: NumPy-compatible normals -> covariance -> eigenvalues.
      const n = 1000;
      const d = 3;
      const [normals] = crl.randomDraws(0, [{ kind: 'standardNormal', count: n * d }]);
      const started = performance.now();
      const cov = crl.covariance({ data: normals!, shape: [n, d] });
      const { values } = crl.symmetricEigen(cov);
      const elapsedMs = performance.now() - started;
      const check = {
        input: `${n}x${d} standard normals from default_rng(0)`,
        covarianceDiagonal: [0, 1, 2].map((i) => cov.data[i * d + i]!),
        eigenvalues: Array.from(values),
        elapsedMs,
      };
      if (options.json) {
        const nativeError = nativeLoadError()?.message;
        console.log(JSON.stringify({ backend: info, ...(nativeError ? { nativeError } : {}), ops: crl.engine.ops(), check }, null, 2));
        return;
      }
      console.log(`scorecrl ${info.version}`);
      console.log(
        `backend   ${info.name} (simd ${info.simd}, blas ${info.blas ? 'yes' : 'no'}, threads ${info.threads}, Eigen ${info.eigen})`,
      );
      const nativeError = nativeLoadError();
      if (nativeError) console.log(`native    not loaded: ${nativeError.message.split('\n').join('\n          ')}`);
      console.log(`ops       ${crl.engine.ops().join(', ')}`);
      console.log(`check     covariance of ${check.input}`);
      console.log(`          diagonal   ${check.covarianceDiagonal.map((v) => v.toFixed(4)).join('  ')}`);
      console.log(`          eigenvalues ${check.eigenvalues.map((v) => v.toFixed(4)).join('  ')}  (${elapsedMs.toFixed(2)} ms)`);
    });
}
