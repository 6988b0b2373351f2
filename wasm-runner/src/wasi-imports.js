// Emscripten library stub for build-wasm.sh: emcc 3.1.6 rejects imports its JS library does not
// know, and it does not know WASI's poll_oneoff (used by the sleep job). Declaring it here makes
// emcc accept the import; in a STANDALONE_WASM build no JS is emitted and the WASI host
// (node:wasi) supplies the real function.
mergeInto(LibraryManager.library, {
  poll_oneoff: function () {
    throw new Error('poll_oneoff must come from the WASI host');
  },
});
