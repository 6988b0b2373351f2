// Where the runner builds live by default: wasm-runner/build/runner (CMake, not committed) and
// wasm-runner/dist/runner.wasm (committed), relative to the repository root.
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

export const DEFAULT_BINARY_PATH = `${repoRoot}wasm-runner/build/runner`;
export const DEFAULT_WASM_PATH = `${repoRoot}wasm-runner/dist/runner.wasm`;
