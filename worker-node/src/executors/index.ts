// The executors' public surface for the rest of the worker node.
export { createExecutors, type Executors, type ExecutorsOptions } from './select';
export { NativeExecutor } from './native';
export { WasmExecutor } from './wasm';
export { DEFAULT_BINARY_PATH, DEFAULT_WASM_PATH } from './paths';
export * from './types';
