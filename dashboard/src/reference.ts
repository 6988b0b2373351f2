/**
 * The API reference at /docs: Scalar's reference UI (its standalone bundle, /docs/scalar.js, copied
 * from the @scalar/api-reference package by scripts/build-assets.mjs) over this Worker's own
 * /openapi.json. Configured so that nothing leaves the Worker: no web fonts, no telemetry, no
 * request proxy, no "open in client", no developer toolbar (whose share button uploads documents);
 * the page's Content-Security-Policy forbids every other origin in any case.
 */
import type { createApiReference } from '@scalar/api-reference';

declare global {
  interface Window {
    Scalar: { createApiReference: typeof createApiReference };
  }
}

/** What createApiReference accepts: the reference's options and its document's source. */
type Configuration = Parameters<typeof createApiReference>[1];

const configuration: Configuration = {
  url: '/openapi.json',
  title: 'cloud · API reference',
  withDefaultFonts: false,
  telemetry: false,
  hideClientButton: true,
  hideTestRequestButton: true,
  showDeveloperTools: 'never',
  documentDownloadType: 'json',
  theme: 'default',
  darkMode: true,
  hideDarkModeToggle: true,
  // Same-origin calls only: an empty proxy URL turns off Scalar's hosted request proxy.
  proxyUrl: '',
  // Scalar's "Ask AI" agent, on by default when the page is served from localhost, searches an
  // API registry of Scalar's through its hosted proxy.
  agent: { disabled: true },
};

window.Scalar.createApiReference('#reference', configuration);
